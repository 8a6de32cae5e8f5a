/**
 * The persisted record of the last suspend operation (`state.dir/plugins/libvirt-caps/`), so
 * `vpmctl sleep status` still tells when the host went down and came back after a restart.
 */
import { Type, type Static } from 'vpmd';

const Target = Type.Union([
  Type.Literal('mem'),
  Type.Literal('disk'),
  Type.Literal('hybrid'),
  Type.Literal('suspend-then-hibernate'),
]);

/** Schema of the record. */
export const SleepOperationSchema = Type.Object(
  {
    target: Target,
    /** `name@origin(address)` of the requester; `logind@internal` for a suspend vpmd did not ask for. */
    requestedBy: Type.String(),
    requestedAt: Type.Integer({ minimum: 0 }),
    /** requested -> accepted (logind took it) -> suspended (PrepareForSleep true) -> resumed; or failed. */
    state: Type.Union([
      Type.Literal('requested'),
      Type.Literal('accepted'),
      Type.Literal('suspended'),
      Type.Literal('resumed'),
      Type.Literal('failed'),
    ]),
    wakeAlarm: Type.Optional(Type.Integer({ minimum: 0 })),
    wentDownAt: Type.Optional(Type.Integer({ minimum: 0 })),
    resumedAt: Type.Optional(Type.Integer({ minimum: 0 })),
    /** True when another program asked logind (the target is then unknown and shown as mem). */
    external: Type.Optional(Type.Boolean()),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** One suspend operation. */
export type SleepOperation = Static<typeof SleepOperationSchema>;

/** State spec of the record. */
export const OPERATION_SPEC = { version: 1, schema: SleepOperationSchema } as const;
