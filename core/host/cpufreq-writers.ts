/**
 * Writing cpufreq policies: governor, frequency limits, userspace speed and EPP. Each writer
 * checks what it can before writing (so the error names what is allowed), writes, then reads
 * back: a difference that the kernel's documented clamping does not explain is E_HOST_VERIFY.
 */
import { VpmdError } from '../errors.js';
import { requirePolicy, requireSpeedControls, type CpufreqPolicy } from './cpufreq.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath, readInt } from './sysfs-read.js';

/** Effective limits after {@link setLimits}. */
export interface LimitsResult {
  readonly minKHz: number;
  readonly maxKHz: number;
  /** True when the kernel clamped a requested value (into the hardware range, or min to max). */
  readonly clamped: boolean;
}

/** Effective speed after {@link setSpeed}. */
export interface SpeedResult {
  readonly kHz: number;
  /** True when the kernel moved the request (clamped into limits or resolved to a supported step). */
  readonly clamped: boolean;
}

/**
 * Tolerance for drivers without a frequency table (intel_cpufreq, amd-pstate, cppc): they round
 * a userspace target to their own P-state step, at most one 100 MHz bin on current hardware.
 */
export const SETSPEED_ROUNDING_KHZ = 100_000;

/** Numeric EPP equivalents of the named preferences (HWP and amd-pstate use the same scale). */
export const EPP_VALUES: Readonly<Record<string, number>> = {
  performance: 0,
  balance_performance: 128,
  balance_power: 192,
  power: 255,
};

function verifyError(backend: SysfsBackend, file: string, wrote: string, readBack: string, why: string): VpmdError {
  const full = fullPath(backend, file);
  return new VpmdError(
    'E_HOST_VERIFY',
    `Wrote ${JSON.stringify(wrote)} to ${full} but read back ${JSON.stringify(readBack)}: ${why}`,
    {
      file: full,
      value: wrote,
      readBack,
    },
  );
}

function requireKHz(
  name: string,
  value: number,
  policy: Pick<CpufreqPolicy, 'id' | 'cpuinfoMinKHz' | 'cpuinfoMaxKHz'>,
): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `${name} for policy${policy.id} must be a positive integer in kHz (hardware range ${policy.cpuinfoMinKHz}-${policy.cpuinfoMaxKHz}), got ${value}`,
      { policy: policy.id, [name]: value },
    );
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Sets a policy's governor.
 *
 * @throws VpmdError E_HOST_INVALID (before writing) when the governor is not offered, naming the
 *   offered ones; E_HOST_VERIFY when the governor read back differs.
 */
export async function setGovernor(backend: SysfsBackend, id: number, governor: string): Promise<void> {
  const policy = await requirePolicy(backend, id);
  if (!policy.availableGovernors.includes(governor)) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `Governor ${JSON.stringify(governor)} is not offered by policy${id} (driver ${policy.driver}); available: ${policy.availableGovernors.join(' ')}`,
      { policy: id, governor, available: policy.availableGovernors },
    );
  }
  const file = `${policy.path}/scaling_governor`;
  await backend.write(file, governor);
  const readBack = (await backend.read(file)).trim();
  if (readBack !== governor) throw verifyError(backend, file, governor, readBack, 'the governor did not change');
}

/**
 * Sets a policy's frequency limits (kHz). The kernel accepts any number and clamps the effective
 * value into the hardware range with min <= max; the result reports what took effect.
 *
 * @throws VpmdError E_HOST_INVALID for non-positive values or min above max (before writing);
 *   E_HOST_VERIFY when the read-back values are not the clamped request.
 */
export async function setLimits(
  backend: SysfsBackend,
  id: number,
  limits: { readonly minKHz?: number; readonly maxKHz?: number },
): Promise<LimitsResult> {
  const policy = await requirePolicy(backend, id);
  const { minKHz, maxKHz } = limits;
  if (minKHz !== undefined) requireKHz('minKHz', minKHz, policy);
  if (maxKHz !== undefined) requireKHz('maxKHz', maxKHz, policy);
  if (minKHz !== undefined && maxKHz !== undefined && minKHz > maxKHz) {
    throw new VpmdError('E_HOST_INVALID', `minKHz ${minKHz} is above maxKHz ${maxKHz} for policy${id}`, {
      policy: id,
      minKHz,
      maxKHz,
    });
  }
  const p = policy.path;
  const writeMin = async (): Promise<void> => {
    if (minKHz !== undefined) await backend.write(`${p}/scaling_min_freq`, String(minKHz));
  };
  const writeMax = async (): Promise<void> => {
    if (maxKHz !== undefined) await backend.write(`${p}/scaling_max_freq`, String(maxKHz));
  };
  // Kernels before 5.4 reject a min above the current max (and the reverse): order the writes
  // so that every intermediate state is valid.
  if (maxKHz !== undefined && maxKHz < policy.scalingMinKHz) {
    await writeMin();
    await writeMax();
  } else {
    await writeMax();
    await writeMin();
  }
  const [hwMin, hwMax, effMin, effMax] = await Promise.all([
    readInt(backend, `${p}/cpuinfo_min_freq`),
    readInt(backend, `${p}/cpuinfo_max_freq`),
    readInt(backend, `${p}/scaling_min_freq`),
    readInt(backend, `${p}/scaling_max_freq`),
  ]);
  if (maxKHz !== undefined) {
    const expected = clamp(maxKHz, hwMin, hwMax);
    if (effMax !== expected) {
      throw verifyError(
        backend,
        `${p}/scaling_max_freq`,
        String(maxKHz),
        String(effMax),
        `expected ${expected} (the request clamped to ${hwMin}-${hwMax}); another constraint may cap the policy`,
      );
    }
  }
  if (minKHz !== undefined) {
    const expected = Math.min(clamp(minKHz, hwMin, hwMax), effMax);
    if (effMin !== expected) {
      throw verifyError(
        backend,
        `${p}/scaling_min_freq`,
        String(minKHz),
        String(effMin),
        `expected ${expected} (the request clamped to ${hwMin}-${hwMax} and to the maximum ${effMax})`,
      );
    }
  }
  const clamped = (minKHz !== undefined && effMin !== minKHz) || (maxKHz !== undefined && effMax !== maxKHz);
  return { minKHz: effMin, maxKHz: effMax, clamped };
}

/** The frequency a driver settles on for a userspace target (kernel RELATION_L semantics). */
export function expectedSetspeed(
  policy: Pick<CpufreqPolicy, 'scalingMinKHz' | 'scalingMaxKHz' | 'availableFrequenciesKHz'>,
  kHz: number,
): number {
  const target = clamp(kHz, policy.scalingMinKHz, policy.scalingMaxKHz);
  const table = (policy.availableFrequenciesKHz ?? []).filter(
    (f) => f >= policy.scalingMinKHz && f <= policy.scalingMaxKHz,
  );
  if (table.length === 0) return target;
  const atOrAbove = table.filter((f) => f >= target);
  return atOrAbove.length > 0 ? Math.min(...atOrAbove) : Math.max(...table);
}

/**
 * Sets the speed of a policy under the `userspace` governor (kHz).
 *
 * @throws VpmdError E_HOST_INVALID when the governor is not `userspace` (the kernel would give
 *   EINVAL) or the speed is not a positive integer; E_HOST_VERIFY when the read-back speed is
 *   not the request clamped to the limits (and resolved to a table entry or P-state step).
 */
export async function setSpeed(backend: SysfsBackend, id: number, kHz: number): Promise<SpeedResult> {
  const policy = await requireSpeedControls(backend, id);
  requireKHz('kHz', kHz, policy);
  if (policy.setspeed === undefined) {
    throw new VpmdError('E_HOST_UNSUPPORTED', `policy${id} (driver ${policy.driver}) has no scaling_setspeed`, {
      policy: id,
    });
  }
  if (policy.governor !== 'userspace') {
    throw new VpmdError(
      'E_HOST_INVALID',
      `scaling_setspeed of policy${id} is writable only under the userspace governor; the governor is ${policy.governor}: set it to userspace first`,
      { policy: id, governor: policy.governor },
    );
  }
  const file = `${policy.path}/scaling_setspeed`;
  await backend.write(file, String(kHz));
  const effective = await readInt(backend, file);
  const expected = expectedSetspeed(policy, kHz);
  const tolerance = policy.availableFrequenciesKHz === undefined ? SETSPEED_ROUNDING_KHZ : 0;
  const inLimits = effective >= policy.scalingMinKHz && effective <= policy.scalingMaxKHz;
  if (!inLimits || Math.abs(effective - expected) > tolerance) {
    throw verifyError(
      backend,
      file,
      String(kHz),
      String(effective),
      `expected ${expected} (the request within the limits ${policy.scalingMinKHz}-${policy.scalingMaxKHz})`,
    );
  }
  return { kHz: effective, clamped: effective !== kHz };
}

/** Numeric form of an EPP value (`balance_power` → 192, `"64"` → 64), or undefined. */
export function eppNumber(value: string): number | undefined {
  const named = EPP_VALUES[value];
  if (named !== undefined) return named;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Sets the energy-performance preference of a policy: a name from the policy's available list,
 * `default`, or a raw 0-255 value (HWP accepts numbers; amd-pstate only names).
 *
 * @throws VpmdError E_HOST_UNSUPPORTED without EPP; E_HOST_INVALID for a value not offered;
 *   E_HOST_BUSY for a non-performance value under the `performance` governor (set the governor
 *   first); E_HOST_VERIFY when the value read back is not equivalent.
 */
export async function setEpp(backend: SysfsBackend, id: number, value: string | number): Promise<void> {
  const policy = await requirePolicy(backend, id);
  const text = String(value);
  if (policy.epp === undefined) {
    throw new VpmdError(
      'E_HOST_UNSUPPORTED',
      `policy${id} (driver ${policy.driver}) has no energy_performance_preference`,
      {
        policy: id,
      },
    );
  }
  const available = policy.availableEpp ?? Object.keys(EPP_VALUES);
  const numeric = /^\d+$/.test(text) ? Number(text) : undefined;
  if (numeric !== undefined ? numeric > 255 : !available.includes(text)) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `EPP ${JSON.stringify(text)} is not accepted by policy${id}; use one of ${available.join(' ')} or a number 0-255`,
      { policy: id, value: text, available },
    );
  }
  if (policy.governor === 'performance' && eppNumber(text) !== 0) {
    throw new VpmdError(
      'E_HOST_BUSY',
      `EPP ${JSON.stringify(text)} cannot be set on policy${id} while its governor is performance ` +
        '(the kernel pins EPP to performance): set the governor to powersave first',
      { policy: id, value: text, governor: policy.governor },
    );
  }
  const file = `${policy.path}/energy_performance_preference`;
  await backend.write(file, text);
  const readBack = (await backend.read(file)).trim();
  const matches =
    text === 'default'
      ? eppNumber(readBack) !== undefined
      : eppNumber(readBack) === eppNumber(text) || readBack === text;
  if (!matches) throw verifyError(backend, file, text, readBack, 'the preference did not change');
}
