/**
 * bench/energy: the cost of one accounting interval for 500 VMs × 4 vCPUs (plus an emulator
 * thread each) on a 64-CPU, 2-package host, against the floor of reading the same files with a
 * bare Node loop in the same run. The host is a generated simulated tree read as plain files
 * (RealSysfs over /dev/shm), so both sides pay the same file-system cost; the task `stat` files
 * and `/proc/stat` are rewritten between iterations (untimed) so every interval has CPU time
 * to split.
 *
 * Prints JSON: CPU ms per interval (mean, p99.9, max) for both, the ratio, the share of one
 * core at 1 Hz, intervals that overran the 1 s interval (failures), and heap bytes per VM.
 * Run: flock /tmp/vpmd-bench.lock npx tsx --expose-gc bench/energy/run.ts [--vms 500] [--iterations 40]
 */
import { constants } from 'node:fs';
import { readFileSync } from 'node:fs';
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
const CPUS = 64;
const PACKAGES = 2;

const gc = (globalThis as { gc?: () => void }).gc;

function taskStat(tid: number, ticks: number, cpu: number): string {
  const f = [tid, '(CPU 0/KVM)', 'S', 1, tid, tid, 0, -1, 0, 0, 0, 0, 0, ticks, Math.floor(ticks / 20)];
  for (let i = 16; i <= 38; i++) f.push(0);
  f.push(cpu, 0, 0, 0, ticks, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return `${f.join(' ')}\n`;
}

interface Layout {
  readonly files: string[];
  readonly tasks: Array<{ path: string; tid: number; cpu: number; ratePerS: number }>;
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
      tasks.push({ path: join(dir, 'stat'), tid: t.tid, cpu: t.pins[0] ?? 0, ratePerS: 5 + ((t.tid * 7) % 60) });
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
  await Promise.all(layout.tasks.map((t) => writeFile(t.path, taskStat(t.tid, t.ratePerS * second, t.cpu))));
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

async function cpuMs(fn: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 };
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
    const ownCpu: number[] = [];
    const syncFloor: number[] = [];
    const floor: number[] = [];
    const vpmd: number[] = [];
    const floorWall: number[] = [];
    const vpmdWall: number[] = [];
    let overruns = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      second++;
      await advance(root, layout, second);
      // Alternate which side goes first so caches favour neither.
      const bare = (): Promise<unknown> => Promise.all(layout.files.map((f) => readFile(join(root, f), 'utf8')));
      const run = i % 2 === 0 ? [bare, () => engine.sample()] : [() => engine.sample(), bare];
      const a = await cpuMs(run[0] as () => Promise<unknown>);
      const b = await cpuMs(run[1] as () => Promise<unknown>);
      const [f, v] = i % 2 === 0 ? [a, b] : [b, a];
      floor.push(f.cpu);
      vpmd.push(v.cpu);
      floorWall.push(f.wall);
      vpmdWall.push(v.wall);
      if (v.wall > 1000) overruns++;
      cached = await domains.list();
      ownCpu.push((await cpuMs(() => own.sample())).cpu);
      syncFloor.push(
        (await cpuMs(() => Promise.resolve(layout.files.map((file) => readFileSync(join(root, file), 'utf8'))))).cpu,
      );
    }
    gc?.();
    const heap1 = process.memoryUsage().heapUsed;
    const accounted = engine.vms().length;
    const f = stats(floor);
    const v = stats(vpmd);
    const fs = stats(syncFloor);
    const o = stats(ownCpu);
    const summary = {
      bench: 'energy',
      vms: VMS,
      vcpusPerVm: VCPUS,
      threads: layout.tasks.length,
      cpus: CPUS,
      iterations: ITERATIONS,
      filesPerInterval: layout.files.length,
      floorCpuMs: f,
      vpmdCpuMs: v,
      floorWallMs: stats(floorWall),
      vpmdWallMs: stats(vpmdWall),
      syncFloorCpuMs: fs,
      engineOnlyCpuMs: o,
      engineOnlyNote:
        'the energy engine with VMs given from memory: its compute plus RAPL, /proc/stat and 64 frequency files',
      ratioMeanCpu: Math.round((v.mean / f.mean) * 100) / 100,
      ratioMeanCpuVsSyncFloor: Math.round((v.mean / fs.mean) * 100) / 100,
      ratioP999Cpu: Math.round((v.p999 / f.p999) * 100) / 100,
      coreShareAt1Hz: Math.round((v.mean / 1000) * 10000) / 10000,
      engineOnlyCoreShareAt1Hz: Math.round((o.mean / 1000) * 10000) / 10000,
      overrunsPastInterval: overruns,
      heapBytesPerVm: gc === undefined ? null : Math.round((heap1 - heap0) / Math.max(1, accounted)),
      heapNote:
        gc === undefined
          ? 'run with --expose-gc for heap per VM'
          : 'engine + domains source heap after the run, per accounted VM',
      goals: { ratioAtMost: 2, coreShareBelow: 0.02 },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
