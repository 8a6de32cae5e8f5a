/**
 * Turns successive raw RAPL readings (µJ, wrapping at `max_energy_range_uj`) into a monotonic
 * energy total and an average power between samples.
 */
import { VpmdError } from '../errors.js';

/** What one {@link EnergyCounter.update} yields. */
export interface EnergySample {
  /** Monotonic total in J: the first raw reading plus every delta since, wraps included. */
  readonly totalJ: number;
  /** Energy since the previous sample in J; undefined on the first sample. */
  readonly deltaJ?: number;
  /** Average power since the previous sample in W; undefined on the first sample or a zero interval. */
  readonly powerW?: number;
  /** True when the counter wrapped since the previous sample. */
  readonly wrapped: boolean;
}

/**
 * A wrap-aware accumulator for one RAPL domain. The counter wraps after
 * `max_energy_range_uj` (about 22 minutes at 200 W for 262143328850 µJ); sample faster than
 * that: two wraps between samples cannot be told from one.
 */
export class EnergyCounter {
  private prevUj: number | undefined;
  private prevMs: number | undefined;
  private totalUj = 0;

  /** @param maxEnergyRangeUj The domain's `max_energy_range_uj`. */
  constructor(readonly maxEnergyRangeUj: number) {
    if (!Number.isFinite(maxEnergyRangeUj) || maxEnergyRangeUj <= 0) {
      throw new VpmdError('E_HOST_INVALID', `max_energy_range_uj must be a positive number, got ${maxEnergyRangeUj}`, {
        maxEnergyRangeUj,
      });
    }
  }

  /** The total so far in J (0 before the first sample). */
  get totalJ(): number {
    return this.totalUj / 1e6;
  }

  /**
   * Records a raw reading taken at `timestampMs`. A reading below the previous one is a wrap:
   * the delta is `max - prev + cur`.
   *
   * @throws VpmdError E_HOST_PARSE for a reading outside 0..max_energy_range_uj.
   */
  update(rawUj: number, timestampMs: number): EnergySample {
    if (!Number.isFinite(rawUj) || rawUj < 0 || rawUj > this.maxEnergyRangeUj) {
      throw new VpmdError(
        'E_HOST_PARSE',
        `RAPL energy reading ${rawUj} µJ is outside 0..${this.maxEnergyRangeUj} (max_energy_range_uj)`,
        { rawUj, maxEnergyRangeUj: this.maxEnergyRangeUj },
      );
    }
    const prevUj = this.prevUj;
    const prevMs = this.prevMs;
    this.prevUj = rawUj;
    this.prevMs = timestampMs;
    if (prevUj === undefined || prevMs === undefined) {
      this.totalUj = rawUj;
      return { totalJ: this.totalJ, wrapped: false };
    }
    const wrapped = rawUj < prevUj;
    const deltaUj = wrapped ? this.maxEnergyRangeUj - prevUj + rawUj : rawUj - prevUj;
    this.totalUj += deltaUj;
    const dtMs = timestampMs - prevMs;
    const sample: { totalJ: number; deltaJ: number; powerW?: number; wrapped: boolean } = {
      totalJ: this.totalJ,
      deltaJ: deltaUj / 1e6,
      wrapped,
    };
    if (dtMs > 0) sample.powerW = deltaUj / 1e3 / dtMs; // µJ / ms = mW; / 1e3 = W
    return sample;
  }
}
