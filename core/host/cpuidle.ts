/**
 * CPU idle states (`cpuN/cpuidle/stateK`). Latency and residency are in µs; `time` is the
 * cumulative residency in µs. Only `disable` is writable, per CPU.
 */
import { VpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { FaultLog, faultsField, type HostFault } from './host-faults.js';
import { attrInt, attrListIndexed, attrText } from './sysfs-attr.js';
import { fullPath, readInt } from './sysfs-read.js';

const CPU_DIR = 'sys/devices/system/cpu';

/** The idle driver and governor in use. */
export interface CpuidleInfo {
  /** `intel_idle`, `acpi_idle`, `psci_idle`, `haltpoll`...; undefined without cpuidle. */
  readonly driver?: string;
  readonly governor?: string;
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** One idle state of one CPU. */
export interface CpuidleState {
  /** K of `stateK`. */
  readonly index: number;
  /** `POLL`, `C1`, `C1E`, `C6`... */
  readonly name: string;
  readonly desc: string;
  /** Exit latency in µs. */
  readonly latencyUs: number;
  /** Target residency in µs (minimum idle time for the state to pay off). */
  readonly residencyUs: number;
  /** Undefined when `disable` cannot be read. */
  readonly disabled?: boolean;
  /** Times the state was entered. */
  readonly usage?: number;
  /** Total time spent in the state, µs. */
  readonly timeUs?: number;
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** Idle states of one CPU. */
export interface CpuIdleStates {
  readonly cpu: number;
  readonly states: readonly CpuidleState[];
}

/** Reads the cpuidle driver and governor. */
export async function readCpuidleInfo(backend: SysfsBackend): Promise<CpuidleInfo> {
  const log = new FaultLog();
  const [driver, governor, governorRo] = await Promise.all([
    attrText(backend, `${CPU_DIR}/cpuidle/current_driver`, log),
    attrText(backend, `${CPU_DIR}/cpuidle/current_governor`, log),
    attrText(backend, `${CPU_DIR}/cpuidle/current_governor_ro`, log),
  ]);
  const info: { driver?: string; governor?: string; faults?: readonly HostFault[] } = { ...faultsField(log) };
  if (driver !== undefined && driver !== '' && driver !== 'none') info.driver = driver;
  const gov = governor ?? governorRo;
  if (gov !== undefined && gov !== '') info.governor = gov;
  return info;
}

/**
 * Reads the idle states of one CPU (empty when the CPU has no cpuidle directory). A state whose
 * name, latency or residency cannot be read is left out; unreadable counters are undefined and
 * named in the state's `faults`.
 */
export async function readCpuIdleStates(backend: SysfsBackend, cpu: number): Promise<CpuidleState[]> {
  const dir = `${CPU_DIR}/cpu${cpu}/cpuidle`;
  const states = await attrListIndexed(backend, dir, /^state(\d+)$/, new FaultLog());
  const read = await Promise.all(
    states.map(async ({ name: entry, index }): Promise<CpuidleState | undefined> => {
      const base = `${dir}/${entry}`;
      const log = new FaultLog();
      const req = { required: true };
      const [name, desc, latencyUs, residencyUs, disable, usage, timeUs] = await Promise.all([
        attrText(backend, `${base}/name`, log, req),
        attrText(backend, `${base}/desc`, log),
        attrInt(backend, `${base}/latency`, log, req),
        attrInt(backend, `${base}/residency`, log, req),
        attrInt(backend, `${base}/disable`, log, req),
        attrInt(backend, `${base}/usage`, log, req),
        attrInt(backend, `${base}/time`, log, req),
      ]);
      if (name === undefined || latencyUs === undefined || residencyUs === undefined) return undefined;
      return {
        index,
        name,
        desc: desc ?? '',
        latencyUs,
        residencyUs,
        ...(disable === undefined ? {} : { disabled: disable !== 0 }),
        ...(usage === undefined ? {} : { usage }),
        ...(timeUs === undefined ? {} : { timeUs }),
        ...faultsField(log),
      };
    }),
  );
  return read.filter((s): s is CpuidleState => s !== undefined);
}

/** Reads the idle states of the given CPUs in one batch. */
export async function readIdleStatesOf(backend: SysfsBackend, cpus: readonly number[]): Promise<CpuIdleStates[]> {
  return Promise.all(cpus.map(async (cpu) => ({ cpu, states: await readCpuIdleStates(backend, cpu) })));
}

/**
 * Enables or disables one idle state of one CPU (`state` is the index K or the state's name)
 * and verifies the result.
 *
 * @throws VpmdError E_HOST_NOT_FOUND when the CPU or state does not exist, naming the existing
 *   states; E_HOST_VERIFY when `disable` reads back differently.
 */
export async function setIdleStateDisabled(
  backend: SysfsBackend,
  cpu: number,
  state: number | string,
  disabled: boolean,
): Promise<void> {
  const states = await readCpuIdleStates(backend, cpu);
  const target = states.find((s) => (typeof state === 'number' ? s.index === state : s.name === state));
  if (target === undefined) {
    const dir = fullPath(backend, `${CPU_DIR}/cpu${cpu}/cpuidle`);
    throw new VpmdError(
      'E_HOST_NOT_FOUND',
      `CPU ${cpu} has no idle state ${JSON.stringify(state)} under ${dir}; states: ${
        states.length === 0 ? 'none' : states.map((s) => `${s.index}=${s.name}`).join(' ')
      }`,
      { cpu, state: String(state), states: states.map((s) => s.name) },
    );
  }
  const file = `${CPU_DIR}/cpu${cpu}/cpuidle/state${target.index}/disable`;
  const value = disabled ? '1' : '0';
  await backend.write(file, value);
  const readBack = await readInt(backend, file);
  if (readBack !== Number(value)) {
    throw new VpmdError('E_HOST_VERIFY', `Wrote ${value} to ${fullPath(backend, file)} but read back ${readBack}`, {
      file: fullPath(backend, file),
      value,
      readBack: String(readBack),
    });
  }
}
