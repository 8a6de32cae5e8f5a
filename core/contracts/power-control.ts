/**
 * The host's power controller (`power-control@1`, provided by the `power` plugin): the host
 * power cap, per-VM budgets and the facility limits, so Redfish (`Chassis/{id}/Controls/PowerLimit`,
 * `EnvironmentMetrics.PowerLimitWatts`) and SNMP (VPMD-MIB `vpmdPowerCap*`) show and set the same
 * policy `vpmctl power` does without importing the plugin. Every setter checks the caller's
 * privilege (ConfigureComponents), audits the change and persists it; the controller applies it
 * within one control period (see docs/power-control.md).
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** How the cap is enforced now (Redfish `ControlMode`). */
export type PowerCapMode = 'Automatic' | 'Disabled';

/** Whether the last apply held. */
export type PowerCapHealth = 'ok' | 'not-sticking' | 'locked' | 'unavailable' | 'paused' | 'uncapped';

/** The host power cap as configured and as enforced. */
export interface PowerCapStatus {
  /** The operator's cap, W (package power, summed over RAPL packages); null = no cap. */
  readonly watts: number | null;
  /** The cap in force now: the operator's, tightened by facility limits; null = none. */
  readonly effectiveWatts: number | null;
  /** How long the hardware may take to bring power under the cap (the RAPL PL1 time window), ms. */
  readonly correctionMs: number;
  /** What the hardware accepts, W (sum over packages). */
  readonly allowableMin: number;
  readonly allowableMax: number;
  readonly mode: PowerCapMode;
  readonly health: PowerCapHealth;
  /** Why health is not ok, in words. */
  readonly detail?: string;
  /** Package power now (sum of RAPL packages), W; null before the second sample. */
  readonly readingWatts: number | null;
  /** The BMC that also enforces it (DCMI / Redfish Control), when configured. */
  readonly bmc?: string;
}

/** A change to the cap; absent fields keep their value. `watts: null` removes the cap. */
export interface PowerCapChange {
  readonly watts: number | null;
  readonly correctionMs?: number;
}

/** One VM's budget: a rolling average in watts, or joules per window. */
export interface PowerBudgetSpec {
  /** VM name or UUID. */
  readonly vm: string;
  readonly watts?: number;
  readonly joules?: number;
  /** Averaging window (watts) or budget period (joules), seconds. */
  readonly windowS: number;
  /** 0 (throttled first) to 100 (last). */
  readonly priority: number;
}

/** A budget and what the controller does about it. */
export interface PowerBudgetStatus extends PowerBudgetSpec {
  readonly uuid?: string;
  /** The VM's power over the window, W; null while unknown. */
  readonly averageWatts: number | null;
  /** The budget in force now, W (tightened by facility limits). */
  readonly effectiveWatts: number | null;
  readonly state: 'within' | 'throttled' | 'vm-not-running' | 'no-reading' | 'paused';
  /** The actuators engaged: `frequency-ceiling <kHz>`, `cpu-quota <percent>`, `guest-raise-denied`. */
  readonly actuators: readonly string[];
}

/** The controller's policy and what it did last. */
export interface PowerControlStatus {
  readonly paused: boolean;
  readonly periodMs: number;
  readonly cap: PowerCapStatus;
  readonly budgets: readonly PowerBudgetStatus[];
  readonly facility: { readonly level: number; readonly constraints: readonly FacilityConstraintStatus[] };
  /** The latest actions, newest last. */
  readonly lastActions: readonly PowerAction[];
}

/** One facility limit (PDU outlet or branch, thermal zone). */
export interface FacilityConstraintStatus {
  readonly name: string;
  readonly kind: 'outlet' | 'branch' | 'thermal';
  /** Reading (W, A or °C), or the thermal prediction; null while unknown. */
  readonly value: number | null;
  readonly limit: number;
  /** value / limit. */
  readonly utilisation: number | null;
}

/** One thing the controller did, and why. */
export interface PowerAction {
  readonly timestamp: number;
  readonly action: string;
  readonly cause: string;
}

/** The power controller. */
export interface PowerControl {
  status(): Promise<PowerControlStatus>;
  /** @throws E_POWER_INVALID for a cap outside AllowableMin/Max; E_ACCESS_DENIED. */
  setCap(change: PowerCapChange, by: Principal): Promise<PowerCapStatus>;
  /** Adds or replaces the budget of `spec.vm`. @throws E_POWER_INVALID. */
  setBudget(spec: PowerBudgetSpec, by: Principal): Promise<PowerBudgetStatus>;
  /** @throws E_POWER_NOT_FOUND when the VM has no budget. */
  removeBudget(vm: string, by: Principal): Promise<void>;
}

/** Token of {@link PowerControl}. */
export const POWER_CONTROL = defineCapability<PowerControl>('power-control@1');
