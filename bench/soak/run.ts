/**
 * Soak benchmark (`npm run bench:soak`): an agent with every plugin (the demo's configuration, in
 * its own process) under a moderate steady load for a configurable time, with a burst of 5,000
 * connections (Redfish HTTPS and control socket) after the first 40 %. Prints one JSON summary:
 * start-up (spawn until every plugin is running, RSS then), the agent's RSS over time next to a
 * bare Node process's sampled at the same moments, the settled RSS before the burst, its peak and
 * where it comes back to, and the load's successes and failures. Partial results are written to
 * bench/results/soak-partial.json after every sample, so a crash keeps what was measured.
 *
 * Usage: tsx bench/soak/run.ts [--minutes 5] [--sample 10] [--burst 5000] [--node-flags "..."]
 * (--node-flags=...: Node options for the agent and the bare process instead of what vpmd's
 * interpreter line sets, flags and environment: `--node-flags=` measures plain `node`)
 * (`--minutes 60` for the full soak; needs `npm run build`). Run it under
 * `flock /tmp/vpmd-bench.lock` so that no other benchmark shares the machine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareDemo, rssMiB, startAgent, stop, VPMD_PROGRAM, vpmdInvocation } from './agent.js';
import { connectionBurst, startSteadyLoad, type Tally } from './load.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    sample: { type: 'string', default: '10' },
    burst: { type: 'string', default: '5000' },
    'node-flags': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const sampleS = Number(values.sample);
const burstN = Number(values.burst);
// By default what vpmd's interpreter line sets (`#!/usr/bin/env -S [NAME=VALUE...] node FLAGS`):
// what a user running `vpmd` gets. The bare Node process gets the same.
const { env: nodeEnv, flags: nodeFlags } = vpmdInvocation(values['node-flags']);
if (!(minutes > 0) || !(sampleS > 0) || !Number.isInteger(burstN) || burstN < 0) {
  process.stderr.write('bench:soak: --minutes and --sample must be > 0, --burst an integer >= 0\n');
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

interface Sample {
  /** Seconds since the agent was spawned. */
  t: number;
  phase: 'start' | 'load' | 'burst' | 'after-burst';
  agentMiB: number;
  bareNodeMiB: number;
}

const PARTIAL = join(fileURLToPath(new URL('../results/', import.meta.url)), 'soak-partial.json');
const summary: Record<string, unknown> = {
  bench: 'soak',
  goal: 'RSS < 100 MB at start with every plugin, every plugin running within 1 s, back within 10 % of the settled RSS after a burst of 5,000 connections, no growth under load',
  settings: { minutes, sampleSeconds: sampleS, burstConnections: burstN, burstConcurrency: 32, nodeFlags, nodeEnv },
  loadAverageAtStart: loadavg().map(r1),
};
const samples: Sample[] = [];
const save = async (): Promise<void> => {
  await mkdir(dirname(PARTIAL), { recursive: true });
  await writeFile(PARTIAL, `${JSON.stringify({ ...summary, samples }, null, 2)}\n`);
};

const dir = await mkdtemp(join(tmpdir(), 'vpmd-soak-'));
// A bare Node process, sampled alongside: what the runtime alone takes on this machine now.
const bare = spawn(process.execPath, [...nodeFlags, '-e', 'setInterval(() => {}, 1000)'], {
  stdio: 'ignore',
  env: { ...process.env, ...nodeEnv },
});
let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
let exitCode = 0;
try {
  log(`preparing the demo host and configuration in ${dir}`);
  const creds = await prepareDemo(dir);
  log('starting the agent with every plugin');
  agent = await startAgent(creds, nodeFlags, nodeEnv);
  const pid = agent.child.pid;
  const t0 = performance.now();
  const sample = async (phase: Sample['phase']): Promise<Sample> => {
    const s = {
      t: Math.round((performance.now() - t0) / 1000 + agent!.allRunningMs / 1000),
      phase,
      agentMiB: await rssMiB(pid),
      bareNodeMiB: await rssMiB(bare.pid),
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

  const totalMs = minutes * 60_000;
  const loadFor = async (ms: number, phase: Sample['phase']): Promise<Record<string, Tally>> => {
    const load = startSteadyLoad(creds);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await sleep(Math.min(sampleS * 1000, Math.max(0, end - performance.now())));
      const s = await sample(phase);
      log(`${s.t} s ${phase}: agent ${s.agentMiB} MiB, bare node ${s.bareNodeMiB} MiB`);
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
  Object.assign(summary, {
    bareNodeMiB: { median: median(samples.map((s) => s.bareNodeMiB)) },
    settledBeforeBurstMiB: settled,
    burst: { ...burst, rssAtEndMiB: atBurstEnd.agentMiB },
    finalMiB,
    maxMiB: Math.max(...loadSamples.map((s) => s.agentMiB)),
    afterBurstOverSettled: r1((finalMiB / settled) * 100) / 100,
    growthMiBPerHour: r1(((finalMiB - settled) / (totalMs * 0.6)) * 3_600_000),
    steadyLoad: tallies,
    loadAverageAtEnd: loadavg().map(r1),
  });
} catch (e) {
  summary.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (agent !== undefined) summary.agentStderrTail = agent.stderrTail();
  exitCode = 1;
} finally {
  if (agent !== undefined) await stop(agent.child);
  await stop(bare);
  await rm(dir, { recursive: true, force: true });
}
await save();
process.stdout.write(`${JSON.stringify({ ...summary, samples }, null, 2)}\n`);
process.exit(exitCode);
