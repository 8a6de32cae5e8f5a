/**
 * Facility limits: PDU outlets and branches (ratings from config against the PDU poller's
 * readings) and thermal zones (a limit against a prediction made with the zone's inertia).
 * One integer, the tightening level, says how hard the controller leans on the host:
 * level k scales the budgets of the k lowest priority classes (the lowest the most) and, past
 * the last class, caps the host below the power it drew when the host cap was first needed.
 * Rules (docs/power-control.md): tighten one level when any constraint is at or over its
 * high-water mark and the last tightening has had `settleMs` to show (at once when one is over
 * 100 %); release one level when every constraint is under the release mark and neither a
 * tightening nor a release happened within the dwell time.
 */
import type { PduConfig, PowerConfig, ThermalConfig } from './config.js';
import type { FacilityConstraintStatus } from 'vpmd';

/** The reader of the telemetry store's latest values. */
export type LatestReading = (id: string) => { readonly value: number | null; readonly timestamp: number } | undefined;

/** What the facility governor remembers (persisted with the controller's memory). */
export interface FacilityMemory {
  level: number;
  lastTightenMs: number;
  lastReleaseMs: number;
  /** Host package power when the host-cap levels began, W. */
  hostWattsAtCap: number | null;
}

/** A change of level and what caused it. */
export interface LevelChange {
  readonly kind: 'tighten' | 'release';
  readonly level: number;
  readonly constraint: string;
  readonly utilisation: number | null;
  readonly cause: string;
}

interface Evaluated extends FacilityConstraintStatus {
  readonly over: boolean;
  readonly critical: boolean;
  readonly releasable: boolean;
}

/** A thermal zone's trend, from the last two readings. */
interface Trend {
  t: number;
  c: number;
  slope: number;
}

/** Predicted temperature after `horizonS`: first-order toward T∞ = T + τ·dT/dt. */
export function predictTemperature(c: number, slopePerS: number, tauS: number, horizonS: number): number {
  const steady = c + tauS * slopePerS;
  return steady + (c - steady) * Math.exp(-horizonS / tauS);
}

export function emptyFacility(): FacilityMemory {
  return { level: 0, lastTightenMs: 0, lastReleaseMs: 0, hostWattsAtCap: null };
}

/** The facility governor. */
export class Facility {
  private readonly trends = new Map<string, Trend>();
  private last: readonly Evaluated[] = [];

  constructor(
    private readonly config: PowerConfig['facility'],
    private readonly periodMs: number,
    private readonly latest: LatestReading,
  ) {}

  get configured(): boolean {
    return this.config.pdu.length + this.config.thermal.length > 0;
  }

  private pdu(c: PduConfig, now: number): Evaluated {
    let sum = 0;
    let known = true;
    for (const id of c.metrics) {
      const r = this.latest(id);
      // A reading older than five periods (or the poller's own unavailable) is not a reading.
      if (r === undefined || r.value === null || now - r.timestamp > 5 * this.periodMs + 5_000) known = false;
      else sum += r.value;
    }
    const u = known ? sum / c.rating : null;
    return {
      name: c.name,
      kind: c.kind,
      value: known ? sum : null,
      limit: c.rating,
      utilisation: u,
      over: u !== null && u >= this.config.highWater,
      critical: u !== null && u > 1,
      releasable: u !== null && u <= this.config.releaseBelow,
    };
  }

  private thermal(c: ThermalConfig): Evaluated {
    const r = this.latest(c.metric);
    if (r === undefined || r.value === null) {
      return {
        name: c.name,
        kind: 'thermal',
        value: null,
        limit: c.limitC,
        utilisation: null,
        over: false,
        critical: false,
        releasable: false,
      };
    }
    const prev = this.trends.get(c.name);
    let slope = prev?.slope ?? 0;
    if (prev !== undefined && r.timestamp > prev.t) {
      const raw = (r.value - prev.c) / ((r.timestamp - prev.t) / 1000);
      slope = 0.5 * slope + 0.5 * raw; // smoothed: one noisy reading does not throttle the host
    }
    if (prev === undefined || r.timestamp > prev.t) this.trends.set(c.name, { t: r.timestamp, c: r.value, slope });
    const predicted = predictTemperature(r.value, slope, c.timeConstantS, c.horizonS);
    const high = c.limitC - c.marginC;
    return {
      name: c.name,
      kind: 'thermal',
      value: Math.round(predicted * 10) / 10,
      limit: c.limitC,
      utilisation: predicted / c.limitC,
      over: predicted >= high,
      critical: r.value >= c.limitC,
      releasable: predicted <= high - 2 * c.marginC,
    };
  }

  /** Every constraint as last evaluated. */
  status(): readonly FacilityConstraintStatus[] {
    return this.last.map(({ name, kind, value, limit, utilisation }) => ({ name, kind, value, limit, utilisation }));
  }

  /**
   * One control period: evaluates every constraint and moves the level by at most one.
   * `maxLevel` bounds it (budget classes + host-cap steps).
   */
  step(now: number, mem: FacilityMemory, maxLevel: number): LevelChange | undefined {
    const all = [...this.config.pdu.map((c) => this.pdu(c, now)), ...this.config.thermal.map((c) => this.thermal(c))];
    this.last = all;
    const worst = all
      .filter((c) => c.utilisation !== null)
      .sort((a, b) => (b.utilisation ?? 0) - (a.utilisation ?? 0))[0];
    const over = all.filter((c) => c.over);
    const settleMs = 2 * this.periodMs;
    if (over.length > 0 && mem.level < maxLevel) {
      const critical = over.some((c) => c.critical);
      if (critical || now - mem.lastTightenMs >= settleMs) {
        const c = over.find((x) => x.critical) ?? over[0] ?? worst;
        mem.level += 1;
        mem.lastTightenMs = now;
        return {
          kind: 'tighten',
          level: mem.level,
          constraint: c?.name ?? '?',
          utilisation: c?.utilisation ?? null,
          cause: `${c?.name ?? '?'} at ${pct(c?.utilisation ?? null)} of its limit (high water ${pct(this.config.highWater)})`,
        };
      }
      return undefined;
    }
    if (
      mem.level > 0 &&
      all.every((c) => c.releasable) &&
      now - mem.lastTightenMs >= this.config.dwellMs &&
      now - mem.lastReleaseMs >= this.config.dwellMs
    ) {
      mem.level -= 1;
      mem.lastReleaseMs = now;
      if (mem.level === 0) mem.hostWattsAtCap = null;
      return {
        kind: 'release',
        level: mem.level,
        constraint: worst?.name ?? '-',
        utilisation: worst?.utilisation ?? null,
        cause: `every limit under ${pct(this.config.releaseBelow)} for the dwell time (${this.config.dwellMs} ms)`,
      };
    }
    return undefined;
  }
}

function pct(u: number | null): string {
  return u === null ? '?' : `${(u * 100).toFixed(1)} %`;
}

/**
 * The scale each priority class's budgets get at `level` (classes ascending by priority): the
 * lowest class is tightened first and most.
 */
export function classScale(level: number, classIndex: number, factor: number): number {
  return classIndex < level ? factor ** (level - classIndex) : 1;
}
