/**
 * The Redfish BMC poller: every configured target on its own jittered schedule, at most
 * `poll.concurrency` BMCs at once. Readings go to the telemetry store (source plugin `redfish`,
 * target = BMC name, sensor = the resource URI), new LogService entries become `hw.log.v1`
 * events, and where a BMC offers an SSE stream its events trigger the log reads instead of
 * the interval. A failing BMC degrades itself only: its metrics read "unavailable" and it is
 * retried after a backoff.
 */
import {
  ConcurrencyLimiter,
  type Logger,
  type MetricDefinition,
  type ScopedEventBus,
  type ScopedTelemetry,
  type StateStore,
} from 'vpmd';
import type { PollConfig, ResolvedRedfishTarget } from './config.js';
import { EventStream } from './events.js';
import { mergeRereads, rereadsFor, type EventRereads } from './event-routing.js';
import { LogReader } from './logs.js';
import type { RfReading } from './readings.js';
import { RedfishTarget, unknownRedfishTarget } from './target.js';

/** A target's event re-reads: the one running and what waits for the next. */
interface RereadSlot {
  pending?: EventRereads;
  running?: Promise<void>;
}

/** What the poller needs from the plugin context. */
export interface RedfishPollerDeps {
  readonly log: Logger;
  readonly telemetry: ScopedTelemetry;
  readonly events: ScopedEventBus;
  readonly state: StateStore;
  /** Address to send from (the management address); undefined: any. */
  readonly localAddress?: string;
}

/** Metric id of one reading. */
export function readingMetricId(target: string, chassis: string, r: Pick<RfReading, 'key'>): string {
  return `redfish/${target}/${chassis}/${r.key}`;
}

/** Metric id of a target's whole-system input power. */
export function systemPowerMetricId(target: string): string {
  return `redfish/${target}/system-power`;
}

/** The poller of every Redfish target. */
export class RedfishPoller {
  readonly targets = new Map<string, RedfishTarget>();
  readonly logs: LogReader;
  private readonly limiter: ConcurrencyLimiter;
  private readonly defined = new Set<string>();
  private readonly streams = new Map<string, EventStream>();
  private readonly logReads = new Map<string, Promise<void>>();
  private readonly rereads = new Map<string, RereadSlot>();
  private closed = false;

  constructor(
    private readonly cfg: PollConfig,
    private readonly deps: RedfishPollerDeps,
    targets: readonly ResolvedRedfishTarget[],
  ) {
    this.limiter = new ConcurrencyLimiter(cfg.concurrency);
    this.logs = new LogReader(deps.events, deps.state);
    const timing = { timeoutMs: cfg.timeout * 1000, retries: cfg.retries, requestsPerBmc: cfg.requestsPerBmc };
    const backoff = { minMs: cfg.backoffMin * 1000, maxMs: cfg.backoffMax * 1000 };
    for (const t of targets) this.targets.set(t.name, new RedfishTarget(t, timing, backoff, deps.localAddress));
  }

  /** Loads what is remembered of the logs. */
  async open(): Promise<void> {
    await this.logs.load();
  }

  /** The target `name`. @throws E_REDFISH_TARGET */
  target(name: string): RedfishTarget {
    const t = this.targets.get(name);
    if (t === undefined) throw unknownRedfishTarget(name, [...this.targets.keys()]);
    return t;
  }

  /** Polls one target (bounded by the concurrency); a target in backoff is skipped unless `force`. Never throws. */
  async poll(name: string, force = false): Promise<'ok' | 'failed' | 'skipped'> {
    const t = this.target(name);
    if (this.closed || (!force && t.inBackoff())) return 'skipped';
    return this.limiter.run(async () => {
      try {
        // Logs are read alongside the readings (not after them) unless the SSE stream brings them.
        await t.poll(this.cfg.logs && !t.streaming ? () => this.readLogs(t) : undefined);
        t.succeeded();
        this.record(t);
        if (t.partial.length > 0)
          this.deps.log.warn({ target: name, unread: t.partial.length }, `Redfish poll of ${name}: ${t.detail ?? ''}`);
        this.follow(t);
        return 'ok';
      } catch (e) {
        t.failed(e);
        this.markUnavailable(name);
        this.deps.log.warn(
          { target: name, code: t.lastError?.code, retryInMs: Math.max(0, t.retryAt - Date.now()) },
          `Redfish poll of ${name} failed: ${t.lastError?.message ?? String(e)}`,
        );
        return 'failed';
      }
    });
  }

  /** Polls every target now, at once (bounded), reporting counts. */
  async sweep(): Promise<{ ok: number; failed: number; durationMs: number }> {
    const started = performance.now();
    const outcomes = await Promise.all([...this.targets.keys()].map((n) => this.poll(n, true)));
    return {
      ok: outcomes.filter((o) => o === 'ok').length,
      failed: outcomes.filter((o) => o === 'failed').length,
      durationMs: Math.round(performance.now() - started),
    };
  }

  /** Reads a target's logs (one read at a time per target); failures are logged, not thrown. */
  readLogs(t: RedfishTarget): Promise<void> {
    const name = t.target.name;
    const running = this.logReads.get(name);
    if (running) return running;
    const p = this.logs
      .poll(t)
      .then(() => undefined)
      .catch((e: unknown) =>
        this.deps.log.warn({ target: name, err: (e as Error).message }, `logs of ${name} not read`),
      )
      .finally(() => this.logReads.delete(name));
    this.logReads.set(name, p);
    return p;
  }

  /** Opens the target's SSE stream once its URI is known (and events are wanted). */
  private follow(t: RedfishTarget): void {
    const uri = t.discovery?.sse;
    const name = t.target.name;
    if (!t.target.events || uri === undefined || this.streams.has(name) || this.closed) return;
    const stream = new EventStream(
      t,
      uri,
      (data) => this.onEvent(t, data),
      (up, why) => {
        if (up !== t.streaming || why !== undefined)
          this.deps.log.info(
            { target: name, uri, ...(why ? { why } : {}) },
            `SSE stream of ${name} ${up ? 'open' : 'closed'}`,
          );
        t.streaming = up;
      },
    );
    this.streams.set(name, stream);
    stream.start();
  }

  /** An event: what it names is read again at once (events that come meanwhile are merged). */
  private onEvent(t: RedfishTarget, data: string): void {
    const d = t.discovery;
    if (d === undefined || this.closed) return;
    const name = t.target.name;
    const slot = this.rereads.get(name) ?? {};
    slot.pending = mergeRereads(slot.pending, rereadsFor(data, d));
    this.rereads.set(name, slot);
    slot.running ??= this.drainRereads(t, slot).finally(() => {
      slot.running = undefined;
    });
  }

  private async drainRereads(t: RedfishTarget, slot: RereadSlot): Promise<void> {
    const name = t.target.name;
    while (slot.pending !== undefined && !this.closed) {
      const want = slot.pending;
      slot.pending = undefined;
      // A log read already under way may have missed what the event announced: a new one follows it.
      const logs = this.cfg.logs
        ? (this.logReads.get(name) ?? Promise.resolve()).then(() => this.readLogs(t))
        : undefined;
      if (want.system || want.chassis.size > 0) {
        try {
          await this.limiter.run(() => t.reread(want));
          this.record(t);
        } catch (e) {
          // The next poll decides the target's health; an event's re-read only logs its failure.
          this.deps.log.warn({ target: name, err: (e as Error).message }, `re-read of ${name} after an event failed`);
        }
      }
      await logs;
    }
  }

  private define(def: MetricDefinition): void {
    if (this.defined.has(def.id)) return;
    this.deps.telemetry.define(def);
    this.defined.add(def.id);
  }

  private record(t: RedfishTarget): void {
    const name = t.target.name;
    let power: { watts: number; sensor: string } | undefined;
    for (const { chassis, reading: r } of t.readings) {
      const id = readingMetricId(name, chassis, r);
      this.define({
        id,
        name: `${name} ${r.name}`,
        kind: r.kind,
        unit: r.unit,
        source: { plugin: 'redfish', target: name, sensor: r.sensor },
        ...(r.thresholds ? { thresholds: r.thresholds } : {}),
      });
      this.deps.telemetry.record(id, r.value, { status: r.status });
      if (power === undefined && r.chassisPower && r.value !== null) power = { watts: r.value, sensor: r.sensor };
    }
    if (power !== undefined) {
      const id = systemPowerMetricId(name);
      this.define({
        id,
        name: `${name} system input power`,
        kind: 'power',
        unit: 'W',
        source: { plugin: 'redfish', target: name, sensor: power.sensor },
      });
      this.deps.telemetry.record(id, power.watts);
    }
  }

  /** A failed target's metrics read "unavailable" instead of the last value. */
  private markUnavailable(target: string): void {
    for (const m of this.deps.telemetry.list({ plugin: 'redfish', target })) {
      if (m.latest !== undefined && m.latest.value !== null)
        this.deps.telemetry.record(m.id, null, { status: 'unavailable' });
    }
  }

  /** Stops the streams, logs out of every BMC and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
    await Promise.allSettled([...this.rereads.values()].map((s) => s.running ?? Promise.resolve()));
    await Promise.allSettled([...this.logReads.values()]);
    await Promise.all([...this.targets.values()].map((t) => t.close()));
  }
}
