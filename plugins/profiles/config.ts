/**
 * The `plugins.profiles` config section: named profiles, the CPU pools they apply to, and
 * time-of-day schedules that switch a pool's profile.
 */
import { REDFISH_POWER_MODES, Type, type Static } from 'vpmd';

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'lower-case name' });

/** One profile: every knob is optional; an absent knob is left as vpmd found it. */
export const ProfileSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 200 })),
    governor: Type.Optional(Type.String({ pattern: '^[a-z_]+$', description: 'cpufreq governor' })),
    epp: Type.Optional(
      Type.String({ pattern: '^([a-z_]+|[0-9]{1,3})$', description: 'energy_performance_preference' }),
    ),
    minKHz: Type.Optional(Type.Integer({ minimum: 1, description: 'frequency floor (a cpu-limits claim)' })),
    maxKHz: Type.Optional(Type.Integer({ minimum: 1, description: 'frequency ceiling (a cpu-limits claim)' })),
    turbo: Type.Optional(
      Type.Boolean({ description: 'false caps the pool at the nominal frequency; true needs turbo on host-wide' }),
    ),
    resumeLatencyUs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2_000_000,
        description: 'PM QoS resume-latency bound in µs; idle states slower to leave are disabled; 0 = poll only',
      }),
    ),
    uncore: Type.Optional(
      Type.Object(
        {
          minKHz: Type.Optional(Type.Integer({ minimum: 1 })),
          maxKHz: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Profile = Static<typeof ProfileSchema>;

/** A CPU pool: an explicit list, or the pCPUs of the VMs of one latency class. */
export const PoolSchema = Type.Object(
  {
    name: Name,
    cpus: Type.Optional(Type.String({ pattern: '^[0-9,\\- ]+$', description: 'CPU list, e.g. 2-3,6' })),
    latencyClass: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'VMs whose libvirt metadata names this class' }),
    ),
    profile: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export type Pool = Static<typeof PoolSchema>;

/** A time-of-day schedule for one pool. */
export const ScheduleSchema = Type.Object(
  {
    pool: Name,
    timeZone: Type.Optional(Type.String({ minLength: 1, description: 'IANA zone, default UTC' })),
    dwellSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'shortest time a profile stays' })),
    switches: Type.Array(
      Type.Object(
        { at: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }), profile: Name },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);
export type Schedule = Static<typeof ScheduleSchema>;

/** Redfish power modes this host offers: each names the profile every listed pool runs in it. */
export const PowerModesSchema = Type.Record(
  Type.String({ pattern: `^(${REDFISH_POWER_MODES.join('|')})$` }),
  Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' }), Name),
  { default: {} },
);

export const ProfilesConfigSchema = Type.Object({
  profiles: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' }), ProfileSchema, { default: {} }),
  pools: Type.Array(PoolSchema, { default: [] }),
  schedules: Type.Array(ScheduleSchema, { default: [] }),
  powerModes: PowerModesSchema,
  /** Put back every value found at start when the agent stops. */
  restoreOnStop: Type.Boolean({ default: true }),
  /** How often knobs are read back to find drift (s). */
  driftCheckSeconds: Type.Integer({ minimum: 1, default: 30 }),
  /** Write drifted knobs back to the profile's value (otherwise drift is only reported). */
  correctDrift: Type.Boolean({ default: false }),
});
export type ProfilesConfig = Static<typeof ProfilesConfigSchema>;
