/**
 * Host sleep states and suspend/resume: provided by `libvirt-caps` (logind + /sys/power),
 * consumed by Redfish (ComputerSystem.Reset Suspend/Resume), SNMP (sleep capabilities, suspend
 * SET) and vpmctl. The provider checks the privilege (ConfigureComponents) for the caller.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** A sleep target as logind names its operations. */
export type SleepTarget = 'mem' | 'disk' | 'hybrid' | 'suspend-then-hibernate';

/** logind's answer to Can*(): "yes"/"challenge" count as supported (as libvirt decides). */
export type LogindAnswer = 'yes' | 'no' | 'challenge' | 'na' | 'unavailable';

/** Whether one target is supported, and why. */
export interface SleepTargetSupport {
  readonly target: SleepTarget;
  readonly supported: boolean;
  readonly logind: LogindAnswer;
  /** The kernel's own view, e.g. `mem offered, mem_sleep [s2idle] only: not S3`. */
  readonly kernel: string;
  /** Whether `/sys/power` offers what this target needs (informative: `supported` follows logind, as libvirt). */
  readonly kernelOffers?: boolean;
}

/** A bracketed kernel choice list (`s2idle [deep]`). */
export interface KernelSleepChoice {
  readonly options: readonly string[];
  readonly selected?: string;
}

/** The kernel's own view of system sleep (`/sys/power/{state,mem_sleep,disk}`). */
export interface KernelSleepView {
  readonly states: readonly string[];
  readonly memSleep?: KernelSleepChoice;
  readonly disk?: KernelSleepChoice;
  /** `mem` offered with `deep` among the mem_sleep modes. */
  readonly s3: boolean;
  /** `disk` offered. */
  readonly s4: boolean;
  readonly s2idle: boolean;
}

/** The outcome of discovery. */
export interface SleepSupport {
  readonly targets: readonly SleepTargetSupport[];
  /** When discovery ran (ms since epoch). */
  readonly discoveredAt: number;
  /** Set when logind was missing or did not answer in time. */
  readonly logindProblem?: string;
  /** The kernel's view the per-target `kernel` texts were derived from. */
  readonly kernel?: KernelSleepView;
}

/** A suspend request. */
export interface SuspendRequest {
  readonly target: SleepTarget;
  /** Seconds from now, or an absolute time (ms since epoch) for the RTC wake alarm. */
  readonly wakeAfterSeconds?: number;
  readonly wakeAt?: number;
  readonly dryRun?: boolean;
}

/** What a suspend did (or would do, with dryRun). */
export interface SuspendOutcome {
  readonly target: SleepTarget;
  readonly wakeAlarm?: number;
  readonly steps: readonly string[];
  readonly dryRun: boolean;
}

/** Power state of the host as the provider knows it. */
export type HostPowerState = 'on' | 'suspending' | 'suspended' | 'resuming';

/** The host-sleep capability. */
export interface HostSleepControl {
  support(): Promise<SleepSupport>;
  rediscover(): Promise<SleepSupport>;
  state(): HostPowerState;
  /** @throws VpmdError E_ACCESS_DENIED, E_HOST_UNSUPPORTED, E_COMMAND_USAGE (wake time), conflict when one is in flight. */
  suspend(req: SuspendRequest, by: Principal): Promise<SuspendOutcome>;
}

/** Token of {@link HostSleepControl}. */
export const HOST_SLEEP = defineCapability<HostSleepControl>('host-sleep@1');

/** The capabilities documents (libvirt XML and vpmd's power document). */
export interface CapabilitiesDocuments {
  /** libvirt capabilities XML for the host (validates against capability.rng). */
  libvirtXml(): Promise<string>;
  /** vpmd's own power document (JSON), documented with a schema. */
  powerDocument(): Promise<Record<string, unknown>>;
}

/** Token of {@link CapabilitiesDocuments}. */
export const CAPABILITIES_DOCUMENTS = defineCapability<CapabilitiesDocuments>('capabilities-documents@1');
