/**
 * Redfish events: vpmd events (host power changes, telemetry threshold crossings, hardware log
 * entries) become ResourceEvent messages, sent to every open SSE stream and POSTed to every
 * subscription's HTTPS destination. Subscriptions are persisted (`subscriptions` state key);
 * a failed delivery is retried with doubling back-off up to DeliveryRetryAttempts, then dropped
 * and logged. One slow destination never delays another.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { ServerResponse } from 'node:http';
import { Type, type Static, type VpmdEventMap } from 'vpmd';
import type { RedfishContext } from '../config.js';
import { eventMessage } from '../http/redfish-error.js';
import { odataType, toId } from '../resources/types.js';
import { chassisIdOfTarget } from '../resources/host-bmc.js';

const Sub = Type.Object({
  id: Type.String(),
  destination: Type.String(),
  context: Type.Optional(Type.String()),
  owner: Type.String(),
  registryPrefixes: Type.Optional(Type.Array(Type.String())),
});
const Stored = Type.Object({
  subscriptions: Type.Array(Sub),
  retryAttempts: Type.Integer({ minimum: 0 }),
  retryIntervalSeconds: Type.Integer({ minimum: 1 }),
});
const SPEC = { version: 1, schema: Stored } as const;

/** A persisted subscription. */
export type Subscription = Static<typeof Sub>;

/** An open SSE stream (also shown as an EventDestination while open). */
export interface SseClient {
  readonly id: string;
  readonly owner: string;
  /** The session the stream was opened on (closed with it); none with Basic authentication. */
  readonly sessionId?: string;
  readonly res: ServerResponse;
}

/** One record of an Event payload. */
export type EventRecord = Record<string, unknown> & { MessageId: string };

/** Subscriptions, SSE streams and delivery. */
export class EventHub {
  private data: Static<typeof Stored> = { subscriptions: [], retryAttempts: 3, retryIntervalSeconds: 5 };
  private readonly sse = new Map<string, SseClient>();
  private seq = 0;
  private ca: string | undefined;
  private stopped = false;
  /** Deliveries that gave up (for health and tests). */
  failures = 0;
  delivered = 0;

  constructor(private readonly ctx: RedfishContext) {
    ctx.events.on('host.power.v1', (e) => this.onPower(e));
    ctx.events.on('telemetry.status.v1', (e) => this.onStatus(e));
    ctx.events.on('hw.log.v1', (e) => this.onHwLog(e));
    // The power plugin's budget exhaustion/recovery, when it is loaded (its event type exists only then).
    if (ctx.events.names().includes('power.budget.v1')) ctx.events.on('power.budget.v1', (e) => this.onBudget(e));
  }

  /** Loads persisted subscriptions and the destination CA. */
  async start(): Promise<void> {
    this.stopped = false;
    const saved = await this.ctx.state.read('subscriptions', SPEC);
    if (saved) this.data = saved;
    if (this.ctx.config.eventCa !== undefined) this.ca = await readFile(this.ctx.config.eventCa, 'utf8');
  }

  /** Ends every SSE stream; pending retries stop with the scheduler. */
  stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.sse.values()) c.res.end();
    this.sse.clear();
    return Promise.resolve();
  }

  /** Delivery retry settings. */
  get settings(): { retryAttempts: number; retryIntervalSeconds: number } {
    return { retryAttempts: this.data.retryAttempts, retryIntervalSeconds: this.data.retryIntervalSeconds };
  }

  /** Updates and persists the delivery retry settings. */
  async setSettings(p: { retryAttempts?: number; retryIntervalSeconds?: number }): Promise<void> {
    this.data = { ...this.data, ...p };
    await this.ctx.state.write('subscriptions', SPEC, this.data);
  }

  /** Persisted subscriptions. */
  subscriptions(): readonly Subscription[] {
    return this.data.subscriptions;
  }

  /** Open SSE streams. */
  streams(): readonly SseClient[] {
    return [...this.sse.values()];
  }

  /** Adds and persists a subscription. */
  async subscribe(s: Omit<Subscription, 'id'>): Promise<Subscription> {
    const sub = { ...s, id: randomUUID() };
    this.data = { ...this.data, subscriptions: [...this.data.subscriptions, sub] };
    await this.ctx.state.write('subscriptions', SPEC, this.data);
    return sub;
  }

  /** Changes a subscription's Context. */
  async update(id: string, context: string): Promise<void> {
    this.data = {
      ...this.data,
      subscriptions: this.data.subscriptions.map((s) => (s.id === id ? { ...s, context } : s)),
    };
    await this.ctx.state.write('subscriptions', SPEC, this.data);
  }

  /** Removes a subscription; false when there was none. */
  async unsubscribe(id: string): Promise<boolean> {
    const before = this.data.subscriptions.length;
    this.data = { ...this.data, subscriptions: this.data.subscriptions.filter((s) => s.id !== id) };
    await this.ctx.state.write('subscriptions', SPEC, this.data);
    return this.data.subscriptions.length < before;
  }

  /** Attaches an SSE stream; it is removed when the client goes away. */
  openStream(owner: string, res: ServerResponse, sessionId?: string): SseClient {
    const c = { id: `SSE-${randomUUID()}`, owner, res, ...(sessionId !== undefined ? { sessionId } : {}) };
    this.sse.set(c.id, c);
    res.on('close', () => this.sse.delete(c.id));
    res.write(': vpmd Redfish event stream\n\n');
    return c;
  }

  /** Closes the streams opened on a session that ended, so a logout also ends its events. */
  closeStreamsOf(sessionId: string): void {
    for (const c of [...this.sse.values()]) if (c.sessionId === sessionId) c.res.end();
  }

  /** Sends records to every stream and subscription. */
  publish(records: EventRecord[]): void {
    if (this.stopped) return;
    const id = ++this.seq;
    const payload = (context?: string): Record<string, unknown> => ({
      '@odata.type': odataType('Event'),
      Id: String(id),
      Name: 'vpmd event',
      ...(context !== undefined ? { Context: context } : {}),
      Events: records.map((r, i) => ({ ...r, MemberId: String(i) })),
    });
    for (const c of this.sse.values()) c.res.write(`id: ${id}\ndata: ${JSON.stringify(payload())}\n\n`);
    for (const s of this.data.subscriptions) {
      const prefixes = s.registryPrefixes;
      const wanted = records.filter((r) => !prefixes?.length || prefixes.some((p) => r.MessageId.startsWith(`${p}.`)));
      if (wanted.length)
        this.deliver(
          s,
          JSON.stringify({ ...payload(s.context), Events: wanted.map((r, i) => ({ ...r, MemberId: String(i) })) }),
          0,
        );
    }
  }

  private deliver(s: Subscription, body: string, attempt: number): void {
    this.post(s.destination, body).then(
      () => void this.delivered++,
      (e: unknown) => {
        if (this.stopped) return;
        if (attempt >= this.data.retryAttempts) {
          this.failures++;
          this.ctx.log.warn(
            { subscription: s.id, destination: s.destination, err: (e as Error).message },
            'redfish event dropped after retries',
          );
          return;
        }
        const delay = this.data.retryIntervalSeconds * 1000 * 2 ** attempt;
        this.ctx.scheduler.after(`event-retry-${s.id}-${randomUUID()}`, delay, () =>
          this.deliver(s, body, attempt + 1),
        );
      },
    );
  }

  private post(destination: string, body: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        destination,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          timeout: 10_000,
          ...(this.ca ? { ca: this.ca } : {}),
        },
        (res) => {
          res.resume();
          const ok = (res.statusCode ?? 500) < 300;
          res.on('end', () => (ok ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  private record(
    id: Parameters<typeof eventMessage>[0],
    args: string[],
    origin: string,
    timestamp: number,
    severity?: string,
  ): EventRecord {
    const m = eventMessage(id, args);
    return {
      EventType: 'Alert',
      EventId: `${timestamp}-${this.seq + 1}`,
      EventTimestamp: new Date(timestamp).toISOString(),
      ...m,
      ...(severity ? { MessageSeverity: severity } : {}),
      OriginOfCondition: { '@odata.id': origin },
    };
  }

  private onPower(e: VpmdEventMap['host.power.v1']): void {
    const uri = `/redfish/v1/Systems/${this.ctx.config.systemId}`;
    const id = (
      {
        on: 'ResourcePoweredOn',
        suspending: 'ResourcePoweringOff',
        suspended: 'ResourcePaused',
        resuming: 'ResourcePoweringOn',
        off: 'ResourcePoweredOff',
      } as const
    )[e.state];
    this.publish([this.record(id, [uri], uri, e.timestamp)]);
  }

  private onStatus(e: VpmdEventMap['telemetry.status.v1']): void {
    if (e.to === 'unavailable') return;
    let target = 'host';
    try {
      target = this.ctx.telemetry.get(e.metric).source.target;
    } catch {
      // metric removed meanwhile: keep the host chassis as origin
    }
    const ch = chassisIdOfTarget(this.ctx, target);
    const uri = `/redfish/v1/Chassis/${ch}/Sensors/${toId(e.metric)}`;
    const id = (
      {
        ok: 'ResourceStatusChangedOK',
        warning: 'ResourceStatusChangedWarning',
        critical: 'ResourceStatusChangedCritical',
      } as const
    )[e.to];
    const health = { ok: 'OK', warning: 'Warning', critical: 'Critical' }[e.to];
    this.publish([this.record(id, [uri, health], uri, e.timestamp)]);
  }

  private onHwLog(e: VpmdEventMap['hw.log.v1']): void {
    const uri = `/redfish/v1/Chassis/${chassisIdOfTarget(this.ctx, e.source)}`;
    const sev = { info: 'OK', warning: 'Warning', critical: 'Critical' }[e.severity];
    const rec = this.record('ResourceErrorsDetected', [e.source, e.message], uri, e.timestamp, sev);
    this.publish([rec]);
  }

  private onBudget(e: VpmdEventMap['power.budget.v1']): void {
    const uri = `/redfish/v1/Chassis/${this.ctx.config.systemId}/Controls/PowerLimit`;
    const [id, health] =
      e.kind === 'exhausted'
        ? (['ResourceStatusChangedWarning', 'Warning'] as const)
        : (['ResourceStatusChangedOK', 'OK'] as const);
    this.publish([this.record(id, [`${uri} (budget of VM ${e.vm} ${e.kind})`, health], uri, e.timestamp, health)]);
  }
}
