/**
 * What the power plugin keeps in its state namespace (atomic files, see docs/power-control.md):
 * - `policy`: the operator's cap, budgets and the pause switch (written on every change);
 * - `knobs`: each knob's value before vpmd first touched it (written before the first write,
 *   so the kill switch and a crash both find it);
 * - `controller`: the actuators' positions and the facility level (written when they change,
 *   so a restart resumes from them instead of from an unthrottled host).
 */
import { Type, type Static, type StateSpec } from 'vpmd';

const Budget = Type.Object({
  vm: Type.String(),
  watts: Type.Optional(Type.Number()),
  joules: Type.Optional(Type.Number()),
  windowS: Type.Integer(),
  priority: Type.Integer(),
});

const PolicySchema = Type.Object({
  cap: Type.Object({ watts: Type.Union([Type.Number(), Type.Null()]), correctionMs: Type.Integer() }),
  budgets: Type.Array(Budget),
  paused: Type.Boolean(),
});
export type Policy = Static<typeof PolicySchema>;
export const POLICY: StateSpec<Policy> = { version: 1, schema: PolicySchema };

const Limits = Type.Object({
  longUw: Type.Number(),
  longWindowUs: Type.Number(),
  shortUw: Type.Optional(Type.Number()),
  shortWindowUs: Type.Optional(Type.Number()),
});

const KnobsSchema = Type.Object({
  rapl: Type.Record(Type.String(), Limits),
  bmc: Type.Record(
    Type.String(),
    Type.Object({ watts: Type.Union([Type.Number(), Type.Null()]), correctionMs: Type.Optional(Type.Number()) }),
  ),
  quota: Type.Record(Type.String(), Type.Object({ quotaUs: Type.Number(), periodUs: Type.Number() })),
});
export type Knobs = Static<typeof KnobsSchema>;
export const KNOBS: StateSpec<Knobs> = { version: 1, schema: KnobsSchema };

const MemorySchema = Type.Object({
  actuators: Type.Record(
    Type.String(),
    Type.Object({
      uuid: Type.String(),
      cpus: Type.Array(Type.Integer()),
      ceilingKHz: Type.Optional(Type.Number()),
      quota: Type.Optional(Type.Number()),
      /** Guest requests to raise the frequency are denied (cpu-limits@1 denyRaise). */
      deny: Type.Optional(Type.Boolean()),
    }),
  ),
  facility: Type.Object({
    level: Type.Integer(),
    lastTightenMs: Type.Number(),
    lastReleaseMs: Type.Number(),
    hostWattsAtCap: Type.Union([Type.Number(), Type.Null()]),
  }),
  actions: Type.Array(Type.Object({ timestamp: Type.Number(), action: Type.String(), cause: Type.String() })),
});
export type Memory = Static<typeof MemorySchema>;
export const MEMORY: StateSpec<Memory> = { version: 1, schema: MemorySchema };

export function emptyKnobs(): Knobs {
  return { rapl: {}, bmc: {}, quota: {} };
}
