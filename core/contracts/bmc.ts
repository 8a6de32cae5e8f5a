/**
 * Managed BMCs over IPMI: provided by `ipmi`, consumed by `libvirt-caps` (`vpmctl wake TARGET`
 * through chassis power-on), Redfish and SNMP (entities for the BMCs we poll). Readings go to
 * the telemetry store with source plugin `ipmi` and target = BMC name; SEL entries become
 * `hw.log.v1` events.
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** Chassis actions (IPMI Chassis Control). */
export type ChassisAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

/** One managed BMC as the poller sees it. */
export interface BmcTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly state: 'ok' | 'degraded' | 'failed' | 'unknown';
  readonly power?: 'on' | 'off';
  readonly lastPoll?: number;
  readonly detail?: string;
}

/** The BMC capability. */
export interface Bmcs {
  targets(): readonly BmcTarget[];
  /** @throws E_ACCESS_DENIED (needs ConfigureComponents), not-found for an unknown target. */
  chassis(target: string, action: ChassisAction, by: Principal): Promise<void>;
}

/** Token of {@link Bmcs}. */
export const BMCS = defineCapability<Bmcs>('bmcs@1');
