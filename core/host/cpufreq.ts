/**
 * Reading cpufreq policies (`cpu/cpufreq/policyN` or per-CPU `cpuN/cpufreq`, see
 * `cpufreq-discovery.ts`). Frequencies stay in kHz, as the kernel writes them; the transition
 * latency is in ns. Every attribute is read on its own: a file that is missing, empty, garbled
 * or refuses to be read makes that attribute unavailable and the policy degraded, never the
 * whole read fail. A policy without the six files control needs (driver, governor, hardware and
 * scaling limits) is listed by {@link surveyPolicies} but not by {@link readPolicies}.
 */
import { VpmdError } from '../errors.js';
import {
  CPU_DIR,
  CPUFREQ_DIR,
  locatePolicies,
  requirePolicyLocation,
  type PolicyLocation,
} from './cpufreq-discovery.js';
import { FaultLog, type HostFault } from './host-faults.js';
import { attrCpuList, attrInt, attrIntList, attrText, attrWords, parseIntAttr } from './sysfs-attr.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath } from './sysfs-read.js';

export { CPUFREQ_DIR, listPolicyIds, locatePolicies, policyPath, type PolicyLocation } from './cpufreq-discovery.js';

/** ACPI CPPC performance levels of a policy's first CPU (`cpuN/acpi_cppc`). */
export interface CppcInfo {
  readonly highestPerf?: number;
  readonly nominalPerf?: number;
  readonly lowestNonlinearPerf?: number;
  readonly lowestPerf?: number;
  /** `nominal_freq` in MHz (the guaranteed frequency). */
  readonly nominalFreqMHz?: number;
  readonly lowestFreqMHz?: number;
}

/** amd-pstate's own attributes of a policy. */
export interface AmdPstateInfo {
  readonly highestPerf?: number;
  /** `amd_pstate_max_freq` in kHz. */
  readonly maxFreqKHz?: number;
  readonly lowestNonlinearFreqKHz?: number;
  /** Preferred-core ranking (higher runs first), kernels 6.9+. */
  readonly prefcoreRanking?: number;
}

/** One cpufreq policy: a group of CPUs scaled together, with everything control needs. */
export interface CpufreqPolicy {
  /** N of `policyN` (the first CPU of a per-CPU policy). */
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
  /** ACPI CPPC levels, when the firmware exposes them. */
  readonly cppc?: CppcInfo;
  /** amd-pstate's attributes, with amd-pstate(-epp). */
  readonly amdPstate?: AmdPstateInfo;
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** The attributes control cannot do without. */
type ControlKey = 'driver' | 'governor' | 'cpuinfoMinKHz' | 'cpuinfoMaxKHz' | 'scalingMinKHz' | 'scalingMaxKHz';

/** A policy as read, whatever could be: every attribute may be unavailable. */
export type PolicyReading = Partial<Omit<CpufreqPolicy, 'id' | 'path' | 'faults'>> & {
  readonly id: number;
  readonly path: string;
  readonly layout: PolicyLocation['layout'];
  /** Some attribute could not be read. */
  readonly degraded: boolean;
  /** All of driver, governor and the limits are readable: the policy can be controlled. */
  readonly controllable: boolean;
  /** Every read refused with EBUSY: the kernel's answer for a policy whose CPUs are all offline. */
  readonly inactive: boolean;
  readonly faults: readonly HostFault[];
};

/** Every policy found, controllable or not. */
export interface CpufreqSurvey {
  readonly policies: readonly PolicyReading[];
  /** Faults of discovery itself (an unlistable directory). */
  readonly faults: readonly HostFault[];
}

/** What a speed write needs of a policy (see {@link requireSpeedControls}). */
export type SpeedControls = Pick<
  CpufreqPolicy,
  | 'id'
  | 'path'
  | 'driver'
  | 'governor'
  | 'cpuinfoMinKHz'
  | 'cpuinfoMaxKHz'
  | 'scalingMinKHz'
  | 'scalingMaxKHz'
  | 'availableFrequenciesKHz'
  | 'setspeed'
>;

type SpeedReading = Partial<Omit<SpeedControls, 'id' | 'path'>>;

/** The files of {@link SpeedControls}, also the core of {@link readPolicyReading}. */
async function readSpeedFiles(backend: SysfsBackend, p: string, log: FaultLog): Promise<SpeedReading> {
  const req = { required: true };
  const [driver, governor, cpuinfoMin, cpuinfoMax, scalingMin, scalingMax, frequencies, setspeedText] =
    await Promise.all([
      attrText(backend, `${p}/scaling_driver`, log, req),
      attrText(backend, `${p}/scaling_governor`, log, req),
      attrInt(backend, `${p}/cpuinfo_min_freq`, log, req),
      attrInt(backend, `${p}/cpuinfo_max_freq`, log, req),
      attrInt(backend, `${p}/scaling_min_freq`, log, req),
      attrInt(backend, `${p}/scaling_max_freq`, log, req),
      attrIntList(backend, `${p}/scaling_available_frequencies`, log),
      attrText(backend, `${p}/scaling_setspeed`, log),
    ]);
  let setspeed: number | 'unsupported' | undefined;
  if (setspeedText === '<unsupported>') setspeed = 'unsupported';
  else if (setspeedText !== undefined) {
    setspeed = parseIntAttr(backend, `${p}/scaling_setspeed`, setspeedText, log);
  }
  return {
    driver,
    governor,
    cpuinfoMinKHz: cpuinfoMin,
    cpuinfoMaxKHz: cpuinfoMax,
    scalingMinKHz: scalingMin,
    scalingMaxKHz: scalingMax,
    availableFrequenciesKHz: frequencies,
    setspeed,
  };
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

async function readCppc(backend: SysfsBackend, cpu: number, log: FaultLog): Promise<CppcInfo | undefined> {
  const dir = `${CPU_DIR}/cpu${cpu}/acpi_cppc`;
  const names = ['highest_perf', 'nominal_perf', 'lowest_nonlinear_perf', 'lowest_perf', 'nominal_freq', 'lowest_freq'];
  const [highestPerf, nominalPerf, lowestNonlinearPerf, lowestPerf, nominalFreqMHz, lowestFreqMHz] = await Promise.all(
    names.map((n) => attrInt(backend, `${dir}/${n}`, log)),
  );
  const info = defined({ highestPerf, nominalPerf, lowestNonlinearPerf, lowestPerf, nominalFreqMHz, lowestFreqMHz });
  return Object.keys(info).length === 0 ? undefined : info;
}

async function readAmdPstate(backend: SysfsBackend, p: string, log: FaultLog): Promise<AmdPstateInfo | undefined> {
  const names = ['highest_perf', 'max_freq', 'lowest_nonlinear_freq', 'prefcore_ranking'];
  const [highestPerf, maxFreqKHz, lowestNonlinearFreqKHz, prefcoreRanking] = await Promise.all(
    names.map((n) => attrInt(backend, `${p}/amd_pstate_${n}`, log)),
  );
  const info = defined({ highestPerf, maxFreqKHz, lowestNonlinearFreqKHz, prefcoreRanking });
  return Object.keys(info).length === 0 ? undefined : info;
}

/** Reads one located policy, attribute by attribute. */
export async function readPolicyReading(backend: SysfsBackend, loc: PolicyLocation): Promise<PolicyReading> {
  const p = loc.path;
  const log = new FaultLog();
  const req = { required: true };
  const [speed, affected, related, governors, cur, epp, availableEpp, base, latency] = await Promise.all([
    readSpeedFiles(backend, p, log),
    attrCpuList(backend, `${p}/affected_cpus`, log, req),
    attrCpuList(backend, `${p}/related_cpus`, log, req),
    attrWords(backend, `${p}/scaling_available_governors`, log, req),
    attrInt(backend, `${p}/scaling_cur_freq`, log, req),
    attrText(backend, `${p}/energy_performance_preference`, log),
    attrWords(backend, `${p}/energy_performance_available_preferences`, log),
    attrInt(backend, `${p}/base_frequency`, log),
    attrInt(backend, `${p}/cpuinfo_transition_latency`, log),
  ]);
  const relatedCpus = related ?? affected ?? [loc.id];
  const [cppc, amdPstate] = await Promise.all([
    readCppc(backend, relatedCpus[0] ?? loc.id, log),
    speed.driver?.startsWith('amd-pstate') === true ? readAmdPstate(backend, p, log) : undefined,
  ]);
  const faults = [...log.faults];
  const controllable = (
    ['driver', 'governor', 'cpuinfoMinKHz', 'cpuinfoMaxKHz', 'scalingMinKHz', 'scalingMaxKHz'] as ControlKey[]
  ).every((k) => speed[k] !== undefined);
  return {
    ...defined({
      ...speed,
      affectedCpus: affected ?? related,
      relatedCpus: related ?? affected,
      availableGovernors: governors ?? (speed.governor === undefined ? undefined : [speed.governor]),
      scalingCurKHz: cur,
      epp,
      availableEpp,
      baseFrequencyKHz: base,
      transitionLatencyNs: latency,
      cppc,
      amdPstate,
    }),
    id: loc.id,
    path: p,
    layout: loc.layout,
    degraded: faults.length > 0,
    controllable,
    inactive: faults.length > 0 && !controllable && faults.every((f) => f.reason === 'EBUSY'),
    faults,
  };
}

/** The control view of a reading, or undefined when it lacks what control needs. */
export function toPolicy(r: PolicyReading): CpufreqPolicy | undefined {
  if (!r.controllable) return undefined;
  const rest: Record<string, unknown> = { ...r };
  for (const k of ['layout', 'degraded', 'controllable', 'inactive', 'faults']) delete rest[k];
  const faults = r.faults;
  return {
    ...rest,
    affectedCpus: r.affectedCpus ?? [r.id],
    relatedCpus: r.relatedCpus ?? [r.id],
    availableGovernors: r.availableGovernors ?? [],
    ...(faults.length === 0 ? {} : { faults }),
  } as CpufreqPolicy;
}

/** Reads every policy found, controllable or not, in one batch. */
export async function surveyPolicies(backend: SysfsBackend): Promise<CpufreqSurvey> {
  const log = new FaultLog();
  const locations = await locatePolicies(backend, log);
  const policies = await Promise.all(locations.map((loc) => readPolicyReading(backend, loc)));
  return { policies, faults: [...log.faults] };
}

/** Reads every controllable policy (see {@link surveyPolicies} for the others). */
export async function readPolicies(backend: SysfsBackend): Promise<CpufreqPolicy[]> {
  const survey = await surveyPolicies(backend);
  return survey.policies.map(toPolicy).filter((p): p is CpufreqPolicy => p !== undefined);
}

function uncontrollable(backend: SysfsBackend, r: PolicyReading): VpmdError {
  const why = r.inactive
    ? 'all its CPUs are offline (the kernel answers EBUSY)'
    : r.faults.map((f) => `${f.file.slice(r.path.length + 1)} ${f.reason}`).join(', ');
  return new VpmdError(
    'E_HOST_UNSUPPORTED',
    `cpufreq policy${r.id} at ${fullPath(backend, r.path)} cannot be used: ${why}`,
    {
      policy: String(r.id),
      faults: r.faults.map((f) => `${f.file}: ${f.reason}`),
    },
  );
}

/** Reads one controllable policy by id. */
export async function readPolicy(backend: SysfsBackend, id: number): Promise<CpufreqPolicy> {
  return requirePolicy(backend, id);
}

/**
 * Reads one policy, failing with a clear error when it does not exist or cannot be controlled.
 *
 * @throws VpmdError E_HOST_NOT_FOUND naming the existing policies; E_HOST_UNSUPPORTED naming the
 *   attributes that could not be read.
 */
export async function requirePolicy(backend: SysfsBackend, id: number): Promise<CpufreqPolicy> {
  const reading = await readPolicyReading(backend, await requirePolicyLocation(backend, id));
  const policy = toPolicy(reading);
  if (policy === undefined) throw uncontrollable(backend, reading);
  return policy;
}

/**
 * Reads the controllable policy governing `cpu` (the one whose `related_cpus` lists it).
 *
 * @throws VpmdError E_HOST_NOT_FOUND when no policy covers the CPU.
 */
export async function readPolicyForCpu(backend: SysfsBackend, cpu: number): Promise<CpufreqPolicy> {
  const survey = await surveyPolicies(backend);
  const reading = survey.policies.find((p) => (p.relatedCpus ?? [p.id]).includes(cpu));
  if (reading === undefined) {
    throw new VpmdError(
      'E_HOST_NOT_FOUND',
      `No cpufreq policy under ${fullPath(backend, CPUFREQ_DIR)} covers CPU ${cpu} (${survey.policies.length} policies)`,
      { cpu, policies: survey.policies.map((p) => String(p.id)) },
    );
  }
  const policy = toPolicy(reading);
  if (policy === undefined) throw uncontrollable(backend, reading);
  return policy;
}

/**
 * Reads only what a `scaling_setspeed` write checks (8 files, not the policy's 16): guests of the
 * virtio channel ask for speeds thousands of times a second, and each optional file a driver
 * lacks costs a failed read.
 *
 * @throws VpmdError E_HOST_NOT_FOUND naming the existing policies; E_HOST_UNSUPPORTED when a
 *   file control needs cannot be read.
 */
export async function requireSpeedControls(backend: SysfsBackend, id: number): Promise<SpeedControls> {
  const loc = await requirePolicyLocation(backend, id);
  const log = new FaultLog();
  const s = await readSpeedFiles(backend, loc.path, log);
  const { driver, governor, cpuinfoMinKHz, cpuinfoMaxKHz, scalingMinKHz, scalingMaxKHz } = s;
  if (
    driver === undefined ||
    governor === undefined ||
    cpuinfoMinKHz === undefined ||
    cpuinfoMaxKHz === undefined ||
    scalingMinKHz === undefined ||
    scalingMaxKHz === undefined
  ) {
    throw uncontrollable(backend, {
      id,
      path: loc.path,
      layout: loc.layout,
      degraded: true,
      controllable: false,
      inactive: log.faults.every((f) => f.reason === 'EBUSY'),
      faults: log.faults,
    });
  }
  return {
    id,
    path: loc.path,
    driver,
    governor,
    cpuinfoMinKHz,
    cpuinfoMaxKHz,
    scalingMinKHz,
    scalingMaxKHz,
    ...defined({ availableFrequenciesKHz: s.availableFrequenciesKHz, setspeed: s.setspeed }),
  };
}
