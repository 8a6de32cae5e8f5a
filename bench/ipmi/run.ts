/**
 * IPMI benchmark (`npm run bench:ipmi`): a warm full sensor sweep of 100 and 1,000 ipmi_sim BMCs
 * by vpmd's poller against FreeIPMI `ipmi-sensors --fanout` on the same BMCs in the same run,
 * ipmitool for scale, sessions left open after 10 sweeps, CPU and memory. Prints one JSON
 * summary with ratios. Sizes: IPMI_BENCH_SIZES=100,1000 (default). IPMI_BENCH_ONLY=vpmd skips the
 * baselines (no ratios); IPMI_BENCH_PROFILE=<file.cpuprofile> writes a CPU profile of vpmd's
 * warm sweeps only (the agent runs in this process).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import ipmi from '../../plugins/ipmi/index.js';
import { bootAgent, startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from '../../core/testkit/index.js';
import { countSessions, freeIpmiFanout, ipmitoolSample } from './baselines.js';

/** Parallelism for both: FreeIPMI's largest --fanout, and vpmd's concurrency and in-flight bound. */
const FANOUT = 1024;
const WARM_SWEEPS = 10;
const FREEIPMI_WARM_RUNS = 3;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const log = (msg: string): void => void process.stderr.write(`bench:ipmi ${msg}\n`);

const PROFILE = process.env.IPMI_BENCH_PROFILE;
const ONLY_VPMD = process.env.IPMI_BENCH_ONLY === 'vpmd';

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
  session.disconnect();
  log(`CPU profile of the warm sweeps: ${file}`);
}

interface Sweep {
  targets: number;
  successes: number;
  failures: number;
  durationMs: number;
}

async function vpmdSweeps(targets: readonly IpmiSimTarget[]): Promise<Record<string, unknown>> {
  const rssBefore = process.memoryUsage().rss;
  const booted = await bootAgent({
    plugins: [ipmi],
    startTimeout: 60,
    sections: {
      ipmi: {
        // Long interval: the benchmark triggers every sweep itself.
        interval: 86400,
        concurrency: FANOUT,
        maxInFlight: FANOUT,
        sel: false,
        // Compare like with like: ipmi-sensors reads sensors only. (ipmi_sim forks a shell
        // script for every Get Chassis Status, which would dominate the simulator's time.)
        chassisInterval: 86400,
        targets: targets.map((t) => ({ name: t.name, host: t.host, port: t.port, username: t.username, password: t.password })),
      },
    },
  });
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const cold = await booted.json<Sweep>(['ipmi', 'poll']);
    const coldMs = performance.now() - t0;
    const coldCpu = process.cpuUsage(c0);
    type Row = { hasSession: boolean; session: { sent: number; retransmits: number; dropped: number } | null };
    const sentSoFar = async (): Promise<number> => (await booted.json<Row[]>(['ipmi', 'targets'])).reduce((a, r) => a + (r.session?.sent ?? 0), 0);
    const sentBeforeWarm = await sentSoFar();
    const warm: { wallMs: number; cpuMs: number; sysMs: number; sweep: Sweep }[] = [];
    const profiler = PROFILE === undefined ? undefined : await startProfiler();
    for (let i = 0; i < WARM_SWEEPS; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      const sweep = await booted.json<Sweep>(['ipmi', 'poll']);
      const cpu = process.cpuUsage(c);
      warm.push({ wallMs: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000, sweep });
    }
    if (profiler !== undefined && PROFILE !== undefined) await stopProfiler(profiler, `${PROFILE.replace(/\.cpuprofile$/, '')}-${targets.length}.cpuprofile`);
    // Per target: the whole list of 6,000 metrics exceeds the control channel's 1 MiB line.
    const metricsOf = async (name: string): Promise<number> => (await booted.json<unknown[]>(['telemetry', 'list', '--target', name])).length;
    const metricsPerBmc = [await metricsOf(targets[0]?.name ?? ''), await metricsOf(targets[targets.length - 1]?.name ?? '')];
    const requestsPerWarmSweep = ((await sentSoFar()) - sentBeforeWarm) / WARM_SWEEPS;
    const rows = await booted.json<Row[]>(['ipmi', 'targets']);
    const mem = process.memoryUsage();
    // Sessions on the BMCs while the agent runs: each should hold exactly ours.
    const sample = targets.length <= 100 ? targets : targets.filter((_, i) => i % 10 === 0);
    log(`counting sessions on ${sample.length} BMC(s) with ipmitool`);
    const during = await countSessions(sample, 8);
    await booted.stop();
    const after = await countSessions(sample, 8);
    return {
      cold: { wallMs: r1(coldMs), cpuMs: r1((coldCpu.user + coldCpu.system) / 1000), successes: cold.successes, failures: cold.failures },
      warm: {
        medianWallMs: r1(median(warm.map((w) => w.wallMs))),
        minWallMs: r1(Math.min(...warm.map((w) => w.wallMs))),
        maxWallMs: r1(Math.max(...warm.map((w) => w.wallMs))),
        medianCpuMs: r1(median(warm.map((w) => w.cpuMs))),
        medianSystemCpuMs: r1(median(warm.map((w) => w.sysMs))),
        requestsPerSweep: r1(requestsPerWarmSweep),
        cpuUsPerRequest: r1((median(warm.map((w) => w.cpuMs)) * 1000) / requestsPerWarmSweep),
        failures: warm.reduce((a, w) => a + w.sweep.failures, 0),
        sweeps: warm.length,
      },
      metricsOfFirstAndLastBmc: metricsPerBmc,
      memory: { rssMB: r1(mem.rss / 2 ** 20), rssGrowthMB: r1((mem.rss - rssBefore) / 2 ** 20), heapUsedMB: r1(mem.heapUsed / 2 ** 20) },
      sessions: {
        sampledBmcs: sample.length,
        heldByPoller: rows.filter((r) => r.hasSession).length,
        retransmitsInAllSweeps: rows.reduce((a, r) => a + (r.session?.retransmits ?? 0), 0),
        droppedDatagrams: rows.reduce((a, r) => a + (r.session?.dropped ?? 0), 0),
        leakedAfter10Sweeps: during.reduce((a, n) => a + Math.max(0, n - 1), 0),
        unreadableCounts: during.filter((n) => n < 0).length,
        openAfterStop: after.reduce((a, n) => a + Math.max(0, n), 0),
      },
    };
  } finally {
    await booted.stop();
  }
}

async function benchSize(n: number): Promise<Record<string, unknown>> {
  log(`starting ${n} ipmi_sim BMC(s)`);
  const sim: IpmiSimPeer = await startIpmiSim({ bmcs: n, sel: false, startTimeoutMs: 180_000 });
  try {
    if (ONLY_VPMD) {
      log(`vpmd only: cold sweep + ${WARM_SWEEPS} warm sweeps`);
      return { bmcs: n, vpmd: await vpmdSweeps(sim.targets) };
    }
    log(`FreeIPMI ipmi-sensors --fanout=${FANOUT}: cold + ${FREEIPMI_WARM_RUNS} warm`);
    const fi = await freeIpmiFanout(sim.targets, FANOUT, FREEIPMI_WARM_RUNS);
    const sampleN = Math.min(n, 32);
    log(`ipmitool sdr list on ${sampleN} BMC(s), 8 in parallel`);
    const it = await ipmitoolSample(sim.targets.slice(0, sampleN), 8);
    log(`vpmd: cold sweep + ${WARM_SWEEPS} warm sweeps`);
    const vp = await vpmdSweeps(sim.targets);
    const fiWarm = median(fi.warm.map((w) => w.wallMs));
    const fiCpu = median(fi.warm.map((w) => w.cpuMs));
    const itSweepEstimate = (it.wallMs / it.polls) * n;
    const vpWarm = (vp.warm as { medianWallMs: number }).medianWallMs;
    const vpCpu = (vp.warm as { medianCpuMs: number }).medianCpuMs;
    return {
      bmcs: n,
      vpmd: vp,
      freeipmi: {
        fanout: FANOUT,
        cold: { wallMs: r1(fi.cold.wallMs), cpuMs: r1(fi.cold.cpuMs), maxRssMB: r1(fi.cold.maxRssMB), ok: fi.cold.ok },
        warm: { medianWallMs: r1(fiWarm), medianCpuMs: r1(fiCpu), maxRssMB: r1(Math.max(...fi.warm.map((w) => w.maxRssMB))), runs: fi.warm.length, allOk: fi.warm.every((w) => w.ok) },
        readingsPerRun: fi.readingsPerRun,
      },
      ipmitool: { sampledPolls: it.polls, parallel: 8, perPollWallMs: r1(it.wallMs / it.polls), perPollCpuMs: r1(it.cpuMs / it.polls), failures: it.failures, estimatedSweepMs: r1(itSweepEstimate) },
      ratios: {
        freeipmiWarmOverVpmdWarm: r1(fiWarm / vpWarm),
        freeipmiCpuOverVpmdCpu: r1(fiCpu / vpCpu),
        ipmitoolEstimateOverVpmdWarm: r1(itSweepEstimate / vpWarm),
      },
    };
  } finally {
    await sim.stop();
  }
}

const sizes = (process.env.IPMI_BENCH_SIZES ?? '100,1000').split(',').map(Number).filter((x) => Number.isInteger(x) && x > 0);
const runs: Record<string, unknown>[] = [];
for (const n of sizes) runs.push(await benchSize(n));
process.stdout.write(
  `${JSON.stringify({ bench: 'ipmi', sweep: 'every sensor of every BMC (vpmd: open sessions, cached SDRs, sdrCheck 60 s; FreeIPMI: warm SDR cache, fresh logins)', goal: 'warm sweep >= 3x faster than FreeIPMI warm fanout; 0 sessions leaked', runs }, null, 2)}\n`,
);
