/**
 * The frequency steps a guest moves through on one cpufreq policy, and how the policy is driven.
 * acpi-cpufreq has a table (highest first; the first entry is turbo when it is 1000 kHz above the
 * second, as DPDK decides); drivers without a table get 100 MHz steps between the hardware
 * limits, with turbo above `base_frequency` where HWP reports it.
 */
import type { CpufreqPolicy } from 'vpmd';

/** How a policy is actuated. */
export type ActuationMode =
  /** `userspace` governor, target written to `scaling_setspeed` (acpi-cpufreq, intel_cpufreq, cppc). */
  | 'setspeed'
  /** `performance` governor, min = max = target (intel_pstate active, amd-pstate-epp). */
  | 'window';

/** The steps of one policy. */
export interface FrequencyLadder {
  readonly policy: number;
  readonly driver: string;
  readonly mode: ActuationMode;
  /** Every step in kHz, ascending (turbo steps included). */
  readonly steps: readonly number[];
  /** Highest non-turbo step. */
  readonly nominalMaxKHz: number;
  /** Lowest step. */
  readonly minKHz: number;
  /** Highest step (turbo when the ladder has any). */
  readonly maxKHz: number;
  /** True when steps above {@link nominalMaxKHz} exist. */
  readonly hasTurbo: boolean;
}

/** Step of synthesized ladders for drivers without a frequency table. */
export const SYNTH_STEP_KHZ = 100_000;

/** Builds the ladder of a policy, or explains why the policy cannot be driven. */
export function ladderOf(p: CpufreqPolicy): FrequencyLadder | { readonly error: string } {
  const hasSetspeed = p.setspeed !== undefined && p.availableGovernors.includes('userspace');
  const mode: ActuationMode | undefined = hasSetspeed
    ? 'setspeed'
    : p.availableGovernors.includes('performance')
      ? 'window'
      : undefined;
  if (mode === undefined) {
    return {
      error: `policy${p.id} (driver ${p.driver}) offers neither the userspace nor the performance governor (${p.availableGovernors.join(' ')})`,
    };
  }
  let steps: number[];
  let nominalMaxKHz: number;
  const table = p.availableFrequenciesKHz;
  if (table && table.length > 0) {
    const desc = [...new Set(table)].sort((a, b) => b - a);
    steps = [...desc].reverse();
    const [first, second] = desc;
    nominalMaxKHz = first !== undefined && second !== undefined && first - second === 1000 ? second : (first as number);
  } else {
    const set = new Set<number>();
    for (let f = p.cpuinfoMinKHz; f < p.cpuinfoMaxKHz; f += SYNTH_STEP_KHZ) set.add(f);
    set.add(p.cpuinfoMaxKHz);
    if (
      p.baseFrequencyKHz !== undefined &&
      p.baseFrequencyKHz > p.cpuinfoMinKHz &&
      p.baseFrequencyKHz < p.cpuinfoMaxKHz
    )
      set.add(p.baseFrequencyKHz);
    steps = [...set].sort((a, b) => a - b);
    nominalMaxKHz =
      p.baseFrequencyKHz !== undefined && p.baseFrequencyKHz < p.cpuinfoMaxKHz ? p.baseFrequencyKHz : p.cpuinfoMaxKHz;
  }
  const minKHz = steps[0] as number;
  const maxKHz = steps[steps.length - 1] as number;
  return {
    policy: p.id,
    driver: p.driver,
    mode,
    steps,
    nominalMaxKHz,
    minKHz,
    maxKHz,
    hasTurbo: maxKHz > nominalMaxKHz,
  };
}

/** The step above `kHz` (capped at `ceiling`), or `kHz` snapped when already at the top. */
export function stepUp(l: FrequencyLadder, kHz: number, ceiling: number): number {
  const next = l.steps.find((s) => s > kHz && s <= ceiling);
  return next ?? snapDown(l, Math.min(Math.max(kHz, l.minKHz), ceiling));
}

/** The step below `kHz`, or the lowest step. */
export function stepDown(l: FrequencyLadder, kHz: number): number {
  const below = l.steps.filter((s) => s < kHz);
  return below.length > 0 ? (below[below.length - 1] as number) : l.minKHz;
}

/** The highest step at or below `kHz` (the lowest step when `kHz` is below every step). */
export function snapDown(l: FrequencyLadder, kHz: number): number {
  let best = l.minKHz;
  for (const s of l.steps) if (s <= kHz) best = s;
  return best;
}

/** The lowest step at or above `kHz` (the highest step when none is). */
export function snapUp(l: FrequencyLadder, kHz: number): number {
  return l.steps.find((s) => s >= kHz) ?? l.maxKHz;
}

/** The middle step (DPDK's MEDIUM workload frequency). */
export function middleStep(l: FrequencyLadder): number {
  const nominal = l.steps.filter((s) => s <= l.nominalMaxKHz);
  return nominal[Math.floor((nominal.length - 1) / 2)] ?? l.minKHz;
}
