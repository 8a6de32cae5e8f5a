/**
 * The frequency weight w(f): how much power a CPU draws while busy at frequency f, relative to
 * its power at the maximum frequency. Dynamic power grows as f·V², and V rises with f under
 * DVFS, so a CPU-second at turbo costs several times one at the minimum frequency; the part
 * that does not scale (leakage, uncore traffic) is `staticShare` of the power at fmax:
 *
 *     w(f) = s + (1 − s) · (f / fmax) · (V(f) / Vmax)²
 *     V(f) = minVoltage + (maxVoltage − minVoltage) · x^voltageExponent,   x = (f − fmin) / (fmax − fmin)
 *
 * (the voltage curve of DVFS parts is convex: flat near the minimum frequency, where the
 * voltage floor holds, steep toward turbo; exponent 1 is a straight line).
 *
 * The voltages and `staticShare` are configuration (`plugins.energy.model`); the defaults fit
 * typical server parts. Without frequency information every CPU weighs 1 (a CPU-time split).
 */

/** Parameters of the weight. */
export interface FrequencyModel {
  readonly minVoltage: number;
  readonly maxVoltage: number;
  readonly staticShare: number;
  readonly voltageExponent: number;
}

/** Defaults (see docs/energy.md for how they compare with the simulator's physics). */
export const DEFAULT_FREQUENCY_MODEL: FrequencyModel = {
  minVoltage: 0.7,
  maxVoltage: 1.2,
  staticShare: 0.2,
  voltageExponent: 1.5,
};

/** The CPUs' frequency range, kHz. */
export interface FrequencyRange {
  readonly minKHz: number;
  readonly maxKHz: number;
}

/**
 * h(f) = (f / fmax) · (V(f) / Vmax)²: dynamic power's frequency dependence relative to fmax, the
 * part of w(f) that scales (undefined frequency or range: 1).
 */
export function dynamicShape(
  model: FrequencyModel,
  range: FrequencyRange | undefined,
  fKHz: number | undefined,
): number {
  if (range === undefined || fKHz === undefined || !(range.maxKHz > 0)) return 1;
  const span = range.maxKHz - range.minKHz;
  const x = span <= 0 ? 1 : Math.min(1, Math.max(0, (fKHz - range.minKHz) / span));
  const v = (model.minVoltage + (model.maxVoltage - model.minVoltage) * x ** model.voltageExponent) / model.maxVoltage;
  return Math.min(1, fKHz / range.maxKHz) * v * v;
}

/** w(f) = s + (1 − s) · h(f) for a CPU at `fKHz` (undefined frequency or range: 1). */
export function frequencyWeight(
  model: FrequencyModel,
  range: FrequencyRange | undefined,
  fKHz: number | undefined,
): number {
  if (range === undefined || fKHz === undefined || !(range.maxKHz > 0)) return 1;
  return model.staticShare + (1 - model.staticShare) * dynamicShape(model, range, fKHz);
}
