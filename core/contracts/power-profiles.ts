/**
 * Power profiles as other plugins see them (`power-profiles@1`, provided by the `profiles`
 * plugin): the profiles, the CPU pools they run on, and the Redfish `ComputerSystem.PowerMode`
 * they map to. Redfish and SNMP read it; Redfish may set the power mode.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** Redfish `ComputerSystem.PowerMode` values (schema ComputerSystem v1.15+). */
export const REDFISH_POWER_MODES = [
  'MaximumPerformance',
  'BalancedPerformance',
  'PowerSaving',
  'Static',
  'OSControlled',
  'OEM',
  'EfficiencyFavorPower',
  'EfficiencyFavorPerformance',
] as const;
export type RedfishPowerMode = (typeof REDFISH_POWER_MODES)[number];

/** One profile and where it runs. */
export interface PowerProfileInfo {
  readonly name: string;
  readonly description?: string;
  /** Pools running it now. */
  readonly pools: readonly string[];
  readonly governor?: string;
  readonly epp?: string;
  readonly minKHz?: number;
  readonly maxKHz?: number;
  readonly turbo?: boolean;
  /** PM QoS resume-latency bound, µs (0 = poll only). */
  readonly resumeLatencyUs?: number;
  readonly uncoreMinKHz?: number;
  readonly uncoreMaxKHz?: number;
}

/** One CPU pool. */
export interface PowerPoolInfo {
  readonly name: string;
  /** Host CPUs, ascending, as last resolved. */
  readonly cpus: readonly number[];
  /** `cpus 2-3` or `latency class realtime`. */
  readonly source: string;
  readonly profile?: string;
}

/** The capability. */
export interface PowerProfiles {
  profiles(): readonly PowerProfileInfo[];
  pools(): readonly PowerPoolInfo[];
  /** The mode whose pool assignments are in force (`OEM` when none matches, `OSControlled` when no pool runs a profile). */
  powerMode(): { readonly mode: RedfishPowerMode; readonly allowed: readonly RedfishPowerMode[] };
  /** Applies the pool assignments configured for `mode`. @throws E_PROFILES_INVALID for a mode not configured. */
  setPowerMode(mode: string, by: Principal): Promise<void>;
  /** Runs `profile` on `pool`. */
  apply(pool: string, profile: string, by: Principal): Promise<void>;
}

/** Token of {@link PowerProfiles}. */
export const POWER_PROFILES = defineCapability<PowerProfiles>('power-profiles@1');
