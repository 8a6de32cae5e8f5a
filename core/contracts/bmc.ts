/**
 * Managed BMCs, whatever protocol they speak. Each plugin that drives BMCs provides a
 * {@link BmcDriver} under its own token (`bmc-driver.ipmi@1` from `ipmi`, `bmc-driver.redfish@1`
 * from `redfish`); the core provides `bmcs@1`, one router over every running driver, so
 * consumers (`vpmctl wake TARGET`, Redfish and SNMP northbound, the power controller) never ask
 * which plugin polls a BMC and no plugin imports another. Target names are unique across
 * drivers (the router refuses to start a second target with a name already taken). Readings go
 * to the telemetry store with source plugin = the driver's plugin and target = BMC name; log
 * entries become `hw.log.v1` events.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** Chassis actions (IPMI Chassis Control; Redfish `ResetType` On, ForceOff, PowerCycle, ForceRestart, GracefulShutdown). */
export type ChassisAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

/** The protocol a BMC is managed with. */
export type BmcProtocol = 'ipmi' | 'redfish';

/** One managed BMC as its poller sees it. */
export interface BmcTarget {
  readonly name: string;
  readonly protocol: BmcProtocol;
  readonly host: string;
  readonly port: number;
  readonly state: 'ok' | 'degraded' | 'failed' | 'unknown';
  readonly power?: 'on' | 'off';
  readonly lastPoll?: number;
  readonly detail?: string;
  /** Marked in its driver's config as the BMC of the host vpmd runs on (`hostBmc: true`). */
  readonly hostBmc?: boolean;
}

/** What the BMC does when its power limit cannot be held (DCMI exception actions). */
export type PowerLimitException = 'none' | 'log' | 'power-off';

/** A BMC-enforced power limit (DCMI Get/Set Power Limit; Redfish `Control` of type Power). */
export interface BmcPowerLimit {
  /** The limit, watts. */
  readonly watts: number;
  /** Whether the BMC enforces it now (DCMI Activate; Redfish ControlMode not Disabled). */
  readonly active: boolean;
  /** How long the BMC may take to bring power under the limit, ms. */
  readonly correctionMs?: number;
  readonly exception?: PowerLimitException;
  /** What the BMC allows, watts, when it says. */
  readonly allowableMin?: number;
  readonly allowableMax?: number;
}

/** A change to a BMC's power limit; absent fields keep their value. `watts: null` deactivates. */
export interface BmcPowerLimitChange {
  readonly watts: number | null;
  readonly correctionMs?: number;
  readonly exception?: PowerLimitException;
}

/** A boot source override target, in Redfish's `BootSource` names (IPMI boot device selectors). */
export type BmcBootSource = 'None' | 'Pxe' | 'Hdd' | 'Cd' | 'Diags' | 'BiosSetup' | 'Floppy' | 'RemoteDrive';

/** The boot source override as the BMC reports it (IPMI boot flags, parameter 5). */
export interface BmcBootOverride {
  /** Disabled: the flags are not valid; Once: the next boot only; Continuous: every boot. */
  readonly enabled: 'Disabled' | 'Once' | 'Continuous';
  /** The device; absent when the BMC reports a selector with no Redfish name. */
  readonly target?: BmcBootSource;
  readonly mode: 'UEFI' | 'Legacy';
}

/** A change to the boot override; absent fields keep the BMC's current value. */
export interface BmcBootOverrideChange {
  readonly enabled?: BmcBootOverride['enabled'];
  readonly target?: BmcBootSource;
  readonly mode?: BmcBootOverride['mode'];
}

/** The fields of an IPMI SEL event record (record type 02h). */
export interface BmcSelRecord {
  readonly recordId: number;
  readonly recordType: number;
  /** Sensor type name as IPMI table 42-3 spells it ("Temperature", "Power Supply", ...). */
  readonly sensorType: string;
  readonly sensorTypeCode: number;
  readonly sensorNumber: number;
  readonly generatorId: number;
  /** Event/reading type code (01h threshold, 02h-0Ch generic, 6Fh sensor-specific). */
  readonly eventType: number;
  readonly direction: 'Asserted' | 'Deasserted';
  /** Event data 1-3. */
  readonly eventData: readonly [number, number, number];
}

/** One entry of a BMC's own log (the IPMI SEL), as the BMC holds it now. */
export interface BmcLogEntry {
  /** Stable while the log is not cleared. */
  readonly id: string;
  /** ms since the epoch; undefined when the BMC's clock was not set ("Pre-Init"). */
  readonly created?: number;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly message: string;
  readonly sel?: BmcSelRecord;
}

/**
 * One protocol's BMCs, provided by the plugin that polls them. Every method throws the
 * driver's coded errors; `chassis`, `identify` and `setPowerLimit` check the caller's privilege
 * (ConfigureComponents) and audit the action.
 */
export interface BmcDriver {
  readonly protocol: BmcProtocol;
  targets(): readonly BmcTarget[];
  chassis(target: string, action: ChassisAction, by: Principal): Promise<void>;
  /** Turns the chassis identify light on (for `seconds`, or until turned off) or off. */
  identify?(target: string, on: boolean, by: Principal, seconds?: number): Promise<void>;
  /** The BMC's power limit, or null when it has none set. @throws when the BMC offers no power limiting. */
  powerLimit?(target: string): Promise<BmcPowerLimit | null>;
  setPowerLimit?(target: string, change: BmcPowerLimitChange, by: Principal): Promise<BmcPowerLimit | null>;
  /** The identify light: true on, false off, null when the BMC does not report it and vpmd did not set it. */
  identifyState?(target: string): Promise<boolean | null>;
  bootOverride?(target: string): Promise<BmcBootOverride>;
  /** Privilege-checked (ConfigureComponents) and audited; returns what the BMC reports after. */
  setBootOverride?(target: string, change: BmcBootOverrideChange, by: Principal): Promise<BmcBootOverride>;
  /** Every entry of the BMC's own log, oldest first. */
  logEntries?(target: string): Promise<readonly BmcLogEntry[]>;
  /** Erases the BMC's log; privilege-checked (ConfigureComponents) and audited. */
  clearLog?(target: string, by: Principal): Promise<void>;
}

/** The router over every driver (`bmcs@1`, provided by the core). Unknown targets: E_BMC_NOT_FOUND. */
export interface Bmcs {
  /** Every target of every running driver, by driver then config order. */
  targets(): readonly BmcTarget[];
  chassis(target: string, action: ChassisAction, by: Principal): Promise<void>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver cannot identify. */
  identify(target: string, on: boolean, by: Principal, seconds?: number): Promise<void>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver offers no power limit. */
  powerLimit(target: string): Promise<BmcPowerLimit | null>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver offers no power limit. */
  setPowerLimit(target: string, change: BmcPowerLimitChange, by: Principal): Promise<BmcPowerLimit | null>;
  /**
   * The target marked as this host's own BMC, undefined when none is.
   * @throws E_BMC_CONFIG when more than one target is marked
   */
  hostBmc(): BmcTarget | undefined;
  /** @throws E_BMC_UNSUPPORTED when the target's driver cannot say */
  identifyState(target: string): Promise<boolean | null>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver has no boot override */
  bootOverride(target: string): Promise<BmcBootOverride>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver has no boot override */
  setBootOverride(target: string, change: BmcBootOverrideChange, by: Principal): Promise<BmcBootOverride>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver cannot read its BMC's log */
  logEntries(target: string): Promise<readonly BmcLogEntry[]>;
  /** @throws E_BMC_UNSUPPORTED when the target's driver cannot clear its BMC's log */
  clearLog(target: string, by: Principal): Promise<void>;
}

/** Token of {@link Bmcs}: provided by the core; any plugin may get it. */
export const BMCS = defineCapability<Bmcs>('bmcs@1');
/** The ipmi plugin's driver. */
export const IPMI_BMC_DRIVER = defineCapability<BmcDriver>('bmc-driver.ipmi@1');
/** The redfish plugin's driver (its Redfish BMC poller). */
export const REDFISH_BMC_DRIVER = defineCapability<BmcDriver>('bmc-driver.redfish@1');
/** Every driver token the router consults, in this order. */
export const BMC_DRIVERS: readonly (typeof IPMI_BMC_DRIVER)[] = [IPMI_BMC_DRIVER, REDFISH_BMC_DRIVER];
