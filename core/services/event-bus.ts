/**
 * A typed, in-process event bus. The core's event names and payloads are declared in
 * `core/contracts/events.ts`; a plugin's own event types are declared in its manifest and put
 * on the bus by the kernel before any plugin registers ({@link EventBus.declare}). Emitting an
 * undeclared name is a type error, and at run time (for external JavaScript plugins) an error.
 * A listener that throws is logged and contained: one bad subscriber never stops delivery to the
 * others.
 */
import type { Logger } from '../logger.js';
import type { CoreEventName, VpmdEventMap, VpmdEventName } from '../contracts/events.js';
import { VpmdError } from '../errors.js';

/** A listener for one event type. */
export type EventListener<K extends VpmdEventName> = (payload: VpmdEventMap[K]) => void | Promise<void>;

/** The core's names, accepted at run time; kept in sync with the map by the type below. */
const CORE_DECLARED: Record<CoreEventName, true> = {
  'plugin.state.v1': true,
  'telemetry.status.v1': true,
  'audit.v1': true,
  'host.power.v1': true,
  'host.sleep.v1': true,
  'hw.log.v1': true,
  'domain.lifecycle.v1': true,
};

/**
 * The core's event types. A subscriber that reacts to any change (a cache, a relay) lists the
 * plugins' event types too with `ctx.events.names()`.
 */
export const EVENT_NAMES: readonly CoreEventName[] = Object.freeze(Object.keys(CORE_DECLARED) as CoreEventName[]);

/** Returns true when `name` is one of the core's event types. */
export function isCoreEventName(name: string): name is CoreEventName {
  return Object.prototype.hasOwnProperty.call(CORE_DECLARED, name);
}

interface Subscription {
  readonly name: VpmdEventName;
  readonly owner: string;
  readonly fn: (payload: never) => void | Promise<void>;
}

/** The agent-wide bus. Plugins see it through {@link ScopedEventBus}. */
export class EventBus {
  private readonly subs = new Set<Subscription>();
  /** Plugin event types on this bus, by name, with the plugin that owns each. */
  private readonly pluginEvents = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  /**
   * Declares `owner`'s own event types (the kernel does, from the manifest, after
   * `core/kernel/vocabulary.ts` checked their names). Declaring the same names again is a no-op.
   * @throws VpmdError E_PLUGIN_CLAIMED when a name is the core's or another plugin's.
   */
  declare(owner: string, names: readonly string[]): void {
    for (const name of names) {
      const holder = isCoreEventName(name) ? 'the core' : this.pluginEvents.get(name);
      if (holder !== undefined && holder !== owner)
        throw new VpmdError(
          'E_PLUGIN_CLAIMED',
          `plugin ${owner}: event type ${name} is already declared by ${holder === 'the core' ? holder : `plugin ${holder}`}`,
          {
            plugin: owner,
            event: name,
          },
        );
    }
    for (const name of names) this.pluginEvents.set(name, owner);
  }

  /** Every event type on this bus: the core's, then the plugins' in declaration order. */
  names(): VpmdEventName[] {
    return [...EVENT_NAMES, ...(this.pluginEvents.keys() as IterableIterator<VpmdEventName>)];
  }

  /** True when `name` is declared on this bus. */
  isDeclared(name: string): name is VpmdEventName {
    return isCoreEventName(name) || this.pluginEvents.has(name);
  }

  /** The plugin that owns the event type `name`; undefined for the core's and unknown ones. */
  ownerOf(name: string): string | undefined {
    return this.pluginEvents.get(name);
  }

  /** Subscribes `fn` on behalf of `owner`; returns an unsubscribe function. */
  on<K extends VpmdEventName>(owner: string, name: K, fn: EventListener<K>): () => void {
    this.assertDeclared(name);
    const sub: Subscription = { name, owner, fn };
    this.subs.add(sub);
    return () => this.subs.delete(sub);
  }

  /** Delivers `payload` to every subscriber of `name`, synchronously in subscription order. */
  emit<K extends VpmdEventName>(name: K, payload: VpmdEventMap[K]): void {
    this.assertDeclared(name);
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

  private assertDeclared(name: string): void {
    if (!this.isDeclared(name))
      throw new VpmdError(
        'E_EVENT_UNKNOWN',
        `event type '${name}' is not declared (neither the core's nor in a loaded plugin's manifest 'events')`,
        { event: name },
      );
  }

  private report(sub: Subscription, e: unknown): void {
    this.log.error({ event: sub.name, subscriber: sub.owner, err: e }, 'event listener failed');
  }
}

/**
 * The bus as one plugin sees it: its subscriptions are owned by it and dropped on stop. It may
 * emit the core's event types and its own, not another plugin's.
 */
export interface ScopedEventBus {
  on<K extends VpmdEventName>(name: K, fn: EventListener<K>): () => void;
  /** @throws VpmdError E_EVENT_OWNER for another plugin's event type; E_EVENT_UNKNOWN for an undeclared one. */
  emit<K extends VpmdEventName>(name: K, payload: VpmdEventMap[K]): void;
  /** Every declared event type (the core's and every loaded plugin's), complete from `register` on. */
  names(): VpmdEventName[];
}

/** Creates the plugin-scoped view of `bus`. */
export function scopeEventBus(bus: EventBus, owner: string): ScopedEventBus {
  return {
    on: (name, fn) => bus.on(owner, name, fn),
    emit: (name, payload) => {
      const holder = bus.ownerOf(name);
      if (holder !== undefined && holder !== owner)
        throw new VpmdError(
          'E_EVENT_OWNER',
          `plugin ${owner} may not emit ${name}: it is plugin ${holder}'s event type`,
          {
            plugin: owner,
            event: name,
            owner: holder,
          },
        );
      bus.emit(name, payload);
    },
    names: () => bus.names(),
  };
}
