/**
 * Growth as a least-squares slope, for the soak's pass rule. One slope is fitted over several
 * windows at once, each with its own intercept: a step between windows (what a burst leaves
 * behind, judged by its own rule) then does not count as growth, only the trend inside each window
 * does. Samples taken seconds apart are correlated (a GC sawtooth spans several), so the slope's
 * standard error is widened by the residuals' lag-1 autocorrelation r, by sqrt((1 + r) / (1 - r))
 * (the effective sample size of an AR(1) series); without that a 10 s sampling interval would
 * claim far more certainty than an hour of data holds.
 */

/** One measurement: seconds since start and a value in MiB. */
export interface Point {
  t: number;
  y: number;
}

/** A fitted slope, in MiB per hour. */
export interface Trend {
  slopeMiBPerHour: number;
  /** Standard error of the slope, corrected for autocorrelation. */
  stdErrMiBPerHour: number;
  /** Lag-1 autocorrelation of the residuals (used for the correction when > 0). */
  lag1Autocorrelation: number;
  points: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Common slope over `windows` (each a list of points, its own intercept); undefined if too few. */
export function fitTrend(windows: ReadonlyArray<readonly Point[]>): Trend | undefined {
  const ws = windows.map((w) => w.filter((p) => Number.isFinite(p.y))).filter((w) => w.length >= 2);
  const n = ws.reduce((a, w) => a + w.length, 0);
  if (n < ws.length + 2) return undefined;
  const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
  let sxx = 0;
  let sxy = 0;
  const centred = ws.map((w) => {
    const tm = mean(w.map((p) => p.t));
    const ym = mean(w.map((p) => p.y));
    return w.map((p) => ({ dt: p.t - tm, dy: p.y - ym }));
  });
  for (const w of centred)
    for (const { dt, dy } of w) {
      sxx += dt * dt;
      sxy += dt * dy;
    }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const residuals = centred.map((w) => w.map(({ dt, dy }) => dy - slope * dt));
  const sse = residuals.flat().reduce((a, e) => a + e * e, 0);
  let lagged = 0;
  for (const w of residuals) for (let i = 1; i < w.length; i++) lagged += (w[i] ?? 0) * (w[i - 1] ?? 0);
  const r = sse > 0 ? lagged / sse : 0;
  const inflation = r > 0 ? Math.sqrt((1 + r) / Math.max(1e-6, 1 - r)) : 1;
  const stdErr = Math.sqrt(sse / (n - ws.length - 1) / sxx) * inflation;
  return {
    slopeMiBPerHour: r3(slope * 3600),
    stdErrMiBPerHour: r3(stdErr * 3600),
    lag1Autocorrelation: r3(r),
    points: n,
  };
}

/** A process's memory at one sample, in MiB. */
export interface MemoryParts {
  rssMiB: number;
  /** RSS's anonymous part (heap, malloc, stacks); the rest is mapped files (the node binary). */
  rssAnonMiB: number;
  rssFileMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** Of heapUsed, compiled code and bytecode: grows as V8 compiles and optimises functions. */
  heapCodeMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
}

/** What the soak samples: the agent's memory and the bare Node process's, at `t` seconds. */
export interface MemorySample {
  t: number;
  /** The heap figures were read just after a forced full GC. */
  afterGc: boolean;
  agent: MemoryParts;
  bareNode: MemoryParts;
}

/** The slopes the soak reports (heap parts after a forced GC: live data, not garbage yet to collect). */
export interface GrowthTrends {
  agentRss?: Trend;
  bareNodeRss?: Trend;
  agentRssAnon?: Trend;
  bareNodeRssAnon?: Trend;
  agentRssFile?: Trend;
  bareNodeRssFile?: Trend;
  agentHeapUsedAfterGc?: Trend;
  /** Heap used less code: the objects the program keeps. */
  agentHeapDataAfterGc?: Trend;
  agentHeapCodeAfterGc?: Trend;
  agentHeapTotalAfterGc?: Trend;
  agentExternalAfterGc?: Trend;
  agentArrayBuffersAfterGc?: Trend;
  bareNodeHeapUsedAfterGc?: Trend;
}

/** Every slope of `GrowthTrends` over the fitted windows. */
export function growthTrends(windows: ReadonlyArray<readonly MemorySample[]>): GrowthTrends {
  const fit = (pick: (s: MemorySample) => number, gcOnly: boolean): Trend | undefined =>
    fitTrend(windows.map((w) => w.filter((s) => !gcOnly || s.afterGc).map((s) => ({ t: s.t, y: pick(s) }))));
  return {
    agentRss: fit((s) => s.agent.rssMiB, false),
    bareNodeRss: fit((s) => s.bareNode.rssMiB, false),
    agentRssAnon: fit((s) => s.agent.rssAnonMiB, false),
    bareNodeRssAnon: fit((s) => s.bareNode.rssAnonMiB, false),
    agentRssFile: fit((s) => s.agent.rssFileMiB, false),
    bareNodeRssFile: fit((s) => s.bareNode.rssFileMiB, false),
    agentHeapUsedAfterGc: fit((s) => s.agent.heapUsedMiB, true),
    agentHeapDataAfterGc: fit((s) => s.agent.heapUsedMiB - s.agent.heapCodeMiB, true),
    agentHeapCodeAfterGc: fit((s) => s.agent.heapCodeMiB, true),
    agentHeapTotalAfterGc: fit((s) => s.agent.heapTotalMiB, true),
    agentExternalAfterGc: fit((s) => s.agent.externalMiB, true),
    agentArrayBuffersAfterGc: fit((s) => s.agent.arrayBuffersMiB, true),
    bareNodeHeapUsedAfterGc: fit((s) => s.bareNode.heapUsedMiB, true),
  };
}

/** The smallest live-heap growth an hour's soak must be able to see (2 standard errors). */
export const HEAP_RESOLUTION_MIB_PER_HOUR = 1;
/** How much faster than the bare Node process's the agent's anonymous RSS may grow (allocator drift). */
export const RSS_TOLERANCE_MIB_PER_HOUR = 2;
/** The rule `judgeGrowth` applies, as the soak's goal states it. */
export const PASS_RULE =
  `the agent's V8 heap used less compiled code, after a forced GC, does not grow significantly (slope - 2 SE <= 0, with 2 SE <= ${HEAP_RESOLUTION_MIB_PER_HOUR} MiB/h) ` +
  `and its anonymous RSS slope exceeds the bare Node process's by no more than ${RSS_TOLERANCE_MIB_PER_HOUR} MiB/h (difference - 2 SE <= ${RSS_TOLERANCE_MIB_PER_HOUR}, with 2 SE <= ${RSS_TOLERANCE_MIB_PER_HOUR}); slopes over the steady load after the warm-up, burst and settling excluded`;

type Outcome = 'pass' | 'fail' | 'inconclusive';

/**
 * The soak's growth rule. Each part fails when the growth is significant (beyond 2 standard
 * errors), and is inconclusive rather than passing when the run is too noisy or too short to have
 * seen the growth it is meant to rule out.
 */
export function judgeGrowth(g: GrowthTrends): {
  heap: Outcome;
  rss: Outcome;
  rssAnonExcessOverBareMiBPerHour?: number;
  rssAnonExcessStdErrMiBPerHour?: number;
  pass: Outcome;
} {
  const judge = (excess: number, se: number, allowed: number, resolution: number): Outcome =>
    excess - 2 * se > allowed ? 'fail' : 2 * se > resolution ? 'inconclusive' : 'pass';
  // The objects the program keeps; compiled code is reported beside it, bounded by the program.
  const h = g.agentHeapDataAfterGc;
  const heap =
    h === undefined ? 'inconclusive' : judge(h.slopeMiBPerHour, h.stdErrMiBPerHour, 0, HEAP_RESOLUTION_MIB_PER_HOUR);
  // Anonymous RSS: what the process allocated. The file-backed part grows as code runs for the
  // first time (pages of the node binary faulted in), which is no allocation.
  const [a, b] = [g.agentRssAnon, g.bareNodeRssAnon];
  let rss: Outcome = 'inconclusive';
  let excess: number | undefined;
  let excessSe: number | undefined;
  if (a !== undefined && b !== undefined) {
    excess = r3(a.slopeMiBPerHour - b.slopeMiBPerHour);
    excessSe = r3(Math.hypot(a.stdErrMiBPerHour, b.stdErrMiBPerHour));
    rss = judge(excess, excessSe, RSS_TOLERANCE_MIB_PER_HOUR, RSS_TOLERANCE_MIB_PER_HOUR);
  }
  const pass: Outcome =
    heap === 'fail' || rss === 'fail' ? 'fail' : heap === 'pass' && rss === 'pass' ? 'pass' : 'inconclusive';
  return { heap, rss, rssAnonExcessOverBareMiBPerHour: excess, rssAnonExcessStdErrMiBPerHour: excessSe, pass };
}
