/**
 * Memory of the benchmark process (the agent runs in it) sampled after every sweep: RSS, V8 heap,
 * external memory and ArrayBuffers, and the heap after a full GC when the process runs with
 * `--expose-gc` (`npm run bench:ipmi` does) and IPMI_BENCH_LIVE_HEAP=1. Optional heap snapshots after chosen sweeps.
 */
import { writeHeapSnapshot } from 'node:v8';

/** One sample, in MiB, after sweep `sweep` (0: the cold sweep). */
export interface MemorySample {
  sweep: number;
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  /** Heap used right after a full GC (live objects only); absent without --expose-gc. */
  liveHeapMB?: number;
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

/** Samples memory; `full` adds the live heap after a forced GC (costs a GC: not every sweep). */
export function sampleMemory(sweep: number, full: boolean): MemorySample {
  const m = process.memoryUsage();
  const sample: MemorySample = {
    sweep,
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
    arrayBuffersMB: mb(m.arrayBuffers),
  };
  if (full && gc !== undefined) {
    gc();
    sample.liveHeapMB = mb(process.memoryUsage().heapUsed);
  }
  return sample;
}

/**
 * With IPMI_BENCH_LIVE_HEAP=1, sweeps after which the live heap is measured: the 1st, 11th, 21st,
 * ... and the last. Off by default: a forced GC would also lower the RSS of the sweeps after it.
 */
export const isFullSample = (sweep: number, last: number): boolean =>
  process.env.IPMI_BENCH_LIVE_HEAP === '1' && (sweep % 10 === 1 || sweep === last);

/**
 * Writes a heap snapshot after the sweeps listed in IPMI_BENCH_HEAP_SNAPSHOTS (e.g. "11,21"),
 * into IPMI_BENCH_HEAP_DIR (default: the working directory).
 */
export function maybeHeapSnapshot(n: number, sweep: number, log: (msg: string) => void): void {
  const wanted = (process.env.IPMI_BENCH_HEAP_SNAPSHOTS ?? '').split(',').map(Number);
  if (!wanted.includes(sweep)) return;
  const dir = process.env.IPMI_BENCH_HEAP_DIR ?? '.';
  const file = writeHeapSnapshot(`${dir}/ipmi-${n}-sweep${sweep}.heapsnapshot`);
  log(`heap snapshot after sweep ${sweep}: ${file}`);
}

/** The summary of the samples: settled values over the last tenth of the sweeps, and the peak. */
export function summarizeMemory(samples: readonly MemorySample[]): Record<string, unknown> {
  const at = (k: number): MemorySample | undefined => samples.find((s) => s.sweep === k);
  const tail = samples.slice(-Math.max(1, Math.floor(samples.length / 10)));
  return {
    rssMBAfterSweep: Object.fromEntries(
      [1, 11, 21, 51, 101, 201, 361, samples.length - 1]
        .filter((k, i, a) => a.indexOf(k) === i && at(k) !== undefined)
        .map((k) => [k, at(k)?.rssMB]),
    ),
    liveHeapMBAfterSweep: Object.fromEntries(
      samples.filter((s) => s.liveHeapMB !== undefined).map((s) => [s.sweep, s.liveHeapMB]),
    ),
    peakRssMB: Math.max(...samples.map((s) => s.rssMB)),
    settledRssMB: Math.max(...tail.map((s) => s.rssMB)),
    last: samples[samples.length - 1],
  };
}
