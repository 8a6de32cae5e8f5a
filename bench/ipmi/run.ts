/**
 * IPMI benchmark (`npm run bench:ipmi`): a warm full sensor sweep of 100 and 1,000 ipmi_sim BMCs
 * by vpmd's poller against FreeIPMI `ipmi-sensors --fanout` on the same BMCs in the same run,
 * ipmitool for scale, sessions left open after 10 sweeps, CPU and memory, and the first sweep of
 * a restarted agent (SDR caches from its state). Prints one JSON summary with ratios.
 *
 * FreeIPMI's warm runs and vpmd's warm sweeps alternate, so a change in machine load during the
 * run hits both sides alike; both sides report medians. A baseline run that failed makes the
 * ratios invalid (withheld, with the reason). The summary's `settings` lists every setting changed
 * from the defaults. Results are also written after each size to bench/results/ipmi-partial.json.
 *
 * Environment: IPMI_BENCH_SIZES=100,1000 (default); IPMI_BENCH_CONCURRENCY and
 * IPMI_BENCH_MAX_IN_FLIGHT set vpmd's `concurrency` and `maxInFlight` (default 1024 each, like
 * FreeIPMI's fanout); IPMI_BENCH_ONLY=vpmd skips the baselines (no ratios);
 * IPMI_BENCH_PROFILE=<file.cpuprofile> writes CPU profiles of vpmd's cold sweep and of its warm
 * sweeps (the agent runs in this process).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipmi from '../../plugins/ipmi/index.js';
import {
  bootAgent,
  startIpmiSim,
  type BootedAgent,
  type IpmiSimPeer,
  type IpmiSimTarget,
} from '../../testkit/index.js';
import { benchIpmiSection } from './bench-section.js';
import { FreeIpmiFanout, countSessions, ipmitoolSample, type ChildCost } from './baselines.js';
import {
  coldBounds,
  idleRoundTripMs,
  mainThreadCpuMs,
  processesCpuMs,
  threadsCpuDelta,
  threadsCpuMs,
  type ColdCost,
} from './cold-bounds.js';
import { isFullSample, maybeHeapSnapshot, sampleMemory, summarizeMemory, type MemorySample } from './memory.js';

/** Parallelism for both: FreeIPMI's largest --fanout, and vpmd's concurrency and in-flight bound. */
const FANOUT = 1024;
/**
 * vpmd's polls in parallel and requests in flight: FANOUT unless IPMI_BENCH_CONCURRENCY /
 * IPMI_BENCH_MAX_IN_FLIGHT say otherwise (vpmd's defaults are 64 and 256).
 */
const CONCURRENCY = Number(process.env.IPMI_BENCH_CONCURRENCY ?? FANOUT) || FANOUT;
const MAX_IN_FLIGHT = Number(process.env.IPMI_BENCH_MAX_IN_FLIGHT ?? FANOUT) || FANOUT;
/** Warm sweeps after the cold one: at least 10 (FreeIPMI's runs pair with them), default 30. */
const WARM_SWEEPS = Math.max(10, Number(process.env.IPMI_BENCH_WARM_SWEEPS ?? 30) || 30);
/** FreeIPMI warm runs, one before every second vpmd warm sweep. */
const FREEIPMI_WARM_RUNS = 5;
const PROFILE = process.env.IPMI_BENCH_PROFILE;
const ONLY_VPMD = process.env.IPMI_BENCH_ONLY === 'vpmd';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const log = (msg: string): void => void process.stderr.write(`bench:ipmi ${msg}\n`);
const load = (): number[] => loadavg().map(r1);

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session | undefined, n: number, what: string): Promise<void> {
  if (session === undefined || PROFILE === undefined) return;
  const { profile } = await session.post('Profiler.stop');
  const file = `${PROFILE.replace(/\.cpuprofile$/, '')}-${n}-${what}.cpuprofile`;
  await writeFile(file, JSON.stringify(profile));
  session.disconnect();
  log(`CPU profile of the ${what} sweep(s): ${file}`);
}

interface Sweep {
  targets: number;
  successes: number;
  failures: number;
  durationMs: number;
  /** Each BMC's poll time in the sweep: median, 99.9th percentile, maximum (ms). */
  pollMs: { median: number; p999: number; max: number };
}
interface Row {
  hasSession: boolean;
  session: { sent: number; retransmits: number; dropped: number; rounds: number } | null;
  sdr: { fullReads: number };
}
interface Timed {
  wallMs: number;
  cpuMs: number;
  sysMs: number;
  sweep: Sweep;
}

function bootVpmd(targets: readonly IpmiSimTarget[], stateDir: string): Promise<BootedAgent> {
  return bootAgent({
    plugins: [ipmi],
    startTimeout: 60,
    core: { state: { dir: stateDir } },
    sections: {
      ipmi: benchIpmiSection(targets, { concurrency: CONCURRENCY, maxInFlight: MAX_IN_FLIGHT }),
    },
  });
}

/** One `vpmctl ipmi poll` with its wall time and the agent process's CPU. */
async function sweep(booted: BootedAgent): Promise<Timed> {
  const c = process.cpuUsage();
  const t = performance.now();
  const result = await booted.json<Sweep>(['ipmi', 'poll']);
  const cpu = process.cpuUsage(c);
  return {
    wallMs: performance.now() - t,
    cpuMs: (cpu.user + cpu.system) / 1000,
    sysMs: cpu.system / 1000,
    sweep: result,
  };
}

const sentSoFar = async (booted: BootedAgent): Promise<number> =>
  (await booted.json<Row[]>(['ipmi', 'targets'])).reduce((a, r) => a + (r.session?.sent ?? 0), 0);

async function benchSize(n: number): Promise<Record<string, unknown>> {
  const loadAtStart = load();
  log(`starting ${n} ipmi_sim BMC(s)`);
  const sim: IpmiSimPeer = await startIpmiSim({ bmcs: n, sel: false, startTimeoutMs: 180_000 });
  const stateDir = await mkdtemp(join(tmpdir(), 'vpmd-bench-ipmi-state-'));
  const fi = ONLY_VPMD ? undefined : await FreeIpmiFanout.create(sim.targets, FANOUT);
  try {
    const sampleN = Math.min(n, 32);
    const it = ONLY_VPMD
      ? undefined
      : (log(`ipmitool sdr list on ${sampleN} BMC(s), 8 in parallel`),
        await ipmitoolSample(sim.targets.slice(0, sampleN), 8));
    const idleRttMs = await idleRoundTripMs(sim.targets[0]?.port ?? 0);
    if (fi !== undefined) log(`FreeIPMI ipmi-sensors --fanout=${FANOUT}: cold run`);
    const simCpuBeforeFi = await processesCpuMs(sim.pids);
    const fiCold = await fi?.run();
    const fiSimCpuMs = (await processesCpuMs(sim.pids)) - simCpuBeforeFi;

    log(
      `vpmd: cold sweep, then ${WARM_SWEEPS} warm sweeps${fi ? `, FreeIPMI's ${FREEIPMI_WARM_RUNS} warm runs in between` : ''}`,
    );
    const rssBefore = process.memoryUsage().rss;
    const booted = await bootVpmd(sim.targets, stateDir);
    let after: number[] = [];
    const vp: Record<string, unknown> = {};
    let coldCost: ColdCost | undefined;
    const fiWarm: ChildCost[] = [];
    const warm: Timed[] = [];
    try {
      let profiler = PROFILE === undefined ? undefined : await startProfiler();
      const simCpuBeforeCold = await processesCpuMs(sim.pids);
      const mainBeforeCold = await mainThreadCpuMs();
      const threadsBeforeCold = await threadsCpuMs();
      const cold = await sweep(booted);
      const coldMainCpuMs = (await mainThreadCpuMs()) - mainBeforeCold;
      const coldThreadsCpuMs = threadsCpuDelta(threadsBeforeCold, await threadsCpuMs());
      const coldSimCpuMs = (await processesCpuMs(sim.pids)) - simCpuBeforeCold;
      await stopProfiler(profiler, n, 'cold');
      const memory: MemorySample[] = [sampleMemory(0, false)];
      const coldRows = await booted.json<Row[]>(['ipmi', 'targets']);
      const coldRequests = coldRows.reduce((a, r) => a + (r.session?.sent ?? 0), 0);
      const coldRounds = coldRows.map((r) => r.session?.rounds ?? NaN);
      coldCost = {
        wallMs: cold.wallMs,
        clientCpuMs: cold.cpuMs,
        simCpuMs: coldSimCpuMs,
        roundTripsPerBmc: median(coldRounds),
        serialCpuMs: coldMainCpuMs,
      };
      // While FreeIPMI runs, the agent idles: its profile shows that as idle time.
      profiler = PROFILE === undefined ? undefined : await startProfiler();
      for (let i = 0; i < WARM_SWEEPS; i++) {
        if (fi !== undefined && i % 2 === 0 && fiWarm.length < FREEIPMI_WARM_RUNS) fiWarm.push(await fi.run());
        warm.push(await sweep(booted));
        memory.push(sampleMemory(i + 1, isFullSample(i + 1, WARM_SWEEPS)));
        maybeHeapSnapshot(n, i + 1, log);
        if ((i + 1) % 10 === 0) log(`sweep ${i + 1}: rss ${memory[i + 1]?.rssMB} MB, load ${load().join(' ')}`);
      }
      await stopProfiler(profiler, n, 'warm');
      const requestsPerWarmSweep = ((await sentSoFar(booted)) - coldRequests) / WARM_SWEEPS;
      // Per target: the whole list of 6,000 metrics exceeds the control channel's 1 MiB line.
      const metricsOf = async (name: string): Promise<number> =>
        (await booted.json<unknown[]>(['telemetry', 'list', '--target', name])).length;
      const metricsPerBmc = [
        await metricsOf(sim.targets[0]?.name ?? ''),
        await metricsOf(sim.targets[n - 1]?.name ?? ''),
      ];
      const rows = await booted.json<Row[]>(['ipmi', 'targets']);
      const mem = process.memoryUsage();
      // Sessions on the BMCs while the agent runs: each should hold exactly ours.
      const sample = n <= 100 ? sim.targets : sim.targets.filter((_, i) => i % 10 === 0);
      log(`counting sessions on ${sample.length} BMC(s) with ipmitool`);
      const during = await countSessions(sample, 8);
      await booted.stop();
      after = await countSessions(sample, 8);
      const cpuMedian = median(warm.map((w) => w.cpuMs));
      Object.assign(vp, {
        cold: {
          wallMs: r1(cold.wallMs),
          cpuMs: r1(cold.cpuMs),
          systemCpuMs: r1(cold.sysMs),
          cpuUsPerRequest: r1((cold.cpuMs * 1000) / coldRequests),
          pollMs: cold.sweep.pollMs,
          requestsPerBmc: r1(coldRequests / n),
          roundTripsPerBmc: { median: median(coldRounds), max: Math.max(...coldRounds) },
          simCpuMs: r1(coldSimCpuMs),
          mainThreadCpuMs: r1(coldMainCpuMs),
          /** By thread name: the event loop ("main"), V8's GC and compiler helpers, libuv's pool. */
          threadsCpuMs: coldThreadsCpuMs,
          successes: cold.sweep.successes,
          failures: cold.sweep.failures,
        },
        warm: {
          medianWallMs: r1(median(warm.map((w) => w.wallMs))),
          minWallMs: r1(Math.min(...warm.map((w) => w.wallMs))),
          maxWallMs: r1(Math.max(...warm.map((w) => w.wallMs))),
          medianCpuMs: r1(cpuMedian),
          medianSystemCpuMs: r1(median(warm.map((w) => w.sysMs))),
          // Per BMC poll, over the 10 sweeps: the median sweep's 99.9th percentile, and the maximum.
          pollMs: {
            medianP999: r1(median(warm.map((w) => w.sweep.pollMs.p999))),
            max: r1(Math.max(...warm.map((w) => w.sweep.pollMs.max))),
          },
          requestsPerSweep: r1(requestsPerWarmSweep),
          cpuUsPerRequest: r1((cpuMedian * 1000) / requestsPerWarmSweep),
          failures: warm.reduce((a, w) => a + w.sweep.failures, 0),
          sweeps: warm.length,
        },
        metricsOfFirstAndLastBmc: metricsPerBmc,
        memory: {
          rssMB: r1(mem.rss / 2 ** 20),
          rssGrowthMB: r1((mem.rss - rssBefore) / 2 ** 20),
          rssBeforeAgentMB: r1(rssBefore / 2 ** 20),
          heapUsedMB: r1(mem.heapUsed / 2 ** 20),
          ...summarizeMemory(memory),
          perSweep: memory,
        },
        sessions: {
          sampledBmcs: sample.length,
          heldByPoller: rows.filter((r) => r.hasSession).length,
          retransmitsInAllSweeps: rows.reduce((a, r) => a + (r.session?.retransmits ?? 0), 0),
          droppedDatagrams: rows.reduce((a, r) => a + (r.session?.dropped ?? 0), 0),
          leakedAfter10Sweeps: during.reduce((a, c) => a + Math.max(0, c - 1), 0),
          unreadableCounts: during.filter((c) => c < 0).length,
          openAfterStop: after.reduce((a, c) => a + Math.max(0, c), 0),
        },
      });
    } finally {
      await booted.stop();
    }

    log('vpmd: a restarted agent on the same state directory, its first sweep');
    const again = await bootVpmd(sim.targets, stateDir);
    try {
      const first = await sweep(again);
      const rows = await again.json<Row[]>(['ipmi', 'targets']);
      vp.restart = {
        firstSweepWallMs: r1(first.wallMs),
        cpuMs: r1(first.cpuMs),
        requestsPerBmc: r1((await sentSoFar(again)) / n),
        repositoriesReadAgain: rows.reduce((a, r) => a + r.sdr.fullReads, 0),
        successes: first.sweep.successes,
      };
    } finally {
      await again.stop();
    }

    const vpWarm = median(warm.map((w) => w.wallMs));
    const vpCpu = median(warm.map((w) => w.cpuMs));
    if (fi === undefined || fiCold === undefined || it === undefined || coldCost === undefined)
      return { bmcs: n, loadAverage: { start: loadAtStart, end: load() }, vpmd: vp };
    // A baseline that failed (an exit status, fewer readings than its cold run) measured less
    // work: its ratios would flatter vpmd. They are withheld, and the summary says why.
    const coldReadings = FreeIpmiFanout.readings(fiCold);
    const fiErrors = [fiCold, ...fiWarm].filter((r) => !r.ok || FreeIpmiFanout.readings(r) < coldReadings).length;
    const invalidBecause = [
      ...(fiErrors > 0 ? [`FreeIPMI: ${fiErrors} of ${fiWarm.length + 1} runs failed or read fewer sensors`] : []),
      ...(it.failures > 0 ? [`ipmitool: ${it.failures} of ${it.polls} polls failed`] : []),
    ];
    const fiWarmMs = median(fiWarm.map((w) => w.wallMs));
    const fiCpu = median(fiWarm.map((w) => w.cpuMs));
    // Each FreeIPMI run against the vpmd sweep right after it: the same moment's machine load.
    const paired = fiWarm.map((f, k) => f.wallMs / (warm[2 * k]?.wallMs ?? NaN));
    const itSweepEstimate = (it.wallMs / it.polls) * n;
    return {
      bmcs: n,
      loadAverage: { start: loadAtStart, end: load() },
      vpmd: vp,
      // Lower bounds of each side's cold wall time on this machine (see cold-bounds.ts).
      coldBounds: coldBounds(coldCost, { ...fiCold, simCpuMs: fiSimCpuMs }, idleRttMs),
      freeipmi: {
        fanout: FANOUT,
        cold: { wallMs: r1(fiCold.wallMs), cpuMs: r1(fiCold.cpuMs), maxRssMB: r1(fiCold.maxRssMB), ok: fiCold.ok },
        warm: {
          medianWallMs: r1(fiWarmMs),
          minWallMs: r1(Math.min(...fiWarm.map((w) => w.wallMs))),
          maxWallMs: r1(Math.max(...fiWarm.map((w) => w.wallMs))),
          medianCpuMs: r1(fiCpu),
          maxRssMB: r1(Math.max(...fiWarm.map((w) => w.maxRssMB))),
          runs: fiWarm.length,
          allOk: fiWarm.every((w) => w.ok),
        },
        readingsPerRun: FreeIpmiFanout.readings(fiWarm[0] ?? fiCold),
        errors: fiErrors,
      },
      ipmitool: {
        sampledPolls: it.polls,
        parallel: 8,
        perPollWallMs: r1(it.wallMs / it.polls),
        perPollCpuMs: r1(it.cpuMs / it.polls),
        failures: it.failures,
        estimatedSweepMs: r1(itSweepEstimate),
      },
      ratiosValid: invalidBecause.length === 0,
      ...(invalidBecause.length > 0 ? { ratiosInvalidBecause: invalidBecause } : {}),
      ratios:
        invalidBecause.length > 0
          ? null
          : {
              freeipmiWarmOverVpmdWarm: r1(fiWarmMs / vpWarm),
              pairedWarmRatios: paired.map(r1),
              pairedWarmMedian: r1(median(paired)),
              freeipmiCpuOverVpmdCpu: r1(fiCpu / vpCpu),
              freeipmiColdOverVpmdCold: r1(fiCold.wallMs / ((vp.cold as { wallMs: number }).wallMs || NaN)),
              freeipmiColdCpuOverVpmdColdCpu: r1(fiCold.cpuMs / ((vp.cold as { cpuMs: number }).cpuMs || NaN)),
              ipmitoolEstimateOverVpmdWarm: r1(itSweepEstimate / vpWarm),
            },
    };
  } finally {
    await fi?.close();
    await rm(stateDir, { recursive: true, force: true });
    await sim.stop();
  }
}

const sizes = (process.env.IPMI_BENCH_SIZES ?? '100,1000')
  .split(',')
  .map(Number)
  .filter((x) => Number.isInteger(x) && x > 0);

/** Every setting this benchmark changes from vpmd's, FreeIPMI's or ipmi_sim's defaults. */
const SETTINGS = {
  sizes,
  warmSweeps: WARM_SWEEPS,
  freeipmiWarmRuns: FREEIPMI_WARM_RUNS,
  onlyVpmd: ONLY_VPMD,
  /** The agent runs in this process, with these flags (not those of vpmd's interpreter line). */
  nodeFlags: process.execArgv.filter((a) => a.startsWith('--') && a !== '--require' && a !== '--import'),
  /** Setting: [value here, default]. */
  vpmd: {
    'ipmi.interval': [86400, 30, 'the benchmark triggers every sweep itself'],
    'ipmi.concurrency': [CONCURRENCY, 64],
    'ipmi.maxInFlight': [MAX_IN_FLIGHT, 256],
    'ipmi.sel': [false, true],
    'ipmi.chassis': [false, true],
    'ipmi.targets[].cipherSuite': [3, 'negotiated (17, then 3)'],
    'kernel.startTimeout': [60, 30],
  },
  freeipmi: { fanout: FANOUT, cipherSuiteId: 3, workaround: 'opensesspriv', sdrCache: 'private directory' },
  ipmiSim: { sel: false, startTimeoutMs: 180_000 },
  ipmitool: { sampledBmcs: 'min(n, 32)', parallel: 8 },
};

/** Written after every size, so that a crash later keeps what finished. */
const PARTIAL = join(fileURLToPath(new URL('../results/', import.meta.url)), 'ipmi-partial.json');
const summary = (runs: readonly Record<string, unknown>[], error?: string): string =>
  `${JSON.stringify(
    {
      bench: 'ipmi',
      sweep:
        'every sensor of every BMC (vpmd: open sessions, cached SDRs, sdrCheck 60 s; FreeIPMI: warm SDR cache, fresh logins); both told cipher suite 3',
      goal: 'warm sweep >= 3x faster than FreeIPMI warm fanout; 0 sessions leaked',
      settings: SETTINGS,
      runs,
      ...(error === undefined ? {} : { error }),
    },
    null,
    2,
  )}\n`;

const runs: Record<string, unknown>[] = [];
await mkdir(dirname(PARTIAL), { recursive: true });
try {
  for (const n of sizes) {
    runs.push(await benchSize(n));
    await writeFile(PARTIAL, summary(runs));
    log(`${n} BMC(s) done; results so far in ${PARTIAL}`);
  }
} catch (e) {
  // Print what finished before failing: a crash at 1,000 BMCs must not discard the 100-BMC run.
  const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  await writeFile(PARTIAL, summary(runs, error));
  process.stdout.write(summary(runs, error));
  process.exit(1);
}
process.stdout.write(summary(runs));
