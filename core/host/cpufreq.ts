/**
 * Reading cpufreq policies (`/sys/devices/system/cpu/cpufreq/policyN`). Frequencies stay in kHz,
 * as the kernel writes them; the transition latency is in ns.
 */
import { VpmdError } from '../errors.js';
import { parseCpuList } from './cpu-ranges.js';
import type { SysfsBackend } from './sysfs-backend.js';
import {
  fullPath,
  listIndexed,
  parseIntStrict,
  readInt,
  readOptional,
  readOptionalInt,
  readOptionalWords,
} from './sysfs-read.js';

/** Directory holding the `policyN` directories and the global `boost` switch. */
export const CPUFREQ_DIR = 'sys/devices/system/cpu/cpufreq';

/** Path of a policy directory. */
export function policyPath(id: number): string {
  return `${CPUFREQ_DIR}/policy${id}`;
}

/** One cpufreq policy: a group of CPUs scaled together. */
export interface CpufreqPolicy {
  /** N of `policyN`. */
  readonly id: number;
  /** Root-relative directory, e.g. `sys/devices/system/cpu/cpufreq/policy0`. */
  readonly path: string;
  /** Online CPUs governed by this policy. */
  readonly affectedCpus: readonly number[];
  /** All CPUs (online or not) that share this policy's hardware clock. */
  readonly relatedCpus: readonly number[];
  /** `acpi-cpufreq`, `intel_pstate`, `intel_cpufreq`, `amd-pstate`, `amd-pstate-epp`, `cppc_cpufreq`... */
  readonly driver: string;
  readonly governor: string;
  readonly availableGovernors: readonly string[];
  /** Hardware limits in kHz (intel_pstate and amd-pstate report the turbo maximum). */
  readonly cpuinfoMinKHz: number;
  readonly cpuinfoMaxKHz: number;
  /** Effective requested limits in kHz. */
  readonly scalingMinKHz: number;
  readonly scalingMaxKHz: number;
  /** Last requested or observed frequency in kHz: not a measurement. */
  readonly scalingCurKHz?: number;
  /** `scaling_available_frequencies` (acpi-cpufreq only), in the kernel's order (highest first). */
  readonly availableFrequenciesKHz?: readonly number[];
  /**
   * `scaling_setspeed`: the frequency in kHz under the `userspace` governor, `unsupported` under
   * any other governor, undefined when the file does not exist (setpolicy drivers).
   */
  readonly setspeed?: number | 'unsupported';
  /** Energy-performance preference (HWP / amd-pstate-epp): a name or a 0-255 value as text. */
  readonly epp?: string;
  readonly availableEpp?: readonly string[];
  /** Guaranteed (non-turbo) frequency in kHz (HWP only). */
  readonly baseFrequencyKHz?: number;
  /** `cpuinfo_transition_latency` in ns. */
  readonly transitionLatencyNs?: number;
}

async function readList(backend: SysfsBackend, path: string): Promise<number[]> {
  return parseCpuList(await backend.read(path), { source: fullPath(backend, path) });
}

function parseSetspeed(
  backend: SysfsBackend,
  path: string,
  text: string | undefined,
): number | 'unsupported' | undefined {
  if (text === undefined) return undefined;
  return text.trim() === '<unsupported>' ? 'unsupported' : parseIntStrict(backend, path, text);
}

/** Reads one policy; the required files are those every cpufreq driver provides. */
export async function readPolicy(backend: SysfsBackend, id: number): Promise<CpufreqPolicy> {
  const p = policyPath(id);
  const [
    speed,
    affectedCpus,
    relatedCpus,
    availableGovernors,
    scalingCurKHz,
    epp,
    availableEpp,
    baseFrequencyKHz,
    transitionLatencyNs,
  ] = await Promise.all([
    readSpeedControls(backend, id),
    readList(backend, `${p}/affected_cpus`),
    readList(backend, `${p}/related_cpus`),
    readOptionalWords(backend, `${p}/scaling_available_governors`),
    readOptionalInt(backend, `${p}/scaling_cur_freq`),
    readOptional(backend, `${p}/energy_performance_preference`),
    readOptionalWords(backend, `${p}/energy_performance_available_preferences`),
    readOptionalInt(backend, `${p}/base_frequency`),
    readOptionalInt(backend, `${p}/cpuinfo_transition_latency`),
  ]);
  return {
    id,
    path: p,
    affectedCpus,
    relatedCpus,
    driver: speed.driver,
    governor: speed.governor,
    availableGovernors: availableGovernors ?? [speed.governor],
    cpuinfoMinKHz: speed.cpuinfoMinKHz,
    cpuinfoMaxKHz: speed.cpuinfoMaxKHz,
    scalingMinKHz: speed.scalingMinKHz,
    scalingMaxKHz: speed.scalingMaxKHz,
    scalingCurKHz,
    availableFrequenciesKHz: speed.availableFrequenciesKHz,
    setspeed: speed.setspeed,
    epp: epp?.trim(),
    availableEpp,
    baseFrequencyKHz,
    transitionLatencyNs,
  };
}

/** Ids of the policies present, ascending. An empty list means no cpufreq driver is loaded. */
export async function listPolicyIds(backend: SysfsBackend): Promise<number[]> {
  return (await listIndexed(backend, CPUFREQ_DIR, /^policy(\d+)$/)).map((p) => p.index);
}

/** Reads every policy in one batch (all files of all policies are read concurrently). */
export async function readPolicies(backend: SysfsBackend): Promise<CpufreqPolicy[]> {
  const ids = await listPolicyIds(backend);
  return Promise.all(ids.map((id) => readPolicy(backend, id)));
}

/**
 * Reads the policy governing `cpu` (the one whose `related_cpus` lists it).
 *
 * @throws VpmdError E_HOST_NOT_FOUND when no policy covers the CPU.
 */
export async function readPolicyForCpu(backend: SysfsBackend, cpu: number): Promise<CpufreqPolicy> {
  const ids = await listPolicyIds(backend);
  const related = await Promise.all(ids.map((id) => readList(backend, `${policyPath(id)}/related_cpus`)));
  const index = related.findIndex((cpus) => cpus.includes(cpu));
  const id = ids[index];
  if (id === undefined) {
    throw new VpmdError(
      'E_HOST_NOT_FOUND',
      `No cpufreq policy under ${fullPath(backend, CPUFREQ_DIR)} covers CPU ${cpu} (${ids.length} policies)`,
      { cpu, policies: ids.map(String) },
    );
  }
  return readPolicy(backend, id);
}

/**
 * Reads one policy, failing with a clear error when it does not exist.
 *
 * @throws VpmdError E_HOST_NOT_FOUND naming the existing policies.
 */
export async function requirePolicy(backend: SysfsBackend, id: number): Promise<CpufreqPolicy> {
  await requirePolicyExists(backend, id);
  return readPolicy(backend, id);
}

/** What a speed write needs of a policy (see {@link requireSpeedControls}). */
export type SpeedControls = Pick<
  CpufreqPolicy,
  | 'id'
  | 'driver'
  | 'governor'
  | 'cpuinfoMinKHz'
  | 'cpuinfoMaxKHz'
  | 'scalingMinKHz'
  | 'scalingMaxKHz'
  | 'availableFrequenciesKHz'
  | 'setspeed'
>;

/**
 * Reads only what a `scaling_setspeed` write checks (8 files, not the policy's 16): guests of the
 * virtio channel ask for speeds thousands of times a second, and each optional file a driver
 * lacks costs a failed read.
 *
 * @throws VpmdError E_HOST_NOT_FOUND naming the existing policies.
 */
export async function requireSpeedControls(backend: SysfsBackend, id: number): Promise<SpeedControls> {
  await requirePolicyExists(backend, id);
  return readSpeedControls(backend, id);
}

/** The files of {@link SpeedControls}, also the core of {@link readPolicy}. */
async function readSpeedControls(backend: SysfsBackend, id: number): Promise<SpeedControls> {
  const p = policyPath(id);
  const [
    driver,
    governor,
    cpuinfoMinKHz,
    cpuinfoMaxKHz,
    scalingMinKHz,
    scalingMaxKHz,
    availableFrequencies,
    setspeedText,
  ] = await Promise.all([
    backend.read(`${p}/scaling_driver`),
    backend.read(`${p}/scaling_governor`),
    readInt(backend, `${p}/cpuinfo_min_freq`),
    readInt(backend, `${p}/cpuinfo_max_freq`),
    readInt(backend, `${p}/scaling_min_freq`),
    readInt(backend, `${p}/scaling_max_freq`),
    readOptionalWords(backend, `${p}/scaling_available_frequencies`),
    readOptional(backend, `${p}/scaling_setspeed`),
  ]);
  return {
    id,
    driver: driver.trim(),
    governor: governor.trim(),
    cpuinfoMinKHz,
    cpuinfoMaxKHz,
    scalingMinKHz,
    scalingMaxKHz,
    availableFrequenciesKHz: availableFrequencies?.map((f) =>
      parseIntStrict(backend, `${p}/scaling_available_frequencies`, f),
    ),
    setspeed: parseSetspeed(backend, `${p}/scaling_setspeed`, setspeedText),
  };
}

async function requirePolicyExists(backend: SysfsBackend, id: number): Promise<void> {
  if (!Number.isInteger(id) || id < 0 || !(await backend.exists(policyPath(id)))) {
    const ids = await listPolicyIds(backend);
    throw new VpmdError(
      'E_HOST_NOT_FOUND',
      `cpufreq policy ${id} does not exist under ${fullPath(backend, CPUFREQ_DIR)}; existing: ${
        ids.length === 0 ? 'none (no cpufreq driver)' : ids.map((i) => `policy${i}`).join(' ')
      }`,
      { policy: String(id), existing: ids.map(String) },
    );
  }
}
