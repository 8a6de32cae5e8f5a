/**
 * Learns each zone's frequency weight from its own RAPL readings. The energy above the idle
 * floor is modelled as
 *
 *     P − floor = a · Σ busy_c + b · Σ busy_c · h(f_c),   h(f) = (f / fmax) · (V(f) / Vmax)²
 *
 * (busy in CPU-seconds per second; h is `dynamicShape` in frequency-weight.ts), so a busy
 * CPU-second at f weighs w(f) = a + b·h(f). The pair (a, b) is fitted by recursive least
 * squares over the intervals, starting from the configured prior (`staticShare` s: a : b =
 * s : 1 − s, scaled by the first busy interval) with a weak prior covariance: intervals in
 * which load and frequency vary pin the curve down; while they do not (constant loads), the
 * direction they cannot tell apart stays at the prior. A slight forgetting factor follows slow
 * drift (temperature, idle-state settings), with the covariance bounded so that a long
 * constant stretch cannot wind it up.
 */
import type { FrequencyModel } from './frequency-weight.js';

const FORGETTING = 0.9995;
const MAX_TRACE_FACTOR = 100;
/** Less busy than this (CPU-s per s) says nothing about the curve. */
const MIN_BUSY = 0.05;

/** One zone's fitted weight curve. */
export class WeightCalibration {
  private theta: [number, number] | undefined;
  private p: [number, number, number, number] = [0, 0, 0, 0];
  private maxTrace = 0;
  private observations = 0;

  constructor(private readonly prior: FrequencyModel) {}

  /** Number of intervals that informed the fit. */
  get samples(): number {
    return this.observations;
  }

  /** w for a CPU whose shape value is `h` (the prior's until the first busy interval). */
  weight(h: number): number {
    const s = this.prior.staticShare;
    if (this.theta === undefined) return s + (1 - s) * h;
    const [a, b] = this.theta;
    // A curve that falls with frequency is not physical: keep both terms non-negative.
    return Math.max(0, a) + Math.max(0, b) * h + 1e-9;
  }

  /** Feeds one interval: power above the floor `y` (W), Σ busy and Σ busy·h (CPU-s per s). */
  observe(y: number, busy: number, busyShape: number): void {
    if (!(busy >= MIN_BUSY) || !Number.isFinite(y) || !Number.isFinite(busyShape)) return;
    if (this.theta === undefined) {
      const s = this.prior.staticShare;
      const k = y / (s * busy + (1 - s) * busyShape);
      if (!(k > 0)) return;
      this.theta = [k * s, k * (1 - s)];
      // Weak prior: about as strong as one interval with one busy CPU.
      this.p = [k * k, 0, 0, k * k];
      this.maxTrace = 2 * k * k * MAX_TRACE_FACTOR;
      this.observations = 1;
      return;
    }
    const [p00, p01, p10, p11] = this.p;
    const px0 = p00 * busy + p01 * busyShape;
    const px1 = p10 * busy + p11 * busyShape;
    const denom = FORGETTING + busy * px0 + busyShape * px1;
    const k0 = px0 / denom;
    const k1 = px1 / denom;
    const err = y - (this.theta[0] * busy + this.theta[1] * busyShape);
    this.theta = [this.theta[0] + k0 * err, this.theta[1] + k1 * err];
    let next: [number, number, number, number] = [p00 - k0 * px0, p01 - k0 * px1, p10 - k1 * px0, p11 - k1 * px1];
    const trace = next[0] + next[3];
    if (trace / FORGETTING < this.maxTrace) next = next.map((v) => v / FORGETTING) as typeof next;
    this.p = next;
    this.observations++;
  }

  /** The fitted (a, b), for reports. */
  get coefficients(): { a: number; b: number } | undefined {
    return this.theta === undefined ? undefined : { a: this.theta[0], b: this.theta[1] };
  }
}
