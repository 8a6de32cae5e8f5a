/**
 * The plugin contract: what a plugin declares (its manifest) and what it gets (one context).
 * A plugin's `register(ctx)` only declares (commands, capabilities, event subscriptions); all I/O
 * happens in `start`, within a timeout. A start that throws or times out is rolled back: every
 * command, capability, subscription, timer and metric the plugin registered is removed, its
 * `stop` is called to release what it opened, and the other plugins keep running.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { DependencyContainer } from 'tsyringe';
import type { Logger } from '../logger.js';
import type { AccessPolicy } from '../access/access-policy.js';
import type { CommandSpec } from '../services/commands.js';
import type { ScopedEventBus } from '../services/event-bus.js';
import type { ScopedScheduler } from '../services/scheduler.js';
import type { ScopedCapabilities } from './capabilities.js';
import type { StateStore } from '../state/index.js';
import type { MetricDefinition, MetricKind, MetricSnapshot, Reading, ReadingStatus } from '../contracts/telemetry.js';
import type { HostModel } from '../host/index.js';
import type { CoreConfig } from '../config/core-schema.js';
import type { PluginErrors } from '../errors.js';
import type { VpmdEventName } from '../contracts/events.js';

/** Health a plugin reports. */
export interface PluginHealth {
  readonly status: 'ok' | 'degraded' | 'failed';
  /** One line an operator reads in `vpmctl status`. */
  readonly detail?: string;
  /** Per-target health (BMCs, PDUs, channels): a failing peer degrades one target, not the agent. */
  readonly targets?: Readonly<
    Record<string, { readonly status: 'ok' | 'degraded' | 'failed'; readonly detail?: string }>
  >;
}

/** What `register` returns: the plugin's lifecycle. */
export interface PluginInstance {
  /** Opens sockets, starts pollers. `signal` aborts when the start timeout expires. */
  start(signal: AbortSignal): void | Promise<void>;
  /** Releases everything; must tolerate a partial start (it is also called on rollback). */
  stop(): void | Promise<void>;
  /** Current health; when absent the kernel uses what the plugin last reported through `ctx.health`. */
  health?(): PluginHealth | Promise<PluginHealth>;
}

/** The telemetry store as a plugin sees it: metrics it defines are owned by it. */
export interface ScopedTelemetry {
  define(def: MetricDefinition): void;
  record(id: string, value: number | null, opts?: { status?: ReadingStatus; timestamp?: number }): Reading;
  latest(id: string): Reading | undefined;
  history(id: string, opts?: { since?: number; limit?: number }): Reading[];
  get(id: string): MetricSnapshot;
  list(filter?: { kind?: MetricKind; plugin?: string; target?: string; prefix?: string }): MetricSnapshot[];
}

/** Core settings every plugin may read (never secrets). */
export interface CoreSettings {
  readonly libvirt: CoreConfig['libvirt'];
  readonly hostRoot: string;
  readonly simulated: boolean;
  readonly stateDir: string;
}

/** The one object a plugin gets. Everything it registers through it is removed when it stops. */
export interface PluginContext<C = Record<string, unknown>> {
  readonly name: string;
  /** A pino child logger bound to `{ plugin: name }`. */
  readonly log: Logger;
  /** The plugin's config section, validated against its schema, defaults applied, deep-frozen. */
  readonly config: Readonly<C>;
  readonly core: CoreSettings;
  readonly host: HostModel;
  readonly events: ScopedEventBus;
  readonly access: AccessPolicy;
  readonly commands: { register<S extends TObject, R>(spec: CommandSpec<S, R>): void };
  readonly scheduler: ScopedScheduler;
  readonly capabilities: ScopedCapabilities;
  /** The plugin's own state namespace (`state.dir/plugins/<name>/`). */
  readonly state: StateStore;
  readonly telemetry: ScopedTelemetry;
  /** Push-style health, for plugins without a `health()` method. */
  readonly health: { report(health: PluginHealth): void };
  /** The plugin's own tsyringe child container; the context is registered under {@link TOKENS}. */
  readonly container: DependencyContainer;
}

/** A plugin's manifest: the default export of its entry module. */
export interface PluginManifest<S extends TObject = TObject> {
  /** Lower-case letters, digits and dashes; also the config section name `plugins.<name>`. */
  readonly name: string;
  /** The plugin's own semver version. */
  readonly version: string;
  readonly description: string;
  /** The semver range of core API versions it works with, e.g. `^1.0.0`. */
  readonly coreApi: string;
  /** TypeBox schema of its config section (without the reserved `enabled` and `module`). */
  readonly config: S;
  /** Capability ids it provides (`host-sleep@1`). */
  readonly provides?: readonly string[];
  /** Capability ids it cannot run without: their providers start first. */
  readonly requires?: readonly string[];
  /** Capability ids it uses when present: their providers, if enabled, start first. */
  readonly optional?: readonly string[];
  /**
   * The plugin's own error codes (`defineErrors('E_NAME_', {...})`): each with a category and an
   * optional exit code. Checked at load: every code starts with the prefix, the prefix lies outside
   * the core's families, and no other plugin claims it. Their exit codes and protocol mappings
   * (Redfish status, vpmctl) come from this declaration.
   */
  readonly errors?: PluginErrors;
  /**
   * The plugin's own event types, named `<plugin>.<what>.v<N>`, whose payloads the plugin adds to
   * `VpmdEventMap` by module augmentation. Events several plugins share are the core's instead.
   */
  readonly events?: readonly VpmdEventName[];
  /** Declares commands and capabilities; returns the lifecycle. No I/O here. */
  register(ctx: PluginContext<Static<S>>): PluginInstance | Promise<PluginInstance>;
  /** How `vpmd --demo` runs this plugin on a simulated host; plugins without it stay off in the demo. */
  demo?(env: DemoEnvironment): Promise<DemoSetup> | DemoSetup;
  /**
   * Checks its section beyond the schema (unique names, files that must exist): what the plugin
   * would refuse at start. `vpmd check-config` calls it with the schema-valid section (defaults
   * applied); it may read files, must not open sockets, and returns every problem rather than
   * throwing. At start the plugin still refuses the same things itself (only it fails).
   */
  validate?(config: Static<S>): readonly PluginConfigProblem[] | Promise<readonly PluginConfigProblem[]>;
}

/** A problem a plugin finds in its section: where, what is wrong, and what is allowed. */
export interface PluginConfigProblem {
  /** Path inside the section (`targets[1].passwordFile`); '' for the section itself. */
  readonly path: string;
  /** What is wrong and what would be accepted (`/etc/vpmd/bmc1.pw does not exist; give a readable file`). */
  readonly message: string;
}

/** What a plugin's demo hook is told about the demo. */
export interface DemoEnvironment {
  /** The demo's private temporary directory. */
  readonly dir: string;
  /** The management address (127.0.0.1). */
  readonly address: string;
  /** A free TCP or UDP port on the address. */
  freePort(kind: 'tcp' | 'udp'): Promise<number>;
  /** A random password for generated demo credentials. */
  password(): string;
  /** Demo options from the command line (`vpmd --demo --redfish-bmc URL`: `redfish-bmc`). */
  readonly options?: Readonly<Record<string, string>>;
}

/** What a plugin's demo hook returns. */
export interface DemoSetup {
  /** The plugin's config section. */
  readonly config: Record<string, unknown>;
  /** Lines the demo banner prints (how to reach the plugin, generated credentials). */
  readonly notes?: readonly string[];
  /** Commands run once after start, as the control-socket owner (e.g. creating a demo account). */
  readonly commands?: ReadonlyArray<{ readonly argv: readonly string[]; readonly stdin?: readonly string[] }>;
}

/** Identity-typed helper that infers the config type from the schema. */
export function definePlugin<S extends TObject>(manifest: PluginManifest<S>): PluginManifest<S> {
  return manifest;
}

/** Injection tokens under which a plugin's container holds its context and services. */
export const TOKENS = Object.freeze({
  context: Symbol.for('vpmd.context'),
  log: Symbol.for('vpmd.log'),
  config: Symbol.for('vpmd.config'),
  host: Symbol.for('vpmd.host'),
  events: Symbol.for('vpmd.events'),
  scheduler: Symbol.for('vpmd.scheduler'),
  state: Symbol.for('vpmd.state'),
  telemetry: Symbol.for('vpmd.telemetry'),
  access: Symbol.for('vpmd.access'),
});
