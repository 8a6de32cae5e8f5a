/**
 * The idle floor of each zone: the power it draws when none of its CPUs runs anything.
 *
 * How it is found (docs/energy.md, "Idle floor"):
 * 1. configured (`plugins.energy.idleFloorW.<zone>`): used as is;
 * 2. measured: every interval in which the zone's CPUs were busy less than `QUIET_BUSY` of the
 *    time is a direct observation of the floor; the floor is the running mean of the last
 *    `WINDOW` such intervals, corrected for the little activity they had (the energy above the
 *    floor is proportional to weighted busy time, so the observation is extrapolated to zero
 *    busy time with the zone's current energy per weighted busy second); kept across restarts;
 * 3. until a quiet interval is seen, an estimate (named as such in `method`): the intercept of
 *    power against weighted busy time, fitted over the intervals seen, once their busy time
 *    varies enough to extrapolate (at least `MIN_FIT` intervals, spread ≥ 10 % of the mean);
 *    before that, the lowest interval power seen scaled by its idle time fraction.
 */

/** Busy fraction below which an interval observes the floor. */
export const QUIET_BUSY = 0.03;
const WINDOW = 60;
const MIN_FIT = 20;
const FIT_DECAY = 0.999;

/** A zone's floor as persisted. */
export interface FloorRecord {
  watts: number;
  method: 'configured' | 'measured' | 'estimated';
  /** Number of quiet intervals averaged (measured), capped at the window. */
  samples: number;
}

/** One zone's floor estimator. */
export class IdleFloor {
  private record: FloorRecord | undefined;
  /** Energy above the floor per weighted busy CPU-second, W (learned from busy intervals). */
  private slopeW: number | undefined;
  /** Decayed sums of (weighted busy, power) for the intercept estimate: n, Σx, Σy, Σxx, Σxy. */
  private fit = [0, 0, 0, 0, 0];
  private fitted = false;

  constructor(
    readonly key: string,
    private readonly configuredW: number | undefined,
    restored: FloorRecord | undefined,
  ) {
    if (configuredW !== undefined) this.record = { watts: configuredW, method: 'configured', samples: 0 };
    else if (restored !== undefined && restored.method !== 'configured') this.record = { ...restored };
  }

  /** The floor in W (0 before anything was observed). */
  get watts(): number {
    return this.record?.watts ?? 0;
  }

  /** What to persist and report. */
  get current(): FloorRecord | undefined {
    return this.record === undefined ? undefined : { ...this.record };
  }

  /** Human description of the method. */
  describe(): string {
    const r = this.record;
    if (r === undefined) return 'unknown: no interval observed yet';
    if (r.method === 'configured') return 'configured (plugins.energy.idleFloorW)';
    if (r.method === 'measured')
      return `measured: mean of ${r.samples} interval(s) with the zone's CPUs < ${QUIET_BUSY * 100}% busy`;
    return this.fitted
      ? `estimated: intercept of power vs weighted busy time over ${Math.round(this.fit[0] ?? 0)} interval(s) (no quiet interval seen yet)`
      : 'estimated: lowest interval power × its idle fraction (no quiet interval seen yet)';
  }

  /**
   * Feeds one interval: average power `watts`, the zone's busy fraction (0..1) and weighted busy
   * CPU-seconds per second `weightedBusy`.
   */
  observe(watts: number, busyFraction: number, weightedBusy: number): void {
    if (!Number.isFinite(watts) || watts < 0) return;
    const r = this.record;
    if (r?.method === 'configured') return;
    if (busyFraction >= QUIET_BUSY) {
      if (weightedBusy > 0.05 && r !== undefined && r.method === 'measured') {
        const slope = (watts - r.watts) / weightedBusy;
        if (slope > 0) this.slopeW = this.slopeW === undefined ? slope : 0.9 * this.slopeW + 0.1 * slope;
      }
      if (r === undefined || r.method === 'estimated') this.estimate(watts, busyFraction, weightedBusy);
      return;
    }
    this.fitted = false;
    const observed = Math.max(0, watts - (this.slopeW ?? 0) * weightedBusy);
    if (r === undefined || r.method !== 'measured') {
      this.record = { watts: observed, method: 'measured', samples: 1 };
      return;
    }
    const n = Math.min(WINDOW, r.samples + 1);
    this.record = { watts: r.watts + (observed - r.watts) / n, method: 'measured', samples: n };
  }

  private estimate(watts: number, busyFraction: number, weightedBusy: number): void {
    const f = this.fit.map((v) => v * FIT_DECAY);
    f[0] = (f[0] ?? 0) + 1;
    f[1] = (f[1] ?? 0) + weightedBusy;
    f[2] = (f[2] ?? 0) + watts;
    f[3] = (f[3] ?? 0) + weightedBusy * weightedBusy;
    f[4] = (f[4] ?? 0) + weightedBusy * watts;
    this.fit = f;
    const [n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0] = f;
    const mean = sx / n;
    const variance = sxx / n - mean * mean;
    if (this.fitted || (this.fit[0] ?? 0) >= MIN_FIT) {
      if (variance > 0 && Math.sqrt(variance) >= 0.1 * mean) {
        const slope = (sxy / n - mean * (sy / n)) / variance;
        const intercept = sy / n - slope * mean;
        if (slope > 0 && intercept >= 0) {
          this.fitted = true;
          this.record = { watts: intercept, method: 'estimated', samples: 0 };
          return;
        }
      }
    }
    if (this.fitted) return;
    const lowest = watts * (1 - Math.min(1, busyFraction));
    const r = this.record;
    if (r === undefined || lowest < r.watts) this.record = { watts: lowest, method: 'estimated', samples: 0 };
  }
}
