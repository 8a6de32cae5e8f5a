/**
 * Cold sweeps only (`npm run bench:ipmi-cold`): one set of ipmi_sim BMCs, then a fresh agent
 * process per cold sweep (JIT, caches and heap all cold, as in `bench:ipmi`'s cold sweep), each
 * on an empty state directory. Faster than the full benchmark for comparing changes to the cold
 * path, and each process's numbers are its own: wall, CPU (whole process, main thread, helper
 * threads), the simulators' CPU meanwhile, and the lower bound they set on 2 cores.
 *
 * Environment: IPMI_BENCH_SIZES=1000 (first size used), IPMI_COLD_RUNS=3 (per variant);
 * IPMI_COLD_VARIANTS="name=flags;name=flags" runs each variant's child with those node flags and
 * environment assignments (KEY=VALUE words), alternating, so machine load hits them alike
 * (default: one variant, no flags, like `bench:ipmi`'s in-process agent). IPMI_COLD_SPLIT=k in
 * a variant splits the targets over k agent processes started together: what polling in k
 * worker threads would cost at best (each has its own heap, GC and JIT), without the posting.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIpmiSim } from '../../testkit/index.js';
import { processesCpuMs } from './cold-bounds.js';

const n = Number((process.env.IPMI_BENCH_SIZES ?? '1000').split(',')[0]) || 1000;
const runs = Math.max(1, Number(process.env.IPMI_COLD_RUNS ?? 3) || 3);
interface Variant {
  readonly name: string;
  readonly nodeFlags: string[];
  readonly env: Record<string, string>;
}
const variants: Variant[] = (process.env.IPMI_COLD_VARIANTS ?? 'default=').split(';').map((v) => {
  const eq = v.indexOf('=');
  const words = v
    .slice(eq + 1)
    .split(' ')
    .filter(Boolean);
  return {
    name: v.slice(0, eq),
    nodeFlags: words.filter((w) => w.startsWith('--')),
    env: Object.fromEntries(words.filter((w) => !w.startsWith('--')).map((w) => w.split('=', 2) as [string, string])),
  };
});
const log = (msg: string): void => void process.stderr.write(`bench:ipmi-cold ${msg}\n`);
const r1 = (x: number): number => Math.round(x * 10) / 10;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

interface ChildResult {
  wallMs: number;
  cpuMs: number;
  mainThreadCpuMs: number;
  threadsCpuMs: Record<string, number>;
  requests: number;
  successes: number;
  failures: number;
  rounds: number;
}

/** A started child: its result, and (split runs) its readiness and the go line. */
interface Child {
  readonly ready: Promise<void>;
  readonly result: Promise<ChildResult>;
  go(): void;
}

function startChild(v: Variant, targetsFile: string, stateDir: string, slice?: string): Child {
  // IPMI_COLD_CHILD in a variant: another checkout's cold-child.ts (before/after comparisons),
  // run from that checkout so that its own sources and tsconfig are used.
  const script = v.env.IPMI_COLD_CHILD ?? fileURLToPath(new URL('./cold-child.ts', import.meta.url));
  const p = spawn(process.execPath, [...v.nodeFlags, '--import', 'tsx', script, targetsFile, stateDir], {
    cwd: resolve(dirname(script), '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...v.env, ...(slice === undefined ? {} : { IPMI_COLD_SLICE: slice }) },
  });
  let out = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) markReady();
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`cold child exited with ${code}`);
        // The result is the last line: node flags such as --trace-gc print before it
        // (IPMI_COLD_KEEP_STDOUT=file keeps the whole output).
        if (process.env.IPMI_COLD_KEEP_STDOUT !== undefined) void writeFile(process.env.IPMI_COLD_KEEP_STDOUT, out);
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return { ready, result, go: () => p.stdin.end('go\n') };
}

/**
 * One cold sweep by `split` processes started together, each polling its share of the targets
 * (what worker threads would cost: each has its own heap, GC and compiled code). Wall time is
 * the slowest's sweep, CPU the sum, main-thread CPU the largest.
 */
async function runSplit(v: Variant, targetsFile: string, stateDir: string, split: number): Promise<ChildResult> {
  if (split <= 1) {
    const only = startChild(v, targetsFile, stateDir);
    only.go();
    return only.result;
  }
  for (let i = 0; i < split; i++) await mkdir(`${stateDir}-${i}`, { recursive: true });
  const children = Array.from({ length: split }, (_, i) =>
    startChild(v, targetsFile, `${stateDir}-${i}`, `${i}/${split}`),
  );
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.go();
  const rs = await Promise.all(children.map((c) => c.result));
  const threads: Record<string, number> = {};
  for (const r of rs) for (const [k, ms] of Object.entries(r.threadsCpuMs)) threads[k] = (threads[k] ?? 0) + ms;
  return {
    wallMs: Math.max(...rs.map((r) => r.wallMs)),
    cpuMs: rs.reduce((a, r) => a + r.cpuMs, 0),
    mainThreadCpuMs: Math.max(...rs.map((r) => r.mainThreadCpuMs)),
    threadsCpuMs: threads,
    requests: rs.reduce((a, r) => a + r.requests, 0),
    successes: rs.reduce((a, r) => a + r.successes, 0),
    failures: rs.reduce((a, r) => a + r.failures, 0),
    rounds: Math.max(...rs.map((r) => r.rounds)),
  };
}

log(`starting ${n} ipmi_sim BMC(s)`);
const sim = await startIpmiSim({ bmcs: n, sel: false, startTimeoutMs: 180_000 });
const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-ipmi-cold-'));
type Measured = ChildResult & { variant: string; simCpuMs: number; lowerBoundMs: number; load: number[] };
const results: Measured[] = [];
try {
  const targetsFile = join(dir, 'targets.json');
  await writeFile(targetsFile, JSON.stringify(sim.targets));
  for (let i = 0; i < runs * variants.length; i++) {
    const v = variants[i % variants.length] as Variant;
    const stateDir = await mkdtemp(join(dir, 'state-'));
    // The child measures its own sweep; the simulators' CPU is read around the whole child,
    // whose start and stop cost them nothing but the sweep's logins and closes.
    const simBefore = await processesCpuMs(sim.pids);
    const r = await runSplit(v, targetsFile, stateDir, Number(v.env.IPMI_COLD_SPLIT ?? 1) || 1);
    const simCpuMs = (await processesCpuMs(sim.pids)) - simBefore;
    const lowerBoundMs = Math.max((r.cpuMs + simCpuMs) / availableParallelism(), r.mainThreadCpuMs);
    results.push({ ...r, variant: v.name, simCpuMs, lowerBoundMs: r1(lowerBoundMs), load: loadavg().map(r1) });
    log(
      `${v.name} run ${Math.floor(i / variants.length) + 1}: wall ${r1(r.wallMs)} ms, cpu ${r1(r.cpuMs)} ms (main ${r.mainThreadCpuMs}), sims ${simCpuMs} ms`,
    );
  }
} finally {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}
const summary = (v: Variant): Record<string, unknown> => {
  const mine = results.filter((r) => r.variant === v.name);
  const pick = (f: (r: Measured) => number): number => r1(median(mine.map(f)));
  return {
    variant: v.name,
    nodeFlags: v.nodeFlags,
    env: v.env,
    wallMs: pick((r) => r.wallMs),
    cpuMs: pick((r) => r.cpuMs),
    mainThreadCpuMs: pick((r) => r.mainThreadCpuMs),
    simCpuMs: pick((r) => r.simCpuMs),
    lowerBoundMs: pick((r) => r.lowerBoundMs),
    cpuUsPerRequest: pick((r) => (r.cpuMs * 1000) / r.requests),
    failures: mine.reduce((a, r) => a + r.failures, 0),
  };
};
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'ipmi-cold',
      bmcs: n,
      medians: variants.map(summary),
      runs: results,
    },
    null,
    2,
  )}\n`,
);
