/**
 * The energy-report plugin's own vocabulary: its error codes and its event type. The manifest
 * lists both (`errors`, `events`); the kernel checks at load that the codes start with
 * E_ENERGY_REPORT_ and the event type with `energy-report.`, and that no other plugin claims them.
 * The `declare module` block makes them known to the type checker wherever this plugin's code is
 * compiled, so `new VpmdError('E_ENERGY_REPORT_OVER_BUDGET', ...)` and
 * `ctx.events.emit('energy-report.budget.v1', ...)` are checked like the core's own.
 */
import { defineErrors } from 'vpmd';

export const ENERGY_REPORT_ERRORS = defineErrors('E_ENERGY_REPORT_', {
  E_ENERGY_REPORT_OVER_BUDGET: {
    category: 'conflict',
    summary: 'host power is above the configured budget',
    // A monitoring script tells "over budget" (20) from "cannot tell" (7) by the exit code alone.
    exitCode: 20,
  },
  E_ENERGY_REPORT_NO_POWER: { category: 'unavailable', summary: 'the host has no RAPL power reading' },
});

/** Payload of `energy-report.budget.v1`: host power crossed the budget, one way or the other. */
export interface BudgetCrossing {
  /** `over` when host power rose above the budget, `within` when it fell back to or below it. */
  readonly state: 'over' | 'within';
  /** Host package power at the crossing, in watts. */
  readonly watts: number;
  /** The configured budget, in watts. */
  readonly budgetWatts: number;
  /** When the sample was taken, in milliseconds since the Unix epoch. */
  readonly timestamp: number;
}

/** The event types this plugin emits (listed in its manifest). */
export const ENERGY_REPORT_EVENTS = ['energy-report.budget.v1'] as const;

declare module 'vpmd' {
  interface PluginErrorRegistry {
    'energy-report': typeof ENERGY_REPORT_ERRORS;
  }
  interface VpmdEventMap {
    'energy-report.budget.v1': BudgetCrossing;
  }
}
