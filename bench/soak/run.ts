/**
 * Soak benchmark (`npm run bench:soak`): an agent with every plugin (the demo's configuration, in
 * its own process) under a moderate steady load for a configurable time, with a burst of 5,000
 * connections (Redfish HTTPS and control socket) after the first 40 %. Prints one JSON summary:
 * start-up (spawn until every plugin is running, RSS then), the agent's RSS over time next to a
 * bare Node process's sampled at the same moments, the settled RSS before the burst, its peak and
 * where it comes back to, and the load's successes and failures. Partial results are written to
 * bench/results/soak-partial.json after every sample, so a crash keeps what was measured.
 *
 * Next to RSS, both processes carry a memory probe (probe.ts: `--expose-gc` and a preloaded
 * socket answering `process.memoryUsage()`), so the report says which part grows: V8 heap used
 * and total, external and array buffers, read after a forced full GC every `--gc-every` samples.
 * Growth is a least-squares slope (trend.ts) over the steady load after a warm-up, with the burst
 * and a settling time after it left out, with its uncertainty; `verdict` applies the pass rule
 * (docs/running-for-real.md#memory-and-start-up). From the end of the warm-up V8's sampling heap
 * profiler runs in the agent; at the end, the sampled allocations still alive are listed by call
 * site (`liveAllocations`; the whole profile in bench/results/soak-allocations.heapprofile):
 * where any heap growth was allocated. `--heap-snapshots` also writes
 * snapshots at the end of the warm-up and at the end (bench/results/soak-*.heapsnapshot) and
 * compares them by object kind; writing one leaves the agent's RSS ~100 MiB higher (glibc keeps
 * the snapshot generator's memory), so the RSS part of the verdict is then not judged.
 *
 * The agent starts on a state directory prefilled as a long-running agent leaves it (prefill.ts:
 * the audit ring, the Redfish log marks and hardware log full from the first log read), so the
 * window judges it at steady state; `boundedStores` says what each held when the window opened
 * and at the end, and how long each would take to fill from empty at the measured rate.
 * `--cold-stores` starts from the demo's state as it is instead.
 *
 * Usage: tsx bench/soak/run.ts [--minutes 5] [--sample 10] [--burst 5000] [--node-flags "..."]
 *   [--warmup MIN] [--settle MIN] [--gc-every 6] [--heap-snapshots] [--cold-stores]
 * (--node-flags=...: Node options for the agent and the bare process instead of what vpmd's
 * interpreter line sets, flags and environment: `--node-flags=` measures plain `node`)
 * (`--minutes 60` for the full soak; needs `npm run build`). Run it under
 * `flock /tmp/vpmd-bench.lock` so that no other benchmark shares the machine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareDemo, rssPartsMiB, startAgent, stop, VPMD_PROGRAM, vpmdInvocation } from './agent.js';
import { heapDiff, liveAllocationSites } from './heap-diff.js';
import { fillReport, prefillState, storeFill } from './prefill.js';
import { connectionBurst, startSteadyLoad, type Tally } from './load.js';
import { installProbe, probeMemory, probeSamplingProfile, probeSamplingStart, probeSnapshot } from './probe.js';
import { growthTrends, judgeGrowth, PASS_RULE, type MemoryParts, type MemorySample } from './trend.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    sample: { type: 'string', default: '10' },
    burst: { type: 'string', default: '5000' },
    'node-flags': { type: 'string' },
    warmup: { type: 'string' },
    settle: { type: 'string' },
    'gc-every': { type: 'string', default: '6' },
    'heap-snapshots': { type: 'boolean', default: false },
    'cold-stores': { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const sampleS = Number(values.sample);
const burstN = Number(values.burst);
// Defaults: 10 min of warm-up and 5 min of settling after the burst in the hour, less in a short run.
const warmupS = 60 * Number(values.warmup ?? Math.min(10, minutes * 0.2));
const settleS = 60 * Number(values.settle ?? Math.min(5, minutes * 0.1));
const gcEvery = Number(values['gc-every']);
const heapSnapshots = values['heap-snapshots'];
const coldStores = values['cold-stores'];
// By default what vpmd's interpreter line sets (`#!/usr/bin/env -S [NAME=VALUE...] node FLAGS`):
// what a user running `vpmd` gets. The bare Node process gets the same.
const { env: nodeEnv, flags: nodeFlags } = vpmdInvocation(values['node-flags']);
if (
  !(minutes > 0) ||
  !(sampleS > 0) ||
  !Number.isInteger(burstN) ||
  burstN < 0 ||
  !(warmupS >= 0) ||
  !(settleS >= 0) ||
  !Number.isInteger(gcEvery) ||
  gcEvery < 0
) {
  process.stderr.write(
    'bench:soak: --minutes and --sample must be > 0, --burst and --gc-every integers >= 0, --warmup and --settle >= 0\n',
  );
  process.exit(2);
}
if (!existsSync(VPMD_PROGRAM)) {
  process.stderr.write(`bench:soak: ${VPMD_PROGRAM} is missing; run npm run build first\n`);
  process.exit(2);
}

const log = (msg: string): void => void process.stderr.write(`bench:soak ${msg}\n`);
const r1 = (x: number): number => Math.round(x * 10) / 10;
const median = (xs: readonly number[]): number => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One sample (`t`: seconds since the agent was spawned; RSS read before any forced GC). */
interface Sample extends MemorySample {
  phase: 'start' | 'load' | 'burst' | 'after-burst';
  agentMiB: number;
  bareNodeMiB: number;
}

/** V8's default is 32 KiB; 16 KiB samples the agent's small long-lived objects more finely. */
const SAMPLING_INTERVAL_BYTES = 16_384;
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const PARTIAL = join(RESULTS, 'soak-partial.json');
const SNAPSHOTS = { start: join(RESULTS, 'soak-start.heapsnapshot'), end: join(RESULTS, 'soak-end.heapsnapshot') };
const summary: Record<string, unknown> = {
  bench: 'soak',
  goal: `RSS < 100 MB at start with every plugin, every plugin running within 1 s, back within 10 % of the settled RSS after a burst of 5,000 connections, no growth under load: ${PASS_RULE}`,
  settings: {
    minutes,
    sampleSeconds: sampleS,
    burstConnections: burstN,
    burstConcurrency: 32,
    nodeFlags,
    nodeEnv,
    warmupMinutes: r1(warmupS / 60),
    settleMinutes: r1(settleS / 60),
    forcedGcEverySamples: gcEvery,
    heapSnapshots,
    boundedStoresPrefilled: !coldStores,
  },
  loadAverageAtStart: loadavg().map(r1),
};
const samples: Sample[] = [];
const save = async (): Promise<void> => {
  await mkdir(RESULTS, { recursive: true });
  await writeFile(PARTIAL, `${JSON.stringify({ ...summary, samples }, null, 2)}\n`);
};

const dir = await mkdtemp(join(tmpdir(), 'vpmd-soak-'));
const probeDir = await mkdtemp(join(tmpdir(), 'vpmd-soak-probe-'));
const probeFlags = await installProbe(probeDir);
const probes = { agent: join(probeDir, 'agent.sock'), bare: join(probeDir, 'bare.sock') };
// A bare Node process, sampled alongside: what the runtime alone takes on this machine now.
const bare = spawn(process.execPath, [...nodeFlags, ...probeFlags, '-e', 'setInterval(() => {}, 1000)'], {
  stdio: 'ignore',
  env: { ...process.env, ...nodeEnv, VPMD_SOAK_PROBE: probes.bare },
});
const MiB = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
/** The probe's figures (heap parts; NaN where the probe did not answer). */
const heapPartsOf = async (
  probe: string,
  gc: boolean,
): Promise<Omit<MemoryParts, 'rssMiB' | 'rssAnonMiB' | 'rssFileMiB'>> => {
  const m = await probeMemory(probe, gc).catch((e: unknown) => {
    log(`probe ${probe}: ${e instanceof Error ? e.message : String(e)}`);
    return { heapUsed: NaN, heapTotal: NaN, external: NaN, arrayBuffers: NaN, code: NaN };
  });
  return {
    heapUsedMiB: MiB(m.heapUsed),
    heapTotalMiB: MiB(m.heapTotal),
    heapCodeMiB: MiB(m.code),
    externalMiB: MiB(m.external),
    arrayBuffersMiB: MiB(m.arrayBuffers),
  };
};
let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
let exitCode = 0;
try {
  log(`preparing the demo host and configuration in ${dir}`);
  const creds = await prepareDemo(dir);
  if (!coldStores) {
    const p = await prefillState(dir);
    log(`prefilled the state: ${p.auditEntries} audit entries, ${p.marksPerLog} Redfish log marks (prefill.ts)`);
  }
  log('starting the agent with every plugin');
  agent = await startAgent(creds, [...nodeFlags, ...probeFlags], { ...nodeEnv, VPMD_SOAK_PROBE: probes.agent });
  const pid = agent.child.pid;
  const t0 = performance.now();
  let sampleNo = 0;
  const sample = async (phase: Sample['phase']): Promise<Sample> => {
    const t = Math.round((performance.now() - t0) / 1000 + agent!.allRunningMs / 1000);
    const afterGc = phase !== 'start' && gcEvery > 0 && ++sampleNo % gcEvery === 0;
    // Both RSS readings before either GC, so that one process's collection does not shift the other's.
    const [agentRss, bareRss] = [await rssPartsMiB(pid), await rssPartsMiB(bare.pid)];
    const [a, b] = [await heapPartsOf(probes.agent, afterGc), await heapPartsOf(probes.bare, afterGc)];
    const s: Sample = {
      t,
      phase,
      agentMiB: agentRss.rss,
      bareNodeMiB: bareRss.rss,
      afterGc,
      agent: { ...a, rssMiB: agentRss.rss, rssAnonMiB: agentRss.anon, rssFileMiB: agentRss.file },
      bareNode: { ...b, rssMiB: bareRss.rss, rssAnonMiB: bareRss.anon, rssFileMiB: bareRss.file },
    };
    samples.push(s);
    await save();
    return s;
  };
  const atRunning = await sample('start');
  summary.startup = { allRunningMs: agent.allRunningMs, plugins: agent.plugins, rssMiB: atRunning.agentMiB };
  // Start-up settles (first polls, TLS contexts) before the load begins.
  await sleep(10_000);
  summary.startup = { ...(summary.startup as object), rssAfter10sMiB: (await sample('start')).agentMiB };

  const snapshot = async (which: keyof typeof SNAPSHOTS): Promise<void> => {
    if (!heapSnapshots) return;
    const t = performance.now();
    await probeSnapshot(probes.agent, SNAPSHOTS[which]);
    log(`heap snapshot (${which}) in ${Math.round(performance.now() - t)} ms: ${SNAPSHOTS[which]}`);
  };
  // Sampling (and the start snapshot) from a minute before the fitted window opens.
  let profiling = false;
  let fillAtWindowStart: { t: number; fill: Awaited<ReturnType<typeof storeFill>> } | undefined;
  const totalMs = minutes * 60_000;
  const loadFor = async (ms: number, phase: Sample['phase']): Promise<Record<string, Tally>> => {
    const load = startSteadyLoad(creds);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await sleep(Math.min(sampleS * 1000, Math.max(0, end - performance.now())));
      const s = await sample(phase);
      log(
        `${s.t} s ${phase}: agent ${s.agentMiB} MiB (heap ${s.agent.heapUsedMiB}/${s.agent.heapTotalMiB}, code ${s.agent.heapCodeMiB}, ` +
          `external ${s.agent.externalMiB}${s.afterGc ? ', after GC' : ''}), bare node ${s.bareNodeMiB} MiB`,
      );
      if (fillAtWindowStart === undefined && s.t >= warmupS) {
        fillAtWindowStart = { t: s.t, fill: await storeFill(creds) };
        log(`bounded stores at the window's start: ${JSON.stringify(fillAtWindowStart.fill.stores)}`);
      }
      if (!profiling && s.t >= warmupS - 60) {
        profiling = true;
        await probeSamplingStart(probes.agent, SAMPLING_INTERVAL_BYTES);
        await snapshot('start');
      }
    }
    return load.stop();
  };

  log(`steady load for ${r1((totalMs * 0.4) / 60_000)} min`);
  const before = await loadFor(totalMs * 0.4, 'load');
  const settled = median(
    samples
      .filter((s) => s.phase === 'load')
      .map((s) => s.agentMiB)
      .slice(-3),
  );

  log(`burst of ${burstN} connections`);
  const burst = await connectionBurst(creds, burstN, 32);
  const atBurstEnd = await sample('burst');

  log(`steady load for ${r1((totalMs * 0.6) / 60_000)} min after the burst`);
  const after = await loadFor(totalMs * 0.6, 'after-burst');
  if (profiling) {
    // The snapshot first: reading the profile makes V8 compute the line table of every script in
    // it (hundreds of KiB of "(script line ends)"), which the end snapshot would count as growth.
    await snapshot('end');
    const profile = await probeSamplingProfile(probes.agent);
    // The whole profile too: Chrome DevTools' Memory tab loads a .heapprofile.
    await writeFile(join(RESULTS, 'soak-allocations.heapprofile'), JSON.stringify(profile));
    summary.liveAllocations = liveAllocationSites(profile);
  }
  const fillAtEnd = { t: samples.at(-1)?.t ?? 0, fill: await storeFill(creds) };
  summary.boundedStores = {
    atWindowStart: fillAtWindowStart?.fill.stores,
    atEnd: fillAtEnd.fill.stores,
    ...(fillAtWindowStart === undefined ? {} : fillReport(fillAtWindowStart, fillAtEnd)),
  };
  const finalMiB = median(
    samples
      .filter((s) => s.phase === 'after-burst')
      .map((s) => s.agentMiB)
      .slice(-3),
  );
  const loadSamples = samples.filter((s) => s.phase !== 'start');
  const tallies = Object.fromEntries(
    Object.keys(before).map((k) => [
      k,
      { ok: (before[k]?.ok ?? 0) + (after[k]?.ok ?? 0), failed: (before[k]?.failed ?? 0) + (after[k]?.failed ?? 0) },
    ]),
  );
  // The fitted windows: steady load after the warm-up, and after the burst once it has settled.
  const windows = [
    loadSamples.filter((s) => s.phase === 'load' && s.t >= warmupS),
    loadSamples.filter((s) => s.phase === 'after-burst' && s.t >= atBurstEnd.t + settleS),
  ];
  const growth = growthTrends(windows);
  const verdict = judgeGrowth(growth);
  Object.assign(summary, {
    bareNodeMiB: { median: median(samples.map((s) => s.bareNodeMiB)) },
    settledBeforeBurstMiB: settled,
    burst: { ...burst, rssAtEndMiB: atBurstEnd.agentMiB },
    finalMiB,
    maxMiB: Math.max(...loadSamples.map((s) => s.agentMiB)),
    afterBurstOverSettled: r1((finalMiB / settled) * 100) / 100,
    growthMiBPerHour: r1(((finalMiB - settled) / (totalMs * 0.6)) * 3_600_000),
    growth: {
      windowsSeconds: windows.map((w) => [w[0]?.t, w.at(-1)?.t]),
      ...growth,
    },
    verdict: heapSnapshots ? { ...verdict, rss: 'not judged (heap snapshots)', pass: verdict.heap } : verdict,
    steadyLoad: tallies,
    loadAverageAtEnd: loadavg().map(r1),
  });
  if (heapSnapshots && profiling) summary.heapGrowth = await heapDiff(SNAPSHOTS.start, SNAPSHOTS.end);
} catch (e) {
  summary.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (agent !== undefined) summary.agentStderrTail = agent.stderrTail();
  exitCode = 1;
} finally {
  if (agent !== undefined) await stop(agent.child);
  await stop(bare);
  await rm(dir, { recursive: true, force: true });
  await rm(probeDir, { recursive: true, force: true });
}
await save();
process.stdout.write(`${JSON.stringify({ ...summary, samples }, null, 2)}\n`);
process.exit(exitCode);
