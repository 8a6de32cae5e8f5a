/**
 * The agent's intake: which datagram is worked on first, and which is not worked on at all.
 *
 * A flood of garbage or of discovery probes (unknown engine ID) costs the agent a parse and a
 * Report each, and while the event loop does that the kernel drops datagrams indiscriminately,
 * legitimate ones included. So datagrams that arrive together (one event-loop turn) are sorted
 * before any crypto: those that name our engine ID and a known user with authentication
 * ("candidates", cheap to recognise from the header) are served first and all of them; the rest
 * (malformed, discovery, unknown users, v1/v2c) are served after them, at most
 * {@link IntakeLimits.lowPerTurn} per turn and {@link IntakeLimits.perSourceRate} per second
 * from one source address, and dropped beyond that without being parsed further. A discovery
 * a real manager sends once per session stays far inside these budgets.
 */
import type { RemoteInfo } from 'node:dgram';

/** How a datagram is queued. */
export type Priority = 'high' | 'low';

/** Budgets of the low-priority (unauthenticated) work. */
export interface IntakeLimits {
  /** Unauthenticated datagrams served per event-loop turn, after every candidate. */
  readonly lowPerTurn: number;
  /** Unauthenticated datagrams served per second from one source address (token bucket rate). */
  readonly perSourceRate: number;
  /** Bucket size: the burst one source may send at once. */
  readonly perSourceBurst: number;
  /** Datagrams waiting at most; beyond, low-priority ones are dropped on arrival. */
  readonly maxQueued: number;
}

/** Defaults: generous for managers, tight for floods. */
export const DEFAULT_INTAKE_LIMITS: IntakeLimits = Object.freeze({
  lowPerTurn: 32,
  perSourceRate: 200,
  perSourceBurst: 400,
  maxQueued: 4096,
});

/** Counters the agent reports (`snmp status`). */
export interface IntakeStats {
  /** Candidates served. */
  high: number;
  /** Unauthenticated datagrams served. */
  low: number;
  /** Unauthenticated datagrams dropped: over a source's budget, over the queue, or left at the turn's end. */
  shed: number;
}

interface Item {
  readonly buf: Buffer;
  readonly rinfo: RemoteInfo;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Sorts, budgets and serves datagrams; see the module comment. */
export class Intake {
  private high: Item[] = [];
  private low: Item[] = [];
  private scheduled = false;
  private readonly buckets = new Map<string, Bucket>();
  readonly stats: IntakeStats = { high: 0, low: 0, shed: 0 };

  constructor(
    private readonly classify: (buf: Buffer) => Priority,
    private readonly serve: (buf: Buffer, rinfo: RemoteInfo) => Promise<void>,
    private readonly onError: (e: unknown) => void,
    private readonly limits: IntakeLimits = DEFAULT_INTAKE_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Queues one datagram (called from the socket's 'message' event). */
  push(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.classify(buf) === 'high') this.high.push({ buf, rinfo });
    else if (this.high.length + this.low.length < this.limits.maxQueued && this.take(rinfo.address))
      this.low.push({ buf, rinfo });
    else this.stats.shed++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Serves the turn's candidates, then a bounded share of the rest; drops what is left. */
  private drain(): void {
    this.scheduled = false;
    const high = this.high;
    const low = this.low;
    this.high = [];
    this.low = [];
    for (const item of high) {
      this.stats.high++;
      this.serve(item.buf, item.rinfo).catch(this.onError);
    }
    const n = Math.min(low.length, this.limits.lowPerTurn);
    for (let i = 0; i < n; i++) {
      const item = low[i] as Item;
      this.stats.low++;
      this.serve(item.buf, item.rinfo).catch(this.onError);
    }
    this.stats.shed += low.length - n;
    if (this.buckets.size > 10_000) this.buckets.clear(); // many spoofed sources: forget them all
  }

  /** Takes one token from the source's bucket; false when it is empty. */
  private take(address: string): boolean {
    const t = this.now();
    let b = this.buckets.get(address);
    if (b === undefined) {
      b = { tokens: this.limits.perSourceBurst, at: t };
      this.buckets.set(address, b);
    } else {
      b.tokens = Math.min(this.limits.perSourceBurst, b.tokens + ((t - b.at) / 1000) * this.limits.perSourceRate);
      b.at = t;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
