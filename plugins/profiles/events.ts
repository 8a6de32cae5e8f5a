/** The profiles plugin's event types (listed in its manifest). */
import type { Drift } from './reconciler.js';

/** Payload of `profiles.applied.v1`: an apply, schedule switch or reset finished. */
export interface ProfilesApplied {
  readonly reason: string;
  /** Files written (0 when everything was already as wanted). */
  readonly written: number;
  readonly failures: number;
  readonly timestamp: number;
}

declare module 'vpmd' {
  interface VpmdEventMap {
    'profiles.applied.v1': ProfilesApplied;
    /** A knob vpmd set no longer holds its value: something else changed it. */
    'profiles.drift.v1': Drift;
  }
}
