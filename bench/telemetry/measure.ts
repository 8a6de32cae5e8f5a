/**
 * One measurement of bench:telemetry (run.ts spawns it with --expose-gc): defines M metrics in
 * a store of the given variant, records N readings into each, and prints one JSON line with the
 * memory the store holds after a full GC and the cost of record(), latest() and history().
 * Usage: node --expose-gc --import tsx bench/telemetry/measure.ts baseline|growing|columns M N
 */
import type { MetricDefinition, MetricKind, MetricUnit, Reading } from '../../core/contracts/telemetry.js';
import { TelemetryStore } from '../../core/telemetry/index.js';
import { RingBuffer } from './growing-ring.js';
import { BaselineTelemetryStore } from './baseline-store.js';

/** What the bench uses of a store; the baseline and the current one both have it. */
interface StoreUnderTest {
  define(def: MetricDefinition, owner: string): void;
  record(id: string, value: number | null): Reading;
  latest(id: string): Reading | undefined;
  history(id: string, query?: { since?: number; limit?: number }): Reading[];
}

const [variant = '', metricsArg = '', readingsArg = ''] = process.argv.slice(2);
const METRICS = Number(metricsArg);
const READINGS = Number(readingsArg);
const SENSORS_PER_BMC = 30;
const SWEEP_MS = 10_000;
const T0 = 1_700_000_000_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
if (!Number.isInteger(METRICS) || METRICS < 1 || !Number.isInteger(READINGS) || READINGS < 0) {
  throw new Error(`usage: measure.ts baseline|growing|columns METRICS READINGS (got ${metricsArg} ${readingsArg})`);
}

const clock = { t: T0 };
const now = (): number => clock.t;

function makeStore(): StoreUnderTest {
  if (variant === 'baseline') return new BaselineTelemetryStore({ now });
  if (variant === 'growing')
    return new BaselineTelemetryStore({ now, ring: (capacity) => new RingBuffer<Reading>(capacity) });
  if (variant === 'columns') return new TelemetryStore({ now });
  throw new Error(`unknown variant ${JSON.stringify(variant)}: baseline, growing or columns`);
}

const KINDS: ReadonlyArray<readonly [MetricKind, MetricUnit]> = [
  ['temperature', 'Cel'],
  ['voltage', 'V'],
  ['fan', 'RPM'],
  ['current', 'A'],
];

function definition(m: number): MetricDefinition {
  const sensor = m % SENSORS_PER_BMC;
  const target = `bmc${Math.floor(m / SENSORS_PER_BMC)}`;
  const [kind, unit] = KINDS[sensor % KINDS.length] as readonly [MetricKind, MetricUnit];
  return {
    id: `ipmi/${target}/${kind}/${sensor}`,
    name: `${kind} ${sensor}`,
    kind,
    unit,
    source: { plugin: 'ipmi', target, sensor: `S${sensor}` },
    ...(kind === 'temperature' ? { thresholds: { upperWarning: 65, upperCritical: 68 } } : {}),
  };
}

/** Even sensors read integers (exact in Float32), odd ones hundredths as IPMI scales them; 1% unavailable. */
function value(m: number, r: number): number | null {
  if ((m * 7 + r) % 100 === 0) return null;
  const sensor = m % SENSORS_PER_BMC;
  if (sensor % 2 === 0) return sensor % 4 === 0 ? 30 + ((m + r) % 40) : 3000 + 60 * ((m + r) % 20);
  return (1100 + ((m * 3 + r) % 200)) / 100;
}

function memory(): { heap: number; external: number; rss: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

/** Records sweep `r`: every metric once, a millisecond apart per 10 metrics, as a poller would. */
function sweep(store: StoreUnderTest, ids: readonly string[], r: number): void {
  for (let m = 0; m < ids.length; m++) {
    clock.t = T0 + r * SWEEP_MS + Math.floor(m / 10);
    store.record(ids[m] as string, value(m, r));
  }
}

/**
 * ns per call of `fn(i)`: the fastest of 5 rounds of `calls` calls, after a warm-up of a tenth
 * of them (the fastest round is the one least disturbed by other jobs on a shared machine).
 */
function perCall(calls: number, fn: (i: number) => number): { ns: number; sink: number } {
  let sink = 0;
  for (let i = 0; i < Math.ceil(calls / 10); i++) sink += fn(i);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += fn(i + round);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / calls);
  }
  return { ns: best, sink };
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

const ids = Array.from({ length: METRICS }, (_, m) => definition(m).id);
const before = memory();
const store = makeStore();
for (let m = 0; m < METRICS; m++) store.define(definition(m), 'ipmi');

const fillStarted = process.hrtime.bigint();
const fillCpuStarted = process.cpuUsage();
for (let r = 0; r < READINGS; r++) sweep(store, ids, r);
const fillNs = Number(process.hrtime.bigint() - fillStarted) / (METRICS * READINGS);
// CPU time of the process (all its threads, so GC helpers too): less disturbed by other jobs.
const fillCpu = process.cpuUsage(fillCpuStarted);
const fillCpuNs = ((fillCpu.user + fillCpu.system) * 1000) / (METRICS * READINGS);
const after = memory();

let steadyNs: number | null = null;
let latestNs: number | null = null;
let historyFullUs: number | null = null;
let historyLimit10Us: number | null = null;
let historySinceUs: number | null = null;
let sink = 0;
if (READINGS > 0) {
  // Five rounds of at least 200,000 more records once the fill is over (the rings are full and
  // wrap when READINGS = 360, still grow when 10); the fastest round counts.
  const sweepsPerRound = Math.ceil(200_000 / METRICS);
  let r = READINGS;
  steadyNs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (const end = r + sweepsPerRound; r < end; r++) sweep(store, ids, r);
    steadyNs = Math.min(steadyNs, Number(process.hrtime.bigint() - started) / (METRICS * sweepsPerRound));
  }
  const lastSweep = T0 + (r - 1) * SWEEP_MS;

  const latest = perCall(1_000_000, (i) => store.latest(ids[(i * 7919) % METRICS] as string)?.timestamp ?? 0);
  const full = perCall(2_000, (i) => store.history(ids[(i * 7919) % METRICS] as string).length);
  const limit10 = perCall(50_000, (i) => store.history(ids[(i * 7919) % METRICS] as string, { limit: 10 }).length);
  const since = perCall(
    50_000,
    (i) => store.history(ids[(i * 7919) % METRICS] as string, { since: lastSweep - 6 * SWEEP_MS }).length,
  );
  latestNs = round(latest.ns);
  historyFullUs = round(full.ns / 1000, 2);
  historyLimit10Us = round(limit10.ns / 1000, 3);
  historySinceUs = round(since.ns / 1000, 3);
  sink = latest.sink + full.sink + limit10.sink + since.sink;
}

const mb = (bytes: number): number => round(bytes / 1e6);
const heap = after.heap - before.heap;
const external = after.external - before.external;
console.log(
  JSON.stringify({
    variant,
    metrics: METRICS,
    readings: READINGS,
    heapMB: mb(heap),
    externalMB: mb(external),
    totalMB: mb(heap + external),
    rssMB: mb(after.rss - before.rss),
    bytesPerReading: READINGS > 0 ? round((heap + external) / (METRICS * READINGS)) : null,
    fillNsPerRecord: READINGS > 0 ? round(fillNs) : null,
    fillCpuNsPerRecord: READINGS > 0 ? round(fillCpuNs) : null,
    steadyNsPerRecord: steadyNs === null ? null : round(steadyNs),
    latestNs,
    historyFullUs,
    historyLimit10Us,
    historySinceUs,
    checksum: sink,
  }),
);
