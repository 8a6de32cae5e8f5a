/**
 * A typed, in-process event bus. Event names and payloads are declared in
 * `core/contracts/events.ts`; emitting an undeclared name is a type error, and at run time
 * (for external JavaScript plugins) an error. A listener that throws is logged and contained:
 * one bad subscriber never stops delivery to the others.
 */
import type { Logger } from '../logger.js';
import type { VpmdEventMap, VpmdEventName } from '../contracts/events.js';
import { VpmdError } from '../errors.js';

/** A listener for one event type. */
export type EventListener<K extends VpmdEventName> = (payload: VpmdEventMap[K]) => void | Promise<void>;

/** Names accepted at run time; kept in sync with the map by the type below. */
const DECLARED: Record<VpmdEventName, true> = {
  'plugin.state.v1': true,
  'telemetry.status.v1': true,
  'audit.v1': true,
  'host.power.v1': true,
  'host.sleep.v1': true,
  'hw.log.v1': true,
};

/** Every declared event type, for subscribers that react to any change (a cache, a relay). */
export const EVENT_NAMES: readonly VpmdEventName[] = Object.freeze(Object.keys(DECLARED) as VpmdEventName[]);

/** Returns true when `name` is a declared event type. */
export function isEventName(name: string): name is VpmdEventName {
  return Object.prototype.hasOwnProperty.call(DECLARED, name);
}

interface Subscription {
  readonly name: VpmdEventName;
  readonly owner: string;
  readonly fn: (payload: never) => void | Promise<void>;
}

/** The agent-wide bus. Plugins see it through {@link ScopedEventBus}. */
export class EventBus {
  private readonly subs = new Set<Subscription>();

  constructor(private readonly log: Logger) {}

  /** Subscribes `fn` on behalf of `owner`; returns an unsubscribe function. */
  on<K extends VpmdEventName>(owner: string, name: K, fn: EventListener<K>): () => void {
    if (!isEventName(name))
      throw new VpmdError('E_EVENT_UNKNOWN', `event type '${String(name)}' is not declared`, { event: String(name) });
    const sub: Subscription = { name, owner, fn };
    this.subs.add(sub);
    return () => this.subs.delete(sub);
  }

  /** Delivers `payload` to every subscriber of `name`, synchronously in subscription order. */
  emit<K extends VpmdEventName>(name: K, payload: VpmdEventMap[K]): void {
    if (!isEventName(name))
      throw new VpmdError('E_EVENT_UNKNOWN', `event type '${String(name)}' is not declared`, { event: String(name) });
    for (const sub of [...this.subs]) {
      if (sub.name !== name) continue;
      try {
        const r = (sub.fn as EventListener<K>)(payload);
        if (r instanceof Promise) r.catch((e: unknown) => this.report(sub, e));
      } catch (e) {
        this.report(sub, e);
      }
    }
  }

  /** Removes every subscription of `owner` (on plugin stop or rollback); returns how many. */
  removeOwner(owner: string): number {
    let n = 0;
    for (const sub of [...this.subs]) {
      if (sub.owner === owner) {
        this.subs.delete(sub);
        n++;
      }
    }
    return n;
  }

  /** Number of live subscriptions of `owner` (for tests and health). */
  countOwner(owner: string): number {
    let n = 0;
    for (const sub of this.subs) if (sub.owner === owner) n++;
    return n;
  }

  private report(sub: Subscription, e: unknown): void {
    this.log.error({ event: sub.name, subscriber: sub.owner, err: e }, 'event listener failed');
  }
}

/** The bus as one plugin sees it: its subscriptions are owned by it and dropped on stop. */
export interface ScopedEventBus {
  on<K extends VpmdEventName>(name: K, fn: EventListener<K>): () => void;
  emit<K extends VpmdEventName>(name: K, payload: VpmdEventMap[K]): void;
}

/** Creates the plugin-scoped view of `bus`. */
export function scopeEventBus(bus: EventBus, owner: string): ScopedEventBus {
  return {
    on: (name, fn) => bus.on(owner, name, fn),
    emit: (name, payload) => bus.emit(name, payload),
  };
}
