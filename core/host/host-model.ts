/**
 * The host model facade: one object exposing every power knob of the host, grouped by area,
 * over a {@link SysfsBackend} (the real `/`, a copied tree, or the simulated kernel).
 */
import { readCpuidleInfo, readCpuIdleStates, readIdleStatesOf, setIdleStateDisabled } from './cpuidle.js';
import type { CpuIdleStates, CpuidleInfo, CpuidleState } from './cpuidle.js';
import {
  readPolicies,
  readPolicyForCpu,
  requirePolicy,
  surveyPolicies,
  type CpufreqPolicy,
  type CpufreqSurvey,
} from './cpufreq.js';
import { setEpp, setGovernor, setLimits, setSpeed, type LimitsResult, type SpeedResult } from './cpufreq-writers.js';
import { parseCmdline } from './proc-files.js';
import { readEnergyUj, readRaplDomains, setPowerLimit, surveyRapl, type RaplDomain, type RaplSurvey } from './rapl.js';
import { RealSysfs } from './real-sysfs.js';
import { readDmi, type HostDmi } from './dmi.js';
import { clearWakeAlarm, readRtc, setWakeAlarm, type RtcState } from './rtc.js';
import { readSleepStates, setDiskMode, setMemSleep, type SleepChoice, type SleepStates } from './sleep.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { readHwmonChips, readThermalZones, type HwmonChip, type ThermalZone } from './thermal.js';
import { readCmdline, readTopology, type HostTopology } from './topology.js';
import { readDriverStatus, readTurbo, setDriverStatus, setTurbo, type DriverStatus, type TurboState } from './turbo.js';

/** CPU frequency scaling (kHz throughout). */
export interface HostCpufreq {
  /** Every controllable policy, read in one batch. */
  policies(): Promise<CpufreqPolicy[]>;
  /** Every policy found, with the attributes that could not be read (degraded, inactive). */
  survey(): Promise<CpufreqSurvey>;
  /** One policy by id (E_HOST_NOT_FOUND naming the existing ones). */
  policy(id: number): Promise<CpufreqPolicy>;
  /** The policy governing a CPU. */
  policyForCpu(cpu: number): Promise<CpufreqPolicy>;
  /** Sets the governor (must be offered: E_HOST_INVALID otherwise). */
  setGovernor(id: number, governor: string): Promise<void>;
  /** Sets limits; returns the effective values (`clamped` when the kernel clamped). */
  setLimits(id: number, limits: { readonly minKHz?: number; readonly maxKHz?: number }): Promise<LimitsResult>;
  /** Sets the speed under the userspace governor. */
  setSpeed(id: number, kHz: number): Promise<SpeedResult>;
  /** Sets the energy-performance preference. */
  setEpp(id: number, value: string | number): Promise<void>;
  /** Turbo support and state. */
  turbo(): Promise<TurboState>;
  /** Enables or disables turbo (E_HOST_UNSUPPORTED without a switch). */
  setTurbo(enabled: boolean): Promise<TurboState>;
  /** intel_pstate / amd_pstate operating mode, undefined with other drivers. */
  driverStatus(): Promise<DriverStatus | undefined>;
  /** Switches the P-state driver mode (resets every policy's settings). */
  setDriverStatus(status: string): Promise<DriverStatus>;
}

/** CPU idle states. */
export interface HostCpuidle {
  /** Driver and governor. */
  info(): Promise<CpuidleInfo>;
  /** States of one CPU. */
  states(cpu: number): Promise<CpuidleState[]>;
  /** States of several CPUs in one batch. */
  statesOf(cpus: readonly number[]): Promise<CpuIdleStates[]>;
  /** Enables or disables a state (by index or name) on one CPU. */
  setStateDisabled(cpu: number, state: number | string, disabled: boolean): Promise<void>;
}

/** RAPL energy domains (raw µJ / µW). */
export interface HostRapl {
  /** Domains that can be metered. */
  domains(): Promise<RaplDomain[]>;
  /** Every zone found, with the attributes that could not be read. */
  survey(): Promise<RaplSurvey>;
  /** Raw counter of one zone (`intel-rapl:0`) in µJ. */
  energyUj(id: string): Promise<number>;
  /** Sets a constraint's power limit in µW. */
  setPowerLimit(id: string, constraint: number, limitUw: number): Promise<void>;
}

/** Temperatures, fans, power and voltage sensors. */
export interface HostThermal {
  zones(): Promise<ThermalZone[]>;
  hwmon(): Promise<HwmonChip[]>;
}

/** The kernel's sleep states. */
export interface HostSleep {
  states(): Promise<SleepStates>;
  setMemSleep(mode: string): Promise<SleepChoice>;
  setDiskMode(mode: string): Promise<SleepChoice>;
}

/** The RTC wake alarm (epoch seconds). */
export interface HostRtc {
  read(device?: string): Promise<RtcState>;
  setWakeAlarm(epochSeconds: number, device?: string): Promise<RtcState>;
  clearWakeAlarm(device?: string): Promise<void>;
}

/** Every power knob of the host. */
export interface HostModel {
  /** The files underneath. */
  readonly backend: SysfsBackend;
  topology(): Promise<HostTopology>;
  /** `/proc/cmdline` as text. */
  cmdline(): Promise<string>;
  /** `/proc/cmdline` parsed: `key=value` → value, bare `key` → true. */
  cmdlineParams(): Promise<Map<string, string | true>>;
  readonly cpufreq: HostCpufreq;
  readonly cpuidle: HostCpuidle;
  readonly rapl: HostRapl;
  readonly thermal: HostThermal;
  readonly sleep: HostSleep;
  readonly rtc: HostRtc;
  /** SMBIOS identity from `/sys/class/dmi/id` (`{}` when the host has none). */
  dmi(): Promise<HostDmi>;
}

/** Creates the host model over a backend (default: the real filesystem at `/`). */
export function createHostModel(backend: SysfsBackend = new RealSysfs()): HostModel {
  const b = backend;
  return {
    backend,
    topology: () => readTopology(b),
    cmdline: () => readCmdline(b),
    cmdlineParams: async () => parseCmdline(await readCmdline(b)),
    cpufreq: {
      policies: () => readPolicies(b),
      survey: () => surveyPolicies(b),
      policy: (id) => requirePolicy(b, id),
      policyForCpu: (cpu) => readPolicyForCpu(b, cpu),
      setGovernor: (id, governor) => setGovernor(b, id, governor),
      setLimits: (id, limits) => setLimits(b, id, limits),
      setSpeed: (id, kHz) => setSpeed(b, id, kHz),
      setEpp: (id, value) => setEpp(b, id, value),
      turbo: () => readTurbo(b),
      setTurbo: (enabled) => setTurbo(b, enabled),
      driverStatus: () => readDriverStatus(b),
      setDriverStatus: (status) => setDriverStatus(b, status),
    },
    cpuidle: {
      info: () => readCpuidleInfo(b),
      states: (cpu) => readCpuIdleStates(b, cpu),
      statesOf: (cpus) => readIdleStatesOf(b, cpus),
      setStateDisabled: (cpu, state, disabled) => setIdleStateDisabled(b, cpu, state, disabled),
    },
    rapl: {
      domains: () => readRaplDomains(b),
      survey: () => surveyRapl(b),
      energyUj: (id) => readEnergyUj(b, id),
      setPowerLimit: (id, constraint, limitUw) => setPowerLimit(b, id, constraint, limitUw),
    },
    thermal: {
      zones: () => readThermalZones(b),
      hwmon: () => readHwmonChips(b),
    },
    sleep: {
      states: () => readSleepStates(b),
      setMemSleep: (mode) => setMemSleep(b, mode),
      setDiskMode: (mode) => setDiskMode(b, mode),
    },
    rtc: {
      read: (device) => readRtc(b, device),
      setWakeAlarm: (epochSeconds, device) => setWakeAlarm(b, epochSeconds, device),
      clearWakeAlarm: (device) => clearWakeAlarm(b, device),
    },
    dmi: () => readDmi(b),
  };
}
