/**
 * The simulated package's power physics (the ground truth energy attribution is checked
 * against). It is deliberately NOT a CPU-time split, nor vpmd's attribution formula:
 *
 * - each logical CPU's busy power is dynamic power `Cdyn·f·V(f)²` plus leakage `∝ V(f)`, with a
 *   convex voltage curve (flat near the minimum frequency, steep toward turbo);
 * - an idle CPU draws the fraction `idlePower` of its busy power of its deepest enabled idle
 *   state (POLL = 1, C6 ≈ 0.02), at the frequency its policy runs at;
 * - the package adds static power (always on) and uncore power: a static part plus a part that
 *   grows with the number of busy CPUs (memory and ring traffic);
 * - calibrated per profile so that an idle package at the minimum frequency with its deepest
 *   state enabled draws `packageIdleW`, and every CPU busy at the maximum `packageMaxW`.
 *
 * Hyperthread siblings are independent CPUs here (a simplification stated in docs/energy.md).
 */
import type { SimProfile } from './sim-profile.js';

/** Voltage at the minimum and maximum frequency, V, and the curve's convexity. */
const V_MIN = 0.75;
const V_MAX = 1.2;
const V_EXPONENT = 1.6;
/** Shares of a CPU's busy power at fmax: dynamic vs leakage. */
const DYNAMIC_SHARE = 0.8;
/** Share of (max − idle) that is load-dependent uncore power. */
const UNCORE_ACTIVE_SHARE = 0.1;
/** Idle power fraction assumed for calibration (the deepest Intel state, C6). */
const CALIBRATION_IDLE_FRACTION = 0.02;

/** Per-package constants derived from a profile. */
export interface PackagePowerConstants {
  /** Busy power of one CPU at fmax, W. */
  readonly cpuBusyMaxW: number;
  /** Static package + static uncore power, W. */
  readonly staticW: number;
  /** Uncore power added per fully busy CPU, W. */
  readonly uncorePerBusyCpuW: number;
}

const cache = new WeakMap<SimProfile, PackagePowerConstants>();

/** The core voltage at `fKHz`, V (convex between V_MIN at fmin and V_MAX at fmax). */
export function simVoltage(p: SimProfile, fKHz: number): number {
  const span = p.cpufreq.maxKHz - p.cpufreq.minKHz;
  const x = span <= 0 ? 1 : Math.min(1, Math.max(0, (fKHz - p.cpufreq.minKHz) / span));
  return V_MIN + (V_MAX - V_MIN) * x ** V_EXPONENT;
}

/** Busy power of one CPU at `fKHz` relative to its busy power at fmax (0..1). */
export function relativeBusyPower(p: SimProfile, fKHz: number): number {
  const v = simVoltage(p, fKHz) / V_MAX;
  return DYNAMIC_SHARE * (fKHz / p.cpufreq.maxKHz) * v * v + (1 - DYNAMIC_SHARE) * v;
}

/** The calibrated constants of a profile's packages. */
export function packageConstants(p: SimProfile): PackagePowerConstants {
  let c = cache.get(p);
  if (c === undefined) {
    const n = p.coresPerPackage * p.threadsPerCore;
    const range = p.power.packageMaxW - p.power.packageIdleW;
    const uncoreActiveW = UNCORE_ACTIVE_SHARE * range;
    const idleShare = CALIBRATION_IDLE_FRACTION * relativeBusyPower(p, p.cpufreq.minKHz);
    // max − idle = n·b·(1 − idleShare) + uncoreActive, solved for b.
    const cpuBusyMaxW = (range - uncoreActiveW) / (n * (1 - idleShare));
    c = {
      cpuBusyMaxW,
      staticW: p.power.packageIdleW - n * idleShare * cpuBusyMaxW,
      uncorePerBusyCpuW: uncoreActiveW / n,
    };
    cache.set(p, c);
  }
  return c;
}

/** One CPU's power terms at its current frequency, W. */
export interface CpuPowerTerms {
  /** Power while running a thread. */
  readonly busyW: number;
  /** Power while idle in its deepest enabled state. */
  readonly idleW: number;
  /** Idle power at the frequency the CPU runs at when the whole host idles (its share of the floor). */
  readonly floorW: number;
}

/**
 * Busy and idle power of one CPU at `fKHz` (and its floor at `idleKHz`, its frequency when
 * idle) whose deepest enabled idle state draws `idleFraction` of busy power.
 */
export function cpuPowerTerms(p: SimProfile, fKHz: number, idleKHz: number, idleFraction: number): CpuPowerTerms {
  const k = packageConstants(p).cpuBusyMaxW;
  const busyW = k * relativeBusyPower(p, fKHz);
  return { busyW, idleW: busyW * idleFraction, floorW: k * relativeBusyPower(p, idleKHz) * idleFraction };
}

/**
 * Package power from per-CPU terms and loads: static + Σ (load·busy + (1 − load)·idle) + uncore.
 * `cpus` are the package's CPU numbers.
 */
export function packagePowerW(
  p: SimProfile,
  cpus: readonly number[],
  terms: readonly CpuPowerTerms[],
  loads: readonly number[],
): number {
  const k = packageConstants(p);
  let w = k.staticW;
  for (const cpu of cpus) {
    const l = loads[cpu] ?? 0;
    const t = terms[cpu];
    if (t === undefined) continue;
    w += l * t.busyW + (1 - l) * t.idleW + l * k.uncorePerBusyCpuW;
  }
  return w;
}

/**
 * The power the threads running on a CPU at load `load` are truly responsible for, W: all the
 * CPU draws above its floor (busy power, uncore traffic, and the higher idle power of the gaps
 * between their bursts at the frequency their load raised). Split among them by running time.
 */
export function aboveFloorW(p: SimProfile, t: CpuPowerTerms, load: number): number {
  return load * (t.busyW + packageConstants(p).uncorePerBusyCpuW) + (1 - load) * t.idleW - t.floorW;
}
