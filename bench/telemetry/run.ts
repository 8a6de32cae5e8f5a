/**
 * bench:telemetry — memory and cost of the core telemetry store's histories, in one run:
 *   baseline  the store as it was (bench/telemetry/baseline-store.ts: one frozen object per
 *             reading, each metric's 360-slot ring preallocated),
 *   growing   the same store with a RingBuffer (growing-ring.ts, the core ring before the columns), whose slots are added as readings come
 *             (objects still; this isolates the "start small" idea),
 *   columns   the current TelemetryStore (columns in one ArrayBuffer per ring, grown by doubling).
 * For each, M metrics (default 30,000: 1,000 BMCs x 30 sensors) are defined and filled with N
 * readings each (0, 10 and 360 = a full ring), every measurement in a fresh child process
 * (node --expose-gc) so heap numbers are taken after a full GC and do not mix.
 * Values mimic IPMI sensors: half integers (temperatures, fans, watts: exact in Float32), half
 * hundredths (volts, amps: Float64), 1 in 100 unavailable; timestamps from the store's clock,
 * one sweep every 10 s with a few ms between metrics, as a poller records them.
 * Each variant is measured --rounds times (default 3), the variants taking turns in a rotating
 * order; every number is the median of its rounds. A failed measurement is reported under
 * `failures` and withholds that scenario's ratios. `settings` lists every default changed.
 * Prints one JSON summary. Usage: npm run bench:telemetry [-- --metrics M] [-- --readings 10,360] [-- --rounds 3]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const METRICS = Number(arg('--metrics') ?? 30_000);
const READINGS = (arg('--readings') ?? '0,10,360').split(',').map(Number);
const VARIANTS = ['baseline', 'growing', 'columns'] as const;
/** Each variant is measured this many times, variants taking turns (interleaved); medians kept. */
const ROUNDS = Math.max(1, Number(arg('--rounds') ?? 3));
const NODE_FLAGS = ['--expose-gc', '--max-old-space-size=4096'];

/** Every setting this benchmark changes from the defaults (of node, of the store). */
const SETTINGS = {
  metrics: METRICS,
  readings: READINGS,
  rounds: ROUNDS,
  node: {
    flags: NODE_FLAGS,
    why: '--expose-gc: heap numbers after a full GC; a 4 GB heap limit: room for the largest scenarios',
  },
  store: 'default ring size (360 readings per metric); readings recorded directly, no poller',
};
const CHILD = fileURLToPath(new URL('./measure.ts', import.meta.url));
/** The repository root, where `--import tsx` resolves. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What one child reports (see measure.ts). */
interface Measured {
  readonly variant: string;
  readonly metrics: number;
  readonly readings: number;
  readonly heapMB: number;
  readonly externalMB: number;
  readonly totalMB: number;
  readonly rssMB: number;
  readonly bytesPerReading: number | null;
  readonly fillNsPerRecord: number | null;
  readonly fillCpuNsPerRecord: number | null;
  readonly steadyNsPerRecord: number | null;
  readonly latestNs: number | null;
  readonly historyFullUs: number | null;
  readonly historyLimit10Us: number | null;
  readonly historySinceUs: number | null;
}

function measure(variant: string, readings: number): Promise<Measured> {
  const args = [...NODE_FLAGS, '--import', 'tsx', CHILD, variant, String(METRICS), String(readings)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`measure ${variant} ${readings} exited with ${code}`));
      resolve(JSON.parse(out) as Measured);
    });
  });
}

const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;

const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);

/** The median of each numeric field over the rounds (the other fields from the first round). */
function medianOf(rounds: readonly Measured[]): Measured & { rounds: number } {
  const first = rounds[0] as Measured;
  const out: Record<string, unknown> = { ...first, rounds: rounds.length };
  for (const [key, value] of Object.entries(first)) {
    if (typeof value !== 'number') continue;
    const xs = rounds
      .map((r) => (r as unknown as Record<string, number | null>)[key])
      .filter((x) => typeof x === 'number');
    xs.sort((a, b) => a - b);
    out[key] = xs[Math.floor(xs.length / 2)] ?? null;
  }
  return out as unknown as Measured & { rounds: number };
}

const scenarios: Record<string, Record<string, Measured>> = {};
/** Failed measurements by scenario and variant: a failed baseline makes that scenario's ratios invalid. */
const failures: Record<string, Record<string, string[]>> = {};
for (const n of READINGS) {
  const name = `${METRICS}x${n}`;
  const done: Record<string, Measured[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, the order rotating: a change in machine load hits every variant alike.
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(round + k) % VARIANTS.length] as string;
      try {
        (done[v] ??= []).push(await measure(v, n));
      } catch (e) {
        ((failures[name] ??= {})[v] ??= []).push(e instanceof Error ? e.message : String(e));
      }
    }
  }
  scenarios[name] = Object.fromEntries(Object.entries(done).map(([v, rounds]) => [v, medianOf(rounds)]));
}

const ratios: Record<string, Record<string, number | null>> = {};
for (const [name, s] of Object.entries(scenarios)) {
  const base = s.baseline;
  const cols = s.columns;
  const grow = s.growing;
  if (base === undefined || cols === undefined || grow === undefined || failures[name] !== undefined) {
    ratios[name] = { invalidBecause: 'measurements failed (see failures)' } as unknown as Record<string, null>;
    continue;
  }
  ratios[name] = {
    totalMemory_baselineOverColumns: ratio(base.totalMB, cols.totalMB),
    totalMemory_baselineOverGrowing: ratio(base.totalMB, grow.totalMB),
    rss_baselineOverColumns: ratio(base.rssMB, cols.rssMB),
    fillRecord_columnsOverBaseline: ratio(cols.fillNsPerRecord, base.fillNsPerRecord),
    fillRecordCpu_columnsOverBaseline: ratio(cols.fillCpuNsPerRecord, base.fillCpuNsPerRecord),
    steadyRecord_columnsOverBaseline: ratio(cols.steadyNsPerRecord, base.steadyNsPerRecord),
    latest_columnsOverBaseline: ratio(cols.latestNs, base.latestNs),
    historyFull_columnsOverBaseline: ratio(cols.historyFullUs, base.historyFullUs),
    historyLimit10_columnsOverBaseline: ratio(cols.historyLimit10Us, base.historyLimit10Us),
  };
}

console.log(
  JSON.stringify(
    {
      bench: 'telemetry',
      date: new Date().toISOString(),
      node: process.version,
      loadavgBefore: loadBefore,
      loadavgAfter: loadavg().map((x) => Math.round(x * 100) / 100),
      units:
        'MB = 1e6 bytes, deltas over an empty process after a full GC; total = heap + external (ArrayBuffers); ns/us per call: wall time, fastest of 5 rounds except fill (one pass; fillCpu = process CPU time, all threads)',
      settings: SETTINGS,
      scenarios,
      ratios,
      ...(Object.keys(failures).length > 0 ? { failures } : {}),
    },
    null,
    2,
  ),
);
if (Object.keys(failures).length > 0) process.exitCode = 1;
