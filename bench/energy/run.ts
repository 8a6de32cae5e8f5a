/**
 * bench/energy: the cost of one accounting interval for 500 VMs × 4 vCPUs (plus an emulator
 * thread each) on a 64-CPU, 2-package host, against the floor of reading the same files with a
 * bare Node loop in the same run. The host is a generated simulated tree read as plain files
 * (RealSysfs over /dev/shm), so both sides pay the same file-system cost; the task `schedstat`
 * files, `/proc/stat` and RAPL are rewritten in place between iterations (untimed) so every
 * interval has CPU time to split.
 *
 * The floor reads exactly the files vpmd reads (2,500 thread `schedstat`s, `/proc/stat`, the
 * domains description, RAPL, 64 `scaling_cur_freq`) the cheapest way a bare loop can: kept
 * open, pread at offset 0, no parsing. `readFileSync` and async `readFile` of the same files
 * are reported beside it for context.
 *
 * Prints JSON: CPU ms per interval (mean, p99.9, max) for both, the ratios, the share of one
 * core at 1 Hz, intervals that overran the 1 s interval (failures), and heap bytes per VM.
 * Run: flock /tmp/vpmd-bench.lock npx tsx --expose-gc bench/energy/run.ts [--vms 500] [--iterations 40]
 */
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { access, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostModel, RealSysfs } from '../../core/host/index.js';
import { generateSimulatedHost } from '../../core/sim/index.js';
import { EnergyEngine } from '../../plugins/energy/energy-engine.js';
import { DEFAULT_FREQUENCY_MODEL } from '../../plugins/energy/frequency-weight.js';
import { SimulatedDomains, SIM_DOMAINS_FILE } from '../../plugins/libvirt-domains/simulated-domains.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const VMS = arg('vms', 500);
const VCPUS = 4;
const ITERATIONS = arg('iterations', 40);
/** Untimed intervals first: V8 compiles the hot paths (on helper threads, billed to the process). */
const WARMUP = arg('warmup', 10);
const CPUS = 64;
const PACKAGES = 2;

const gc = (globalThis as { gc?: () => void }).gc;

/** A task's `schedstat`: run time (ns), wait time (ns), timeslices. */
function taskSchedstat(runNs: number): string {
  return `${runNs} ${Math.floor(runNs / 50)} ${Math.floor(runNs / 4_000_000)}\n`;
}

interface Layout {
  readonly files: string[];
  readonly tasks: Array<{ path: string; tid: number; ratePerS: number }>;
}

async function buildTree(root: string): Promise<Layout> {
  await generateSimulatedHost(root, { profile: 'amd-pstate-epp-64' });
  const domains = [];
  const tasks: Layout['tasks'] = [];
  for (let v = 0; v < VMS; v++) {
    const pid = 10_000 + v * 10;
    const vcpus = Array.from({ length: VCPUS }, (_, i) => ({
      index: i,
      tid: pid + 2 + i,
      pins: [(v * VCPUS + i) % CPUS],
    }));
    const hex = v.toString(16).padStart(12, '0');
    domains.push({
      uuid: `00000000-0000-4000-8000-${hex}`,
      name: `vm-${v}`,
      state: 'running',
      pid,
      startedAt: 0,
      vcpus,
      emulator: { tids: [pid], pins: [(v * VCPUS) % CPUS] },
    });
    for (const t of [{ tid: pid, pins: [(v * VCPUS) % CPUS] }, ...vcpus]) {
      const dir = join(root, 'proc', String(pid), 'task', String(t.tid));
      await mkdir(dir, { recursive: true });
      // ratePerS: ms of CPU per second (5 % to 65 % of a CPU).
      tasks.push({ path: join(dir, 'schedstat'), tid: t.tid, ratePerS: 50 + ((t.tid * 7) % 600) });
    }
  }
  await mkdir(join(root, 'run', 'vpmd-sim'), { recursive: true });
  await writeFile(join(root, SIM_DOMAINS_FILE), JSON.stringify({ format: 'vpmd-sim-domains/1', domains }));
  const files = [
    'proc/stat',
    SIM_DOMAINS_FILE,
    ...Array.from({ length: PACKAGES }, (_, p) => `sys/class/powercap/amd-rapl:${p}/energy_uj`),
    ...Array.from({ length: CPUS }, (_, c) => `sys/devices/system/cpu/cpu${c}/cpufreq/scaling_cur_freq`),
    ...tasks.map((t) => t.path.slice(root.length + 1)),
  ];
  return { files, tasks };
}

/** Advances the counters by one simulated second (untimed). */
async function advance(root: string, layout: Layout, second: number): Promise<void> {
  // writeFile truncates in place: kept-open descriptors (vpmd's and the floor's) see new text.
  await Promise.all(layout.tasks.map((t) => writeFile(t.path, taskSchedstat(t.ratePerS * 1_000_000 * second))));
  const lines = Array.from(
    { length: CPUS },
    (_, c) => `cpu${c} ${60 * second} 0 ${3 * second} ${37 * second} 0 0 0 0 0 0`,
  );
  await writeFile(join(root, 'proc/stat'), `cpu 0 0 0 0 0 0 0 0 0 0\n${lines.join('\n')}\n`);
  for (let p = 0; p < PACKAGES; p++)
    await writeFile(join(root, `sys/class/powercap/amd-rapl:${p}/energy_uj`), String(1_000_000 + 150_000_000 * second));
}

function stats(values: readonly number[]): { mean: number; p999: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { mean: r(mean), p999: r(at(0.999)), max: r(sorted[sorted.length - 1] ?? 0) };
}

/**
 * CPU (process and main thread) and wall ms of `fn`, after 20 ms for background work to settle.
 * No collection is forced here: a forced full GC shrinks the young generation, so the side that
 * allocates (vpmd) would pay scavenges it never has at 1 Hz in steady state. Any collection of
 * the untimed rewrites' garbage lands in either side's window, the allocating side's more often.
 */
async function cpuMs(fn: () => Promise<unknown>): Promise<{ cpu: number; wall: number; main: number }> {
  await new Promise((ok) => setTimeout(ok, 20));
  const m0 = mainThreadNs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  const main = (mainThreadNs() - m0) / 1e6;
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0, main };
}

/**
 * The main thread's own CPU time (its schedstat, ns): the process's CPU time minus the
 * collector's and the thread pool's helper threads.
 */
function mainThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]);
}

/**
 * The floor: a bare Node loop reading the same files the cheapest way it can — each opened once
 * and kept open, re-read with pread at offset 0 into one reusable buffer (what vpmd does for the
 * thread files), nothing parsed.
 */
class BareLoop {
  private readonly fds: number[];
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(root: string, files: readonly string[]) {
    this.fds = files.map((f) => openSync(join(root, f), 'r'));
  }

  read(): number {
    let bytes = 0;
    for (const fd of this.fds) bytes += readSync(fd, this.buf, 0, this.buf.length, 0);
    return bytes;
  }

  close(): void {
    for (const fd of this.fds) closeSync(fd);
  }
}

async function main(): Promise<void> {
  const parent = await access('/dev/shm', constants.W_OK).then(
    () => '/dev/shm',
    () => tmpdir(),
  );
  const root = await mkdtemp(join(parent, 'vpmd-bench-energy-'));
  try {
    const layout = await buildTree(root);
    const host = createHostModel(new RealSysfs(root));
    let second = 1;
    await advance(root, layout, second);
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const domains = new SimulatedDomains(host, undefined, () => second * 1000);
    const engine = new EnergyEngine(
      { host, domains: () => domains, latest: () => undefined, now: () => second * 1000 },
      { intervalMs: 1000, model: DEFAULT_FREQUENCY_MODEL, idleFloorW: {}, wallMaxAgeMs: 30_000, historyStepMs: 10_000 },
    );
    await engine.init(undefined);
    await engine.sample();
    const bareLoop = new BareLoop(root, layout.files);
    const ownCpu: number[] = [];
    const readFileSyncFloor: number[] = [];
    const asyncFloor: number[] = [];
    const floor: number[] = [];
    const vpmd: number[] = [];
    const floorWall: number[] = [];
    const floorMain: number[] = [];
    const vpmdMain: number[] = [];
    const vpmdWall: number[] = [];
    let overruns = 0;
    for (let i = 0; i < WARMUP; i++) {
      second++;
      await advance(root, layout, second);
      bareLoop.read();
      await engine.sample();
    }
    for (let i = 0; i < ITERATIONS; i++) {
      second++;
      await advance(root, layout, second);
      // Alternate which side goes first so caches favour neither.
      const bare = (): Promise<unknown> => Promise.resolve(bareLoop.read());
      const run = i % 2 === 0 ? [bare, () => engine.sample()] : [() => engine.sample(), bare];
      const a = await cpuMs(run[0] as () => Promise<unknown>);
      const b = await cpuMs(run[1] as () => Promise<unknown>);
      const [f, v] = i % 2 === 0 ? [a, b] : [b, a];
      floor.push(f.cpu);
      vpmd.push(v.cpu);
      floorWall.push(f.wall);
      floorMain.push(f.main);
      vpmdMain.push(v.main);
      vpmdWall.push(v.wall);
      if (v.wall > 1000) overruns++;
    }
    bareLoop.close();
    gc?.();
    const heap1 = process.memoryUsage().heapUsed;
    const accounted = engine.vms().length;
    // Context, in a phase of its own so its garbage and thread-pool work disturb neither side
    // above: the engine alone, and the same files read whole (readFileSync, async readFile).
    // The engine's own share: the same VMs from memory (the provider's file reads taken out).
    let cached = await domains.list();
    const own = new EnergyEngine(
      {
        host,
        domains: () => ({ list: () => Promise.resolve(cached), get: () => Promise.resolve(undefined) }),
        latest: () => undefined,
        now: () => second * 1000,
      },
      { intervalMs: 1000, model: DEFAULT_FREQUENCY_MODEL, idleFloorW: {}, wallMaxAgeMs: 30_000, historyStepMs: 10_000 },
    );
    await own.init(undefined);
    await own.sample();
    for (let i = 0; i < WARMUP; i++) await own.sample();
    for (let i = 0; i < ITERATIONS; i++) {
      second++;
      await advance(root, layout, second);
      cached = await domains.list();
      ownCpu.push((await cpuMs(() => own.sample())).cpu);
      readFileSyncFloor.push(
        (await cpuMs(() => Promise.resolve(layout.files.map((file) => readFileSync(join(root, file), 'utf8'))))).cpu,
      );
      asyncFloor.push((await cpuMs(() => Promise.all(layout.files.map((file) => readFile(join(root, file)))))).cpu);
    }
    const f = stats(floor);
    const v = stats(vpmd);
    const o = stats(ownCpu);
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    const summary = {
      bench: 'energy',
      vms: VMS,
      vcpusPerVm: VCPUS,
      threads: layout.tasks.length,
      cpus: CPUS,
      iterations: ITERATIONS,
      warmupIterations: WARMUP,
      filesPerInterval: layout.files.length,
      threadFile: 'proc/<pid>/task/<tid>/schedstat',
      floorNote: 'bare loop: every file kept open, pread at offset 0 into one buffer, no parsing',
      floorCpuMs: f,
      vpmdCpuMs: v,
      floorMainThreadCpuMs: stats(floorMain),
      vpmdMainThreadCpuMs: stats(vpmdMain),
      mainThreadNote: 'the main thread alone (its schedstat): without the garbage collector helper threads',
      ratioMeanMainThreadCpu: ratio(stats(vpmdMain).mean, stats(floorMain).mean),
      floorWallMs: stats(floorWall),
      vpmdWallMs: stats(vpmdWall),
      readFileSyncFloorCpuMs: stats(readFileSyncFloor),
      asyncReadFileFloorCpuMs: stats(asyncFloor),
      engineOnlyCpuMs: o,
      engineOnlyNote:
        'the energy engine with VMs given from memory: its compute plus RAPL, /proc/stat and 64 frequency files',
      ratioMeanCpu: ratio(v.mean, f.mean),
      ratioP999Cpu: ratio(v.p999, f.p999),
      ratioMaxCpu: ratio(v.max, f.max),
      coreShareAt1Hz: Math.round((v.mean / 1000) * 10000) / 10000,
      coreShareAt1HzMax: Math.round((v.max / 1000) * 10000) / 10000,
      engineOnlyCoreShareAt1Hz: Math.round((o.mean / 1000) * 10000) / 10000,
      openDescriptors: layout.tasks.length,
      overrunsPastInterval: overruns,
      heapBytesPerVm: gc === undefined ? null : Math.round((heap1 - heap0) / Math.max(1, accounted)),
      heapNote:
        gc === undefined
          ? 'run with --expose-gc for heap per VM'
          : 'the engine + the domains source: heap after the measured intervals, per accounted VM',
      goals: { ratioAtMost: 2, coreShareBelow: 0.02 },
      met: { ratio: v.mean / f.mean <= 2, coreShare: v.mean / 1000 < 0.02 },
    };
    domains.close();
    if (process.env.BENCH_SERIES === '1')
      process.stderr.write(`${JSON.stringify({ floor, vpmd, floorMain, vpmdMain, ownCpu })}\n`);
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
