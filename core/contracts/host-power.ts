/**
 * Host power: suspend, power-off and reboot of the host vpmd runs on, through systemd-logind
 * and the systemd manager over D-Bus. Provided by the core itself, not by a plugin, so any
 * plugin gets it with `ctx.capabilities.get(HOST_POWER)` without declaring it (declaring it under
 * `requires` documents the dependency). Consumers: libvirt-caps (discovery, suspend, resume) and
 * Redfish (ComputerSystem.Reset). Every call is bounded by `hostPower.timeout`; every action
 * checks ConfigureComponents for the caller and is audited with its cause.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';
import type { LogindAnswer, SleepTarget } from './host-sleep.js';

/** `graceful`: logind, services stopped in order; `force`: the systemd manager, processes killed. */
export type PowerMode = 'graceful' | 'force';

/** Whether one way of powering off or rebooting is possible now, and why (or why not). */
export interface PowerOffer {
  readonly offered: boolean;
  /** What it calls when offered (`systemd-logind PowerOff`), the reason when not. */
  readonly why: string;
}

/** What the host can do now: each operation in each mode. */
export interface HostPowerOffers {
  readonly powerOff: Readonly<Record<PowerMode, PowerOffer>>;
  readonly reboot: Readonly<Record<PowerMode, PowerOffer>>;
  /** When the answers were gathered (ms since epoch); they are kept a few seconds. */
  readonly at: number;
}

/** An inhibitor lock: held while its file descriptor is open. */
export interface InhibitorLock {
  readonly fd: number;
  readonly mode: 'block' | 'delay';
  /** Closes the fd (idempotent): logind then releases the lock. */
  release(): void;
}

/** How logind took a sleep verb: `<Verb>WithFlags(flags)`, or `<Verb>(false)` on an older logind. */
export type SleepCallForm = 'WithFlags' | 'plain';

/** A request to put the host to sleep. */
export interface SleepCall {
  readonly target: SleepTarget;
  /** Flags of `*WithFlags` (1: block inhibitors bind vpmd too). */
  readonly flags: bigint;
  /** RTC wake alarm (epoch seconds): cleared, written and read back before the call, cleared again if it fails. */
  readonly wakeAlarm?: number;
  /** RTC device of the alarm (default rtc0). */
  readonly rtcDevice?: string;
}

/** What a sleep call did. */
export interface SleepCallOutcome {
  readonly form: SleepCallForm;
  /** What was done, in order, as an operator reads it. */
  readonly steps: readonly string[];
}

/**
 * A long-lived connection to systemd-logind: sleep questions, sleep calls, inhibitor locks and
 * PrepareForSleep. The holder closes it; {@link usable} turns false when the bus failed.
 */
export interface LogindSession {
  /** The bus address it is connected to. */
  readonly address: string;
  /** False once the connection failed or was closed: open a new one. */
  readonly usable: boolean;
  /** logind's Can* answer for `target`. @throws VpmdError E_HOST_POWER_* */
  can(target: SleepTarget): Promise<Exclude<LogindAnswer, 'unavailable'>>;
  /** Takes an inhibitor lock (`what`: colon list such as `sleep`). @throws VpmdError E_HOST_POWER_* */
  inhibit(what: string, who: string, why: string, mode: 'block' | 'delay'): Promise<InhibitorLock>;
  /**
   * Sets the wake alarm (when asked) and calls logind's sleep verb; clears the alarm again when
   * the call fails. Checks ConfigureComponents for `by` and audits the call with `cause`.
   * @throws VpmdError E_ACCESS_DENIED, E_HOST_* (RTC), E_HOST_POWER_*
   */
  suspend(call: SleepCall, by: Principal, cause: string): Promise<SleepCallOutcome>;
  /** Calls `fn(start)` on every PrepareForSleep; returns an unsubscribe function. */
  onPrepareForSleep(fn: (start: boolean) => void): () => void;
  /** Disconnects (idempotent). */
  close(): void;
}

/** The host-power capability. */
export interface HostPower {
  /** The bus logind and the systemd manager are asked on, or why none is used (simulated host). */
  readonly bus: { readonly address: string } | { readonly address?: undefined; readonly why: string };
  /** What can be done now, each with its reason; cached a few seconds unless `fresh`. Never throws. */
  offers(opts?: { readonly fresh?: boolean }): Promise<HostPowerOffers>;
  /** Opens a logind connection, within the timeout. @throws VpmdError E_HOST_POWER_* */
  openLogind(): Promise<LogindSession>;
  /**
   * Powers the host off: `graceful` through logind `PowerOff(false)`, `force` through the systemd
   * manager's `PowerOff()`. Checks ConfigureComponents, refuses what is not offered, audits with
   * `cause`, emits `host.power.v1` `off`. @returns what was done
   * @throws VpmdError E_ACCESS_DENIED, E_HOST_POWER_NOT_OFFERED, E_HOST_POWER_*
   */
  powerOff(mode: PowerMode, by: Principal, cause: string): Promise<string>;
  /** Reboots the host (logind `Reboot(false)` or the manager's `Reboot()`); as {@link powerOff}. */
  reboot(mode: PowerMode, by: Principal, cause: string): Promise<string>;
}

/** Token of {@link HostPower}. */
export const HOST_POWER = defineCapability<HostPower>('host-power@1');
