/**
 * The power plugin's error codes and event types. The manifest declares both; the kernel checks
 * that the codes start with E_POWER_ and that no other plugin claims them.
 */
import { defineErrors } from 'vpmd';

export const POWER_ERRORS = defineErrors('E_POWER_', {
  E_POWER_INVALID: { category: 'invalid', summary: 'a power cap or budget is malformed or out of range' },
  E_POWER_NOT_FOUND: { category: 'not-found', summary: 'no such power budget' },
  E_POWER_UNAVAILABLE: { category: 'unavailable', summary: 'the host offers no power limit to control' },
});

/** A budget was exhausted (the controller throttles the VM) or recovered (every knob released). */
export interface PowerBudgetEvent {
  readonly vm: string;
  readonly uuid: string;
  readonly kind: 'exhausted' | 'recovered';
  readonly averageWatts: number | null;
  readonly budgetWatts: number;
  readonly actuator?: string;
  readonly reason: string;
  readonly timestamp: number;
}

/** The host cap was applied, re-applied after an outside write, did not stick, or was released. */
export interface PowerCapEvent {
  readonly kind: 'applied' | 'reapplied' | 'not-sticking' | 'locked' | 'released';
  readonly watts: number | null;
  readonly detail: string;
  readonly timestamp: number;
}

/** A facility limit tightened or released the controller's limits. */
export interface PowerFacilityEvent {
  readonly kind: 'tighten' | 'release';
  readonly level: number;
  readonly constraint: string;
  readonly utilisation: number | null;
  readonly timestamp: number;
}

/** Every event type the plugin emits. */
export const POWER_EVENTS = ['power.budget.v1', 'power.cap.v1', 'power.facility.v1'] as const;

declare module 'vpmd' {
  interface PluginErrorRegistry {
    power: typeof POWER_ERRORS;
  }
  interface VpmdEventMap {
    'power.budget.v1': PowerBudgetEvent;
    'power.cap.v1': PowerCapEvent;
    'power.facility.v1': PowerFacilityEvent;
  }
}
