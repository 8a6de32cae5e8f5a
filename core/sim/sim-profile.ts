/**
 * What a simulated host is made of: the profile types and the CPU layout derived from them.
 * Profiles are data (see `sim-profiles.ts`); the tree builders and the simulated kernel both
 * derive placement, policies and sensors from the same layout functions.
 */

/** Names of the built-in profiles. */
export type SimProfileName =
  'intel-acpi-cpufreq-8' | 'intel-cpufreq-passive-16' | 'intel-pstate-hwp-32' | 'amd-pstate-epp-64' | 'arm-cppc-8';

/** One operating mode of the cpufreq driver (intel_pstate and amd_pstate have several). */
export interface SimCpufreqMode {
  /** `scaling_driver`. */
  readonly driver: string;
  readonly governors: readonly string[];
  readonly defaultGovernor: string;
  /** `energy_performance_preference` present (HWP, amd-pstate-epp). */
  readonly epp: boolean;
  /** `base_frequency` present (HWP). */
  readonly baseFrequency: boolean;
  /**
   * setpolicy drivers (intel_pstate active, amd-pstate-epp) pick the frequency in hardware:
   * their `powersave` follows the load and they have no `scaling_setspeed`.
   */
  readonly setpolicy: boolean;
  /** Numeric EPP values accepted (HWP takes 0-255; amd-pstate-epp names only). */
  readonly numericEpp: boolean;
}

/** Frequency scaling of a profile. Frequencies in kHz. */
export interface SimCpufreqSpec {
  readonly minKHz: number;
  /** `cpuinfo_max_freq`: the turbo maximum, or for acpi-cpufreq the turbo entry (nominal + 1000). */
  readonly maxKHz: number;
  /** Highest frequency without turbo. */
  readonly nominalKHz: number;
  /** `base_frequency` for HWP. */
  readonly baseKHz?: number;
  /** `scaling_available_frequencies` (acpi-cpufreq), highest first. */
  readonly table?: readonly number[];
  readonly latencyNs: number;
  /** Turbo switch: `cpufreq/boost`, `intel_pstate/no_turbo`, or none. */
  readonly turbo: 'boost' | 'no_turbo' | 'none';
  /** Driver whose `status` file selects the mode. */
  readonly statusDriver?: 'intel_pstate' | 'amd_pstate';
  readonly initialMode: string;
  /** Modes by status value; null = no cpufreq driver (`off`, `disable`). */
  readonly modes: Readonly<Record<string, SimCpufreqMode | null>>;
}

/** One idle state. */
export interface SimIdleState {
  readonly name: string;
  readonly desc: string;
  readonly latencyUs: number;
  readonly residencyUs: number;
  /** Fraction of active power an idle CPU draws when this is its deepest enabled state. */
  readonly idlePower: number;
}

/** One cache level as seen from a CPU. */
export interface SimCache {
  readonly level: number;
  readonly type: 'Data' | 'Instruction' | 'Unified';
  readonly sizeKiB: number;
  /** How many physical cores share one instance (1 = per core; coresPerPackage = per package). */
  readonly coresPerInstance: number;
}

/** Power and thermal model parameters (per package). */
export interface SimPowerSpec {
  readonly packageIdleW: number;
  readonly packageMaxW: number;
  readonly dramIdleW?: number;
  readonly dramMaxW?: number;
  /** Rest of the machine, reported by a `power_meter` hwmon when the profile has one. */
  readonly platformW?: number;
  readonly ambientC: number;
  /** Steady-state rise per watt of package power (°C/W). */
  readonly thermalResistance: number;
  /** First-order thermal time constant in s. */
  readonly thermalTimeConstantS: number;
  /** Thermal design point: the long-term RAPL limit, W. */
  readonly tdpW: number;
}

/** Sensors and platform devices. */
export interface SimPlatformSpec {
  /** Powercap naming; undefined = no RAPL (Arm, VMs). */
  readonly rapl?: { readonly prefix: 'intel-rapl' | 'amd-rapl'; readonly subdomain?: 'dram' | 'core' };
  /** Thermal zone types, in order; `x86_pkg_temp` and `cpu-thermal` repeat per package. */
  readonly zones: readonly ('acpitz' | 'x86_pkg_temp' | 'cpu-thermal')[];
  /** Per-package temperature chip. */
  readonly cpuHwmon?: 'coretemp' | 'k10temp';
  /** Board chips: `nct6775` (fans, voltage) or `power_meter` (platform power). */
  readonly boardHwmon: readonly ('nct6775' | 'power_meter')[];
  readonly sleep: { readonly state: string; readonly memSleep?: string; readonly disk?: string };
  readonly rtcName: string;
  readonly cmdline: string;
}

/** CPU identity for `/proc/cpuinfo`. */
export interface SimCpuIdentity {
  readonly vendor: string;
  readonly modelName: string;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  readonly flags: readonly string[];
  /** Arm: `CPU implementer` and `CPU part` in hex. */
  readonly armImplementer?: string;
  readonly armPart?: string;
}

/** A complete simulated host. */
export interface SimProfile {
  readonly name: SimProfileName;
  readonly description: string;
  readonly arch: 'x86_64' | 'aarch64';
  readonly identity: SimCpuIdentity;
  readonly packages: number;
  readonly coresPerPackage: number;
  readonly threadsPerCore: number;
  readonly numaNodes: number;
  readonly memKiB: number;
  readonly cpufreq: SimCpufreqSpec;
  readonly cpuidle: { readonly driver: string; readonly governor: string; readonly states: readonly SimIdleState[] };
  readonly caches: readonly SimCache[];
  readonly power: SimPowerSpec;
  readonly platform: SimPlatformSpec;
}

/** Where a CPU sits. Linux numbers first threads of all cores, then their siblings. */
export interface SimPlacement {
  readonly cpu: number;
  readonly package: number;
  /** Core index within its package. */
  readonly core: number;
  /** Core index across the machine. */
  readonly globalCore: number;
  readonly thread: number;
  readonly node: number;
}

/** Number of CPUs of a profile. */
export function cpuCount(p: SimProfile): number {
  return p.packages * p.coresPerPackage * p.threadsPerCore;
}

/** All CPU numbers of a profile. */
export function allCpus(p: SimProfile): number[] {
  return Array.from({ length: cpuCount(p) }, (_, i) => i);
}

/** Placement of one CPU. */
export function placement(p: SimProfile, cpu: number): SimPlacement {
  const cores = p.packages * p.coresPerPackage;
  const globalCore = cpu % cores;
  return {
    cpu,
    package: Math.floor(globalCore / p.coresPerPackage),
    core: globalCore % p.coresPerPackage,
    globalCore,
    thread: Math.floor(cpu / cores),
    node: Math.floor((globalCore * p.numaNodes) / cores),
  };
}

/** CPUs sharing a physical core with `cpu` (itself included). */
export function threadSiblings(p: SimProfile, cpu: number): number[] {
  const cores = p.packages * p.coresPerPackage;
  const core = cpu % cores;
  return Array.from({ length: p.threadsPerCore }, (_, t) => core + t * cores);
}

/** CPUs whose placement satisfies `pred`, ascending. */
export function cpusWhere(p: SimProfile, pred: (pl: SimPlacement) => boolean): number[] {
  return allCpus(p).filter((cpu) => pred(placement(p, cpu)));
}
