/**
 * Builds the one context object each plugin gets, and releases everything a plugin registered
 * through it. Ownership is fixed when the context is built (never a mutable "current plugin"),
 * so rollback and stop can remove exactly that plugin's commands, capabilities, subscriptions,
 * timers and metrics.
 */
import type { DependencyContainer } from 'tsyringe';
import type { Logger } from '../logger.js';
import { VpmdError } from '../errors.js';
import type { AccessPolicy } from '../access/access-policy.js';
import type { CommandRegistry } from '../services/commands.js';
import { scopeEventBus, type EventBus } from '../services/event-bus.js';
import { scopeScheduler, type Scheduler } from '../services/scheduler.js';
import { scopeCapabilities, type CapabilityRegistry } from './capabilities.js';
import type { StateStore } from '../state/index.js';
import type { TelemetryStore } from '../telemetry/index.js';
import type { HostModel } from '../host/index.js';
import {
  TOKENS,
  type CoreSettings,
  type PluginContext,
  type PluginHealth,
  type PluginManifest,
  type ScopedTelemetry,
} from './plugin-contract.js';

/** The agent-wide services a context is cut from. */
export interface CoreServices {
  readonly log: Logger;
  readonly bus: EventBus;
  readonly scheduler: Scheduler;
  readonly commands: CommandRegistry;
  readonly access: AccessPolicy;
  readonly capabilities: CapabilityRegistry;
  readonly telemetry: TelemetryStore;
  readonly state: StateStore;
  readonly host: HostModel;
  readonly container: DependencyContainer;
  readonly core: CoreSettings;
}

/** Deep-freezes a plain value (plugin configs are immutable). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A context plus the switch that makes it refuse further registrations. */
export interface ContextHandle {
  readonly ctx: PluginContext;
  /** Marks the context dead: registrations after this throw E_PLUGIN_STOPPED. */
  close(): void;
}

/** Builds the context of `manifest`'s plugin. `onHealth` receives push-style reports. */
export function createPluginContext(
  s: CoreServices,
  manifest: PluginManifest,
  config: Record<string, unknown>,
  onHealth: (h: PluginHealth) => void,
): ContextHandle {
  const name = manifest.name;
  let live = true;
  const guard = (what: string): void => {
    if (!live)
      throw new VpmdError('E_PLUGIN_STOPPED', `plugin ${name}: ${what} after the plugin stopped`, { plugin: name });
  };
  const events = scopeEventBus(s.bus, name);
  const scheduler = scopeScheduler(s.scheduler, name);
  const caps = scopeCapabilities(s.capabilities, name, {
    provides: manifest.provides ?? [],
    requires: manifest.requires ?? [],
    optional: manifest.optional ?? [],
  });
  const telemetry: ScopedTelemetry = {
    define: (def) => {
      guard('telemetry.define');
      s.telemetry.define(def, name);
    },
    record: (id, value, opts) => s.telemetry.record(id, value, opts),
    latest: (id) => s.telemetry.latest(id),
    history: (id, opts) => s.telemetry.history(id, opts),
    get: (id) => s.telemetry.get(id),
    list: (filter) => s.telemetry.list(filter),
  };
  const container = s.container.createChildContainer();
  const log = s.log.child({ plugin: name });
  const ctx: PluginContext = {
    name,
    log,
    config: deepFreeze(config),
    core: s.core,
    host: s.host,
    events: {
      on: (ev, fn) => {
        guard('events.on');
        return events.on(ev, fn);
      },
      emit: (ev, payload) => events.emit(ev, payload),
      names: () => events.names(),
    },
    access: s.access,
    commands: {
      register: (spec) => {
        guard('commands.register');
        s.commands.register(name, spec);
      },
    },
    scheduler: {
      every: (task, ms, fn, opts) => {
        guard('scheduler.every');
        return scheduler.every(task, ms, fn, opts);
      },
      after: (task, ms, fn) => {
        guard('scheduler.after');
        return scheduler.after(task, ms, fn);
      },
    },
    capabilities: {
      provide: (token, impl) => {
        guard('capabilities.provide');
        caps.provide(token, impl);
      },
      get: (token) => caps.get(token),
      find: (token) => caps.find(token),
    },
    state: s.state.scope('plugins').scope(name),
    telemetry,
    health: { report: onHealth },
    container,
  };
  Object.freeze(ctx);
  container.register(TOKENS.context, { useValue: ctx });
  container.register(TOKENS.log, { useValue: log });
  container.register(TOKENS.config, { useValue: ctx.config });
  container.register(TOKENS.host, { useValue: s.host });
  container.register(TOKENS.events, { useValue: ctx.events });
  container.register(TOKENS.scheduler, { useValue: ctx.scheduler });
  container.register(TOKENS.state, { useValue: ctx.state });
  container.register(TOKENS.telemetry, { useValue: telemetry });
  container.register(TOKENS.access, { useValue: s.access });
  return { ctx, close: () => (live = false) };
}

/** What {@link releasePlugin} removed, for the log and tests. */
export interface Released {
  commands: number;
  capabilities: number;
  subscriptions: number;
  tasks: number;
  metrics: number;
}

/** Removes everything `name` registered. */
export function releasePlugin(s: CoreServices, name: string): Released {
  return {
    commands: s.commands.removeOwner(name),
    capabilities: s.capabilities.removeOwner(name),
    subscriptions: s.bus.removeOwner(name),
    tasks: s.scheduler.cancelOwner(name),
    metrics: s.telemetry.removeOwner(name),
  };
}
