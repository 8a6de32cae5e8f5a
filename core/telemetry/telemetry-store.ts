/**
 * The telemetry store: every metric's definition (unit, source, thresholds), its latest
 * reading and a bounded history. Pollers record into it; Redfish, SNMP and vpmctl read from it.
 * Recording is O(1) (a ring per metric) because pollers feed thousands of readings per second;
 * each ring stores its readings as columns and grows with them (reading-ring.ts), so 30,000
 * metrics cost memory in proportion to the readings held. Status changes (threshold crossings)
 * are reported once per change, not per reading.
 */
import { VpmdError } from '../errors.js';
import type { VpmdEventMap } from '../contracts/events.js';
import type { MetricDefinition, MetricKind, MetricSnapshot, Reading, ReadingStatus } from '../contracts/telemetry.js';
import { deriveStatus, validateMetricDefinition } from './metric-rules.js';
import { ReadingRing } from './reading-ring.js';

/** Readings kept per metric unless configured otherwise (an hour at one reading per 10 s). */
export const DEFAULT_HISTORY_SIZE = 360;

const READING_STATUSES: ReadonlySet<string> = new Set<ReadingStatus>(['ok', 'warning', 'critical', 'unavailable']);

/** A threshold crossing, as published on the event bus. */
export type TelemetryStatusChange = VpmdEventMap['telemetry.status.v1'];

/** Receives every recorded reading. */
export type ReadingListener = (id: string, reading: Reading) => void;

/** Construction options of {@link TelemetryStore}. */
export interface TelemetryStoreOptions {
  /** Readings kept per metric, an integer >= 1; default {@link DEFAULT_HISTORY_SIZE}. */
  readonly historySize?: number;
  /** Clock for readings recorded without a timestamp, in ms since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Called when a metric's status changes, including its first reading (from `none`). */
  readonly onStatusChange?: (e: TelemetryStatusChange) => void;
  /**
   * Called when `onStatusChange` or a subscriber throws; the reading is stored regardless and
   * the other listeners still run. Without it, the first such error is rethrown from
   * {@link TelemetryStore.record} (as E_INTERNAL) once every listener has run.
   */
  readonly onListenerError?: (error: unknown, metricId: string) => void;
}

/** Options of {@link TelemetryStore.record}. */
export interface RecordOptions {
  /** Status reported by the source; derived from the thresholds when absent. */
  readonly status?: ReadingStatus;
  /** When the value was measured (ms since the epoch); the store's clock when absent. */
  readonly timestamp?: number;
}

/** Options of {@link TelemetryStore.history}. */
export interface HistoryQuery {
  /** Only readings with `timestamp >= since`. */
  readonly since?: number;
  /** At most this many readings: the newest ones. */
  readonly limit?: number;
}

/** Filters of {@link TelemetryStore.list}; all given filters must match. */
export interface MetricFilter {
  readonly kind?: MetricKind;
  /** Matches `source.plugin`. */
  readonly plugin?: string;
  /** Matches `source.target`. */
  readonly target?: string;
  /** Matches the start of the id. */
  readonly prefix?: string;
}

interface MetricEntry {
  definition: MetricDefinition;
  owner: string;
  readonly history: ReadingRing;
  status: ReadingStatus | 'none';
  /** The last snapshot given out, and the definition it was made of (see #snapshot). */
  snapshot?: MetricSnapshot;
  snapshotOf?: MetricDefinition;
}

function freezeDefinition(def: MetricDefinition): MetricDefinition {
  const copy: MetricDefinition = {
    id: def.id,
    name: def.name,
    kind: def.kind,
    unit: def.unit,
    source: Object.freeze({ plugin: def.source.plugin, target: def.source.target, sensor: def.source.sensor }),
    ...(def.thresholds === undefined ? {} : { thresholds: Object.freeze({ ...def.thresholds }) }),
  };
  return Object.freeze(copy);
}

/** A misuse by the calling code (a plugin bug), not a condition of the outside world. */
function callerError(message: string, details: Record<string, string | number>): VpmdError {
  return new VpmdError('E_TELEMETRY_INVALID', message, details);
}

/** In-memory telemetry: definitions, latest readings and bounded histories by metric id. */
export class TelemetryStore {
  readonly #metrics = new Map<string, MetricEntry>();
  readonly #historySize: number;
  readonly #now: () => number;
  readonly #onStatusChange: ((e: TelemetryStatusChange) => void) | undefined;
  readonly #onListenerError: ((error: unknown, metricId: string) => void) | undefined;
  /** Replaced, never mutated, so a notification loop is unaffected by (un)subscribing. */
  #listeners: readonly ReadingListener[] = [];

  /** @throws VpmdError E_TELEMETRY_INVALID when `historySize` is not an integer >= 1. */
  constructor(opts: TelemetryStoreOptions = {}) {
    const historySize = opts.historySize ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isInteger(historySize) || historySize < 1) {
      throw callerError(`telemetry historySize must be an integer >= 1, got ${historySize}`, { historySize });
    }
    this.#historySize = historySize;
    this.#now = opts.now ?? Date.now;
    this.#onStatusChange = opts.onStatusChange;
    this.#onListenerError = opts.onListenerError;
  }

  /**
   * Declares a metric for `owner` (a plugin name, or `core`). Redefining a metric with the same
   * owner replaces its definition and keeps its readings.
   * @throws VpmdError E_TELEMETRY_DUPLICATE when another owner defined the id;
   *   E_TELEMETRY_INVALID when the definition is invalid (bad id, unit not matching the kind,
   *   thresholds out of order, empty source fields).
   */
  define(def: MetricDefinition, owner: string): void {
    validateMetricDefinition(def, owner);
    const existing = this.#metrics.get(def.id);
    if (existing && existing.owner !== owner) {
      throw new VpmdError(
        'E_TELEMETRY_DUPLICATE',
        `metric ${def.id} is already defined by ${existing.owner}; ${owner} cannot define it too (choose another id)`,
        { metric: def.id, owner: existing.owner, requestedBy: owner },
      );
    }
    if (existing) {
      existing.definition = freezeDefinition(def);
      return;
    }
    this.#metrics.set(def.id, {
      definition: freezeDefinition(def),
      owner,
      history: new ReadingRing(this.#historySize),
      status: 'none',
    });
  }

  /**
   * Records a reading. A null value means the reading is unavailable.
   * @returns the stored (frozen) reading.
   * @throws VpmdError E_TELEMETRY_UNKNOWN for an undefined metric; E_TELEMETRY_INVALID for a
   *   non-finite value, a non-finite timestamp, an unknown status, or a null value with a
   *   status other than `unavailable`; E_INTERNAL after storing when a listener threw and no
   *   `onListenerError` was given.
   */
  record(id: string, value: number | null, opts: RecordOptions = {}): Reading {
    const entry = this.#entry(id);
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw callerError(`metric ${id}: value must be a finite number or null (unavailable), got ${String(value)}`, {
        metric: id,
      });
    }
    const timestamp = opts.timestamp ?? this.#now();
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw callerError(
        `metric ${id}: timestamp must be finite milliseconds since the epoch, got ${String(timestamp)}`,
        {
          metric: id,
        },
      );
    }
    const status = this.#statusOf(id, value, opts.status, entry.definition);
    const reading: Reading = Object.freeze({ value, status, timestamp });
    entry.history.push(reading);

    const from = entry.status;
    entry.status = status;
    this.#notify(id, reading, from);
    return reading;
  }

  /**
   * The newest reading of a metric, or undefined before its first reading.
   * @throws VpmdError E_TELEMETRY_UNKNOWN for an undefined metric.
   */
  latest(id: string): Reading | undefined {
    return this.#entry(id).history.newest();
  }

  /**
   * Readings of a metric, oldest first (in recording order), at most `historySize` of them.
   * Each call builds new frozen objects (history is stored as columns), except the newest,
   * which is the object {@link latest} returns.
   * @throws VpmdError E_TELEMETRY_UNKNOWN for an undefined metric; E_TELEMETRY_INVALID when
   *   `limit` is not an integer >= 0.
   */
  history(id: string, query: HistoryQuery = {}): Reading[] {
    const entry = this.#entry(id);
    const { since, limit } = query;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw callerError(`metric ${id}: history limit must be an integer >= 0, got ${limit}`, { metric: id });
    }
    if (since === undefined && limit === undefined) return entry.history.toArray();
    return entry.history.recent(since, limit ?? Number.POSITIVE_INFINITY);
  }

  /**
   * A metric's definition with its latest reading.
   * @throws VpmdError E_TELEMETRY_UNKNOWN for an undefined metric.
   */
  get(id: string): MetricSnapshot {
    return this.#snapshot(this.#entry(id));
  }

  /** Snapshots of the metrics matching every given filter, sorted by id. */
  list(filter: MetricFilter = {}): MetricSnapshot[] {
    const out: MetricSnapshot[] = [];
    for (const entry of this.#metrics.values()) {
      const def = entry.definition;
      if (filter.kind !== undefined && def.kind !== filter.kind) continue;
      if (filter.plugin !== undefined && def.source.plugin !== filter.plugin) continue;
      if (filter.target !== undefined && def.source.target !== filter.target) continue;
      if (filter.prefix !== undefined && !def.id.startsWith(filter.prefix)) continue;
      out.push(this.#snapshot(entry));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Drops every metric `owner` defined, with its readings (a plugin stopped or rolled back).
   * @returns how many metrics were removed.
   */
  removeOwner(owner: string): number {
    let removed = 0;
    for (const [id, entry] of this.#metrics) {
      if (entry.owner === owner) {
        this.#metrics.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Calls `fn` after every recorded reading of any metric.
   * @returns a function that stops the calls (idempotent).
   */
  subscribe(fn: ReadingListener): () => void {
    this.#listeners = [...this.#listeners, fn];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const index = this.#listeners.indexOf(fn);
      if (index >= 0) this.#listeners = [...this.#listeners.slice(0, index), ...this.#listeners.slice(index + 1)];
    };
  }

  /** Runs the status-change callback and the subscribers, each isolated from the others. */
  #notify(id: string, reading: Reading, from: ReadingStatus | 'none'): void {
    let failure: { error: unknown } | undefined;
    if (from !== reading.status && this.#onStatusChange) {
      try {
        this.#onStatusChange({
          metric: id,
          from,
          to: reading.status,
          value: reading.value,
          timestamp: reading.timestamp,
        });
      } catch (error) {
        failure = this.#listenerFailed(error, id, failure);
      }
    }
    for (const listener of this.#listeners) {
      try {
        listener(id, reading);
      } catch (error) {
        failure = this.#listenerFailed(error, id, failure);
      }
    }
    if (failure) {
      const reason = failure.error instanceof Error ? failure.error.message : String(failure.error);
      throw new VpmdError(
        'E_INTERNAL',
        `a telemetry listener failed on metric ${id} (the reading was stored): ${reason}`,
        { metric: id },
        { cause: failure.error },
      );
    }
  }

  /** Hands a listener error to `onListenerError`, or keeps the first one for rethrowing. */
  #listenerFailed(error: unknown, id: string, first: { error: unknown } | undefined): { error: unknown } | undefined {
    if (!this.#onListenerError) return first ?? { error };
    this.#onListenerError(error, id);
    return first;
  }

  #entry(id: string): MetricEntry {
    const entry = this.#metrics.get(id);
    if (!entry) {
      throw new VpmdError(
        'E_TELEMETRY_UNKNOWN',
        `no metric ${JSON.stringify(id)} is defined (list metrics to see the ids)`,
        {
          metric: String(id),
        },
      );
    }
    return entry;
  }

  #statusOf(id: string, value: number | null, given: ReadingStatus | undefined, def: MetricDefinition): ReadingStatus {
    if (given === undefined) return deriveStatus(value, def.thresholds);
    if (!READING_STATUSES.has(given)) {
      throw callerError(
        `metric ${id}: unknown status ${JSON.stringify(given)}; allowed: ${[...READING_STATUSES].join(', ')}`,
        {
          metric: id,
        },
      );
    }
    if (value === null && given !== 'unavailable') {
      throw callerError(`metric ${id}: a null value is unavailable, it cannot have status ${given}`, { metric: id });
    }
    return given;
  }

  /**
   * A metric's definition with its latest reading. Reused until a new reading or definition
   * (both are replaced, never changed): pollers read every metric on every request (Redfish
   * lists and reads each sensor of an expanded collection), and the spread and freeze of a new
   * snapshot cost more than the rest of such a read.
   */
  #snapshot(entry: MetricEntry): MetricSnapshot {
    const latest = entry.history.newest();
    const kept = entry.snapshot;
    if (kept !== undefined && kept.latest === latest && entry.snapshotOf === entry.definition) return kept;
    const made: MetricSnapshot = Object.freeze({ ...entry.definition, latest });
    entry.snapshot = made;
    entry.snapshotOf = entry.definition;
    return made;
  }
}
