/**
 * Turbo (boost) detection and control, and the P-state driver's operating mode. Three kernel
 * interfaces exist: `cpufreq/boost` (acpi-cpufreq, amd-pstate; 1 = turbo on),
 * `intel_pstate/no_turbo` (intel_pstate in both modes; inverted: 1 = turbo off), or nothing
 * (cppc_cpufreq, VMs).
 */
import { VpmdError } from '../errors.js';
import { CPUFREQ_DIR } from './cpufreq.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { FaultLog, faultsField, type HostFault } from './host-faults.js';
import { attrRaw, attrText, parseIntAttr } from './sysfs-attr.js';
import { fullPath } from './sysfs-read.js';

/** Which kernel switch controls turbo. */
export type TurboMechanism = 'boost' | 'intel_pstate-no_turbo' | 'none';

/** Turbo availability and state. */
export interface TurboState {
  readonly supported: boolean;
  readonly mechanism: TurboMechanism;
  /** True when turbo frequencies may be used; undefined when unsupported. */
  readonly enabled?: boolean;
  /** Root-relative path of the controlling file. */
  readonly file?: string;
  /** Why `enabled` is unknown (present only when the switch could not be read). */
  readonly faults?: readonly HostFault[];
}

const NO_TURBO = 'sys/devices/system/cpu/intel_pstate/no_turbo';
const BOOST = `${CPUFREQ_DIR}/boost`;

/** Reads whether turbo is supported and enabled; an unreadable switch leaves `enabled` undefined. */
export async function readTurbo(backend: SysfsBackend): Promise<TurboState> {
  const log = new FaultLog();
  const noTurbo = await attrRaw(backend, NO_TURBO, log);
  if (noTurbo !== undefined || log.faults.length > 0) {
    const v = noTurbo === undefined ? undefined : parseIntAttr(backend, NO_TURBO, noTurbo, log);
    return {
      supported: true,
      mechanism: 'intel_pstate-no_turbo',
      ...(v === undefined ? {} : { enabled: v === 0 }),
      file: NO_TURBO,
      ...faultsField(log),
    };
  }
  const boost = await attrRaw(backend, BOOST, log);
  if (boost !== undefined || log.faults.length > 0) {
    const v = boost === undefined ? undefined : parseIntAttr(backend, BOOST, boost, log);
    return {
      supported: true,
      mechanism: 'boost',
      ...(v === undefined ? {} : { enabled: v === 1 }),
      file: BOOST,
      ...faultsField(log),
    };
  }
  return { supported: false, mechanism: 'none' };
}

/**
 * Enables or disables turbo and verifies the result.
 *
 * @throws VpmdError E_HOST_UNSUPPORTED when the host has no turbo switch; E_HOST_VERIFY when the
 *   state read back differs (e.g. the firmware locked turbo off).
 */
export async function setTurbo(backend: SysfsBackend, enabled: boolean): Promise<TurboState> {
  const state = await readTurbo(backend);
  if (state.file === undefined) {
    throw new VpmdError(
      'E_HOST_UNSUPPORTED',
      `This host has no turbo switch: neither ${fullPath(backend, NO_TURBO)} nor ${fullPath(backend, BOOST)} exists`,
      { requested: enabled },
    );
  }
  const value = state.mechanism === 'intel_pstate-no_turbo' ? (enabled ? '0' : '1') : enabled ? '1' : '0';
  await backend.write(state.file, value);
  const after = await readTurbo(backend);
  if (after.enabled !== enabled) {
    const file = fullPath(backend, state.file);
    throw new VpmdError(
      'E_HOST_VERIFY',
      `Wrote ${value} to ${file} but turbo is still ${after.enabled === true ? 'on' : 'off'}`,
      {
        file,
        value,
      },
    );
  }
  return after;
}

/** The P-state driver's operating mode (`intel_pstate/status` or `amd_pstate/status`). */
export interface DriverStatus {
  readonly driver: 'intel_pstate' | 'amd_pstate';
  /** `active`, `passive`, `off` (intel) or `active`, `passive`, `guided`, `disable` (amd). */
  readonly status: string;
  /** Values the kernel accepts for this driver. */
  readonly accepted: readonly string[];
  readonly file: string;
}

const STATUS_FILES = [
  {
    driver: 'intel_pstate',
    file: 'sys/devices/system/cpu/intel_pstate/status',
    accepted: ['active', 'passive', 'off'],
  },
  {
    driver: 'amd_pstate',
    file: 'sys/devices/system/cpu/amd_pstate/status',
    accepted: ['active', 'passive', 'guided', 'disable'],
  },
] as const;

/**
 * Reads the P-state driver status, or undefined when neither intel_pstate nor amd_pstate exists
 * or the status file cannot be read.
 */
export async function readDriverStatus(backend: SysfsBackend): Promise<DriverStatus | undefined> {
  for (const s of STATUS_FILES) {
    const text = await attrText(backend, s.file, new FaultLog());
    if (text !== undefined && text !== '')
      return { driver: s.driver, status: text, accepted: s.accepted, file: s.file };
  }
  return undefined;
}

/**
 * Switches the P-state driver's mode. The kernel re-registers the driver: every policy's
 * governor, limits and EPP return to their defaults.
 *
 * @throws VpmdError E_HOST_UNSUPPORTED without a status file; E_HOST_INVALID for a mode the
 *   driver does not accept; E_HOST_VERIFY when the mode read back differs.
 */
export async function setDriverStatus(backend: SysfsBackend, status: string): Promise<DriverStatus> {
  const current = await readDriverStatus(backend);
  if (current === undefined) {
    throw new VpmdError('E_HOST_UNSUPPORTED', 'This host has neither intel_pstate/status nor amd_pstate/status', {
      status,
    });
  }
  if (!current.accepted.includes(status)) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `${current.driver} does not accept status ${JSON.stringify(status)}; accepted: ${current.accepted.join(' ')}`,
      { driver: current.driver, status, accepted: current.accepted },
    );
  }
  await backend.write(current.file, status);
  const after = await readDriverStatus(backend);
  if (after?.status !== status) {
    const file = fullPath(backend, current.file);
    throw new VpmdError('E_HOST_VERIFY', `Wrote ${status} to ${file} but read back ${after?.status ?? 'nothing'}`, {
      file,
      value: status,
    });
  }
  return after;
}
