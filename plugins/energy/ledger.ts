/**
 * The cumulative accounts: per-VM joule counters (by UUID, per zone, RAPL and wall-scaled),
 * per-zone splits, and each VM's recent history. Counters only grow; they are saved through
 * `ctx.state` and restored at start, so they survive agent and VM restarts.
 */
import { Type, type Static, type StateSpec } from 'vpmd';

const FloorSchema = Type.Object({
  watts: Type.Number({ minimum: 0 }),
  method: Type.Union([Type.Literal('configured'), Type.Literal('measured'), Type.Literal('estimated')]),
  samples: Type.Integer({ minimum: 0 }),
});

const LedgerSchema = Type.Object({
  vms: Type.Record(
    Type.String(),
    Type.Object({
      name: Type.String(),
      novaInstanceId: Type.Optional(Type.String()),
      novaProjectId: Type.Optional(Type.String()),
      zones: Type.Record(Type.String(), Type.Number({ minimum: 0 })),
      wallJoules: Type.Optional(Type.Number({ minimum: 0 })),
    }),
  ),
  zones: Type.Record(
    Type.String(),
    Type.Object({
      totalJoules: Type.Number({ minimum: 0 }),
      idleJoules: Type.Number({ minimum: 0 }),
      hostJoules: Type.Number({ minimum: 0 }),
      vmJoules: Type.Number({ minimum: 0 }),
      unattributedJoules: Type.Number(),
    }),
  ),
  floors: Type.Record(Type.String(), FloorSchema),
});

/** The persisted ledger. */
export type LedgerData = Static<typeof LedgerSchema>;

/** State spec of the ledger (`plugins/energy/ledger`). */
export const LEDGER_STATE: StateSpec<LedgerData> = { version: 1, schema: LedgerSchema };

/** A fixed-size ring of (timestamp, cumulative joules) points, one per `stepMs`. */
export class HistoryRing {
  private readonly times: Float64Array;
  private readonly joules: Float64Array;
  private next = 0;
  private size = 0;

  constructor(
    capacity: number,
    private readonly stepMs: number,
  ) {
    this.times = new Float64Array(capacity);
    this.joules = new Float64Array(capacity);
  }

  /** Records a point unless the last one is closer than a step. */
  push(timestamp: number, joules: number): void {
    const last = this.size === 0 ? undefined : this.times[(this.next - 1 + this.times.length) % this.times.length];
    if (last !== undefined && timestamp - last < this.stepMs) return;
    this.times[this.next] = timestamp;
    this.joules[this.next] = joules;
    this.next = (this.next + 1) % this.times.length;
    this.size = Math.min(this.size + 1, this.times.length);
  }

  /** Points since `sinceMs`, oldest first, with the average power since the point before. */
  since(sinceMs: number): Array<{ timestamp: number; watts: number; joules: number }> {
    const out: Array<{ timestamp: number; watts: number; joules: number }> = [];
    const cap = this.times.length;
    const start = (this.next - this.size + cap) % cap;
    for (let i = 1; i < this.size; i++) {
      const a = (start + i - 1) % cap;
      const b = (start + i) % cap;
      const t = this.times[b] as number;
      if (t < sinceMs) continue;
      const dt = (t - (this.times[a] as number)) / 1000;
      const dj = (this.joules[b] as number) - (this.joules[a] as number);
      out.push({ timestamp: t, watts: dt > 0 ? dj / dt : 0, joules: this.joules[b] as number });
    }
    return out;
  }
}

/** One VM's account. */
export interface VmAccount {
  readonly uuid: string;
  name: string;
  novaInstanceId?: string;
  novaProjectId?: string;
  running: boolean;
  /** Joules per zone key. */
  readonly zones: Record<string, number>;
  /** RAPL total (package and DRAM zones; parts of a package are not added twice), J. */
  raplJoules: number;
  /** Wall-scaled total, J; undefined until a wall source was seen. */
  wallJoules: number | undefined;
  /** Kepler's split of the same energy, J (for comparison; not persisted). */
  naiveJoules: number;
  lastWatts: number | null;
  lastWallWatts: number | null;
  readonly history: HistoryRing;
}

/** A zone's cumulative split. */
export interface ZoneTotals {
  totalJoules: number;
  idleJoules: number;
  hostJoules: number;
  vmJoules: number;
  unattributedJoules: number;
}
