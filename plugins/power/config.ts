/** The power plugin's config section (`plugins.power`); see docs/power-control.md. */
import { StringEnum, Type, type Static } from 'vpmd';

const Budget = Type.Object({
  vm: Type.String({ minLength: 1, description: 'VM name or UUID' }),
  watts: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'rolling-average budget, W' })),
  joules: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'energy budget per window, J' })),
  windowS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'window, s' }),
  priority: Type.Integer({ minimum: 0, maximum: 100, default: 50, description: '0 is throttled first' }),
});

const Pdu = Type.Object({
  name: Type.String({ minLength: 1 }),
  kind: StringEnum(['outlet', 'branch'] as const),
  metrics: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'telemetry ids summed, e.g. snmp/pdu1/outlet/3/power',
  }),
  rating: Type.Number({ exclusiveMinimum: 0, description: 'rating in the metrics unit (W or A)' }),
});

const Thermal = Type.Object({
  name: Type.String({ minLength: 1 }),
  metric: Type.String({ minLength: 1, description: 'temperature metric id, e.g. host/thermal/x86_pkg_temp-0' }),
  limitC: Type.Number({ minimum: 20, maximum: 150 }),
  timeConstantS: Type.Number({ exclusiveMinimum: 0, maximum: 3_600, description: 'the zone inertia' }),
  horizonS: Type.Number({ exclusiveMinimum: 0, maximum: 3_600, default: 30 }),
  marginC: Type.Number({ minimum: 0, maximum: 50, default: 3 }),
});

export const PowerConfigSchema = Type.Object({
  periodMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000, description: 'control period' }),
  cap: Type.Optional(
    Type.Object({
      watts: Type.Number({ exclusiveMinimum: 0, description: 'host package power cap, W' }),
      correctionMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 1_000 }),
    }),
  ),
  shortTerm: Type.Optional(
    Type.Object({
      ratio: Type.Number({ minimum: 1, maximum: 3, default: 1.2, description: 'PL2 = ratio × PL1' }),
      windowMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
    }),
  ),
  bmc: Type.Optional(
    Type.Object({
      target: Type.String({ minLength: 1, description: 'a bmcs@1 target enforcing the cap at the wall' }),
      headroomWatts: Type.Number({ minimum: 0, default: 0, description: 'added to the cap for the wall limit' }),
    }),
  ),
  budgets: Type.Array(Budget, { default: [] }),
  quotaPeriodUs: Type.Integer({ minimum: 1_000, maximum: 1_000_000, default: 100_000 }),
  facility: Type.Object(
    {
      highWater: Type.Number({ minimum: 0.5, maximum: 1, default: 0.9 }),
      releaseBelow: Type.Number({ minimum: 0.3, maximum: 1, default: 0.8 }),
      dwellMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 60_000 }),
      tightenFactor: Type.Number({ minimum: 0.1, maximum: 0.95, default: 0.7 }),
      pdu: Type.Array(Pdu, { default: [] }),
      thermal: Type.Array(Thermal, { default: [] }),
    },
    { default: {} },
  ),
});

export type PowerConfig = Static<typeof PowerConfigSchema>;
export type BudgetConfig = Static<typeof Budget>;
export type PduConfig = Static<typeof Pdu>;
export type ThermalConfig = Static<typeof Thermal>;
