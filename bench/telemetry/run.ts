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
 * Prints one JSON summary. Usage: npm run bench:telemetry [-- --metrics M] [-- --readings 10,360]
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
  const args = [
    '--expose-gc',
    '--max-old-space-size=4096',
    '--import',
    'tsx',
    CHILD,
    variant,
    String(METRICS),
    String(readings),
  ];
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
const scenarios: Record<string, Record<string, Measured>> = {};
for (const n of READINGS) {
  const byVariant: Record<string, Measured> = {};
  for (const v of VARIANTS) byVariant[v] = await measure(v, n);
  scenarios[`${METRICS}x${n}`] = byVariant;
}

const ratios: Record<string, Record<string, number | null>> = {};
for (const [name, s] of Object.entries(scenarios)) {
  const base = s.baseline as Measured;
  const cols = s.columns as Measured;
  const grow = s.growing as Measured;
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
      scenarios,
      ratios,
    },
    null,
    2,
  ),
);
