/**
 * The BMC poller: every configured target on a jittered schedule, at most `concurrency` polls
 * at once, over one UDP socket bound to the management address. Readings go to the telemetry
 * store, new SEL entries become `hw.log.v1` events, chassis power is tracked per target.
 */
import {
  ConcurrencyLimiter,
  Type,
  type Logger,
  type ScopedEventBus,
  type ScopedTelemetry,
  type StateStore,
} from 'vpmd';
import { readSel, selInfo, type SelEntry } from '../commands/sel.js';
import type { IpmiConfig, ResolvedTarget } from '../config.js';
import { UdpEndpoint } from '../session/udp-endpoint.js';
import { BmcMemory } from './bmc-memory.js';
import type { SdrCache } from '../commands/sdr-repository.js';
import type { SensorReading } from '../commands/sensors.js';
import { TargetPoller, unknownTarget, type PollResult } from './target-poller.js';
import { pickPowerSensor, sensorMetric, sensorMetricId, systemPowerMetricId, toStoredUnit } from './telemetry-map.js';

const SelMarks = Type.Record(
  Type.String(),
  Type.Object({ erase: Type.Number(), add: Type.Number(), lastId: Type.Number() }),
);
const SEL_SPEC = { version: 1, schema: SelMarks } as const;

/** What the poller needs from the plugin context. */
export interface PollerDeps {
  readonly log: Logger;
  readonly telemetry: ScopedTelemetry;
  readonly events: ScopedEventBus;
  readonly state: StateStore;
}

/** Outcome of one sweep (`vpmctl ipmi poll`). */
export interface SweepResult {
  readonly targets: number;
  readonly successes: number;
  readonly failures: number;
  readonly skipped: number;
  readonly durationMs: number;
  /** Each target's poll time in this sweep (ms): median, 99.9th percentile, maximum. */
  readonly pollMs: { readonly median: number; readonly p999: number; readonly max: number };
  readonly errors: ReadonlyArray<{ readonly target: string; readonly error: string }>;
}

/** Metric ids of a target's sensors, index for index with its readings, and the sensor standing for system power (-1: none). */
interface MetricPlan {
  readonly cache: SdrCache;
  readonly ids: readonly string[];
  readonly power: number;
}

/** The poller of every target. */
export class Poller {
  readonly targets = new Map<string, TargetPoller>();
  private readonly limiter: ConcurrencyLimiter;
  private readonly defined = new Set<string>();
  /** Per target, how its readings become metrics, worked out once per SDR cache. */
  private readonly plans = new Map<string, MetricPlan>();
  private selMarks: Record<string, { erase: number; add: number; lastId: number }> = {};

  private constructor(
    private readonly cfg: IpmiConfig,
    private readonly deps: PollerDeps,
    readonly endpoint: UdpEndpoint,
    targets: readonly ResolvedTarget[],
    private readonly memory: BmcMemory,
  ) {
    this.limiter = new ConcurrencyLimiter(cfg.concurrency);
    // On a lossy link a request is retransmitted for up to requestBudget, never past one interval.
    const budgetMs = Math.min(cfg.requestBudget, cfg.interval) * 1000;
    const timing = { timeoutMs: cfg.timeout * 1000, retries: cfg.retries, budgetMs };
    const backoff = { minMs: cfg.backoffMin * 1000, maxMs: cfg.backoffMax * 1000 };
    const schedule = { sdrCheckMs: cfg.sdrCheck * 1000, chassisMs: cfg.chassisInterval * 1000, chassis: cfg.chassis };
    for (const t of targets) {
      const tp = new TargetPoller(t, endpoint, timing, backoff, schedule);
      memory.restore(tp);
      tp.onLearned = () => memory.remember(tp);
      this.targets.set(t.name, tp);
    }
  }

  /** Opens the socket on `bindAddress` and loads the SEL marks and what is remembered of each BMC. */
  static async open(
    cfg: IpmiConfig,
    deps: PollerDeps,
    targets: readonly ResolvedTarget[],
    bindAddress: string,
  ): Promise<Poller> {
    const memory = await BmcMemory.open(
      deps.state,
      deps.log,
      targets.map((t) => t.name),
    );
    const endpoint = await UdpEndpoint.open(bindAddress, cfg.maxInFlight);
    const p = new Poller(cfg, deps, endpoint, targets, memory);
    p.selMarks = { ...((await deps.state.read('sel-marks', SEL_SPEC)) ?? {}) };
    return p;
  }

  /** The poller of `name`. @throws E_IPMI_TARGET */
  target(name: string): TargetPoller {
    const t = this.targets.get(name);
    if (t === undefined) throw unknownTarget(name, [...this.targets.keys()]);
    return t;
  }

  /**
   * Polls one target (bounded by the concurrency limit). A target in backoff is skipped unless
   * `force`. Returns false on failure; never throws.
   */
  async poll(name: string, force = false): Promise<'ok' | 'failed' | 'skipped'> {
    const tp = this.target(name);
    if (!force && tp.inBackoff()) return 'skipped';
    return this.limiter.run(async () => {
      try {
        const r = await tp.poll();
        this.record(tp.target.name, r);
        if (r.unread > 0)
          this.deps.log.warn(
            { target: name, unread: r.unread, fault: tp.dominantFault },
            `IPMI poll of ${name}: ${tp.detail}`,
          );
        if (this.cfg.sel) {
          // A BMC without a usable SEL still has good readings: log, do not fail the poll.
          await this.pollSel(tp).catch((e: unknown) =>
            this.deps.log.warn({ target: name, err: (e as Error).message }, `SEL of ${name} not read`),
          );
        }
        return 'ok';
      } catch (e) {
        this.markUnavailable(tp.target.name);
        this.deps.log.warn(
          { target: name, code: tp.lastError?.code, retryInMs: Math.max(0, tp.retryAt - Date.now()) },
          `IPMI poll of ${name} failed: ${tp.lastError?.message ?? String(e)}`,
        );
        return 'failed';
      }
    });
  }

  /** Polls every target now (forced), reporting counts and duration. */
  async sweep(): Promise<SweepResult> {
    const started = performance.now();
    const names = [...this.targets.keys()];
    const took = new Float64Array(names.length);
    const outcomes = await Promise.all(
      names.map(async (n, i) => {
        const t = performance.now();
        const outcome = await this.poll(n, true);
        took[i] = performance.now() - t;
        return outcome;
      }),
    );
    took.sort();
    const at = (q: number): number =>
      Math.round((took[Math.min(took.length - 1, Math.ceil(q * took.length) - 1)] ?? 0) * 10) / 10;
    const errors = names.flatMap((n, i) =>
      outcomes[i] === 'failed' ? [{ target: n, error: this.targets.get(n)?.lastError?.message ?? 'failed' }] : [],
    );
    return {
      targets: names.length,
      successes: outcomes.filter((o) => o === 'ok').length,
      failures: errors.length,
      skipped: outcomes.filter((o) => o === 'skipped').length,
      durationMs: Math.round(performance.now() - started),
      pollMs: { median: at(0.5), p999: at(0.999), max: at(1) },
      errors,
    };
  }

  private define(id: string, fn: () => Parameters<ScopedTelemetry['define']>[0]): void {
    if (this.defined.has(id)) return;
    this.deps.telemetry.define(fn());
    this.defined.add(id);
  }

  private record(target: string, r: PollResult): void {
    let plan = this.plans.get(target);
    if (plan?.cache !== r.cache) {
      plan = this.plan(target, r.cache, r.readings);
      this.plans.set(target, plan);
    }
    const readings = r.readings;
    for (let i = 0; i < readings.length; i++) {
      const x = readings[i] as SensorReading;
      const value = x.value === null ? null : x.discrete ? x.value : toStoredUnit(x.unit, x.value);
      this.deps.telemetry.record(plan.ids[i] as string, value, { status: x.status });
    }
    const fallback = readings[plan.power];
    const power =
      r.systemPower ?? (fallback?.value != null ? { watts: fallback.value, source: fallback.name } : undefined);
    if (power !== undefined) {
      const id = systemPowerMetricId(target);
      this.define(id, () => ({
        id,
        name: `${target} system input power`,
        kind: 'power',
        unit: 'W',
        source: { plugin: 'ipmi', target, sensor: power.source === 'dcmi' ? 'dcmi' : power.source },
      }));
      this.deps.telemetry.record(id, power.watts);
    }
  }

  /** Defines the metrics of `readings` (the sensors of `cache`) and picks the fallback power sensor. */
  private plan(target: string, cache: SdrCache, readings: readonly SensorReading[]): MetricPlan {
    const ids = readings.map((x) => {
      const id = sensorMetricId(target, x);
      this.define(id, () => sensorMetric(target, x));
      return id;
    });
    const power = pickPowerSensor(readings);
    return { cache, ids, power: power === undefined ? -1 : readings.indexOf(power) };
  }

  /** A failed target's metrics read "unavailable" instead of the last value. */
  private markUnavailable(target: string): void {
    for (const m of this.deps.telemetry.list({ plugin: 'ipmi', target })) {
      if (m.latest !== undefined && m.latest.value !== null)
        this.deps.telemetry.record(m.id, null, { status: 'unavailable' });
    }
  }

  /** Emits new SEL entries (by record id since the last erase) as hw.log.v1 events. */
  private async pollSel(tp: TargetPoller): Promise<void> {
    const name = tp.target.name;
    const mark = this.selMarks[name];
    const info = await tp.withSession((s) => selInfo(s));
    if (mark !== undefined && mark.add === info.addTimestamp && mark.erase === info.eraseTimestamp) return;
    const fresh = mark === undefined || mark.erase !== info.eraseTimestamp;
    const entries: SelEntry[] = info.entries === 0 ? [] : await tp.withSession((s) => readSel(s));
    const lastId = fresh ? -1 : (mark?.lastId ?? -1);
    let highest = fresh ? -1 : lastId;
    for (const e of entries) {
      if (e.id <= lastId) continue;
      highest = Math.max(highest, e.id);
      this.deps.events.emit('hw.log.v1', {
        source: `ipmi/${name}`,
        id: `${name}:${info.eraseTimestamp}:${e.id}`,
        // Pre-Init timestamps count from BMC start, not the epoch: use the time we saw it.
        timestamp: e.timestamp >= 0x20000000 ? e.timestamp * 1000 : Date.now(),
        severity: e.severity,
        message: `${e.sensorType} #0x${e.sensorNumber.toString(16).padStart(2, '0')} | ${e.description} | ${e.direction}`,
      });
    }
    this.selMarks[name] = { erase: info.eraseTimestamp, add: info.addTimestamp, lastId: highest };
    await this.deps.state.write('sel-marks', SEL_SPEC, this.selMarks);
  }

  /** Sends a cheap request on sessions idle for `keepalive` seconds. */
  async keepalive(now = Date.now()): Promise<void> {
    await Promise.all([...this.targets.values()].map((tp) => tp.keepalive(this.cfg.keepalive * 1000, now)));
  }

  /** Closes every session (Close Session on each BMC) and the socket. */
  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.close()));
    await this.endpoint.close();
    await this.memory.flush();
  }
}
