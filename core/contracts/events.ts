/**
 * Versioned event types. An event's name carries its version (`.v1`): a payload change that
 * breaks consumers gets a new name, and both can be emitted during a transition. Plugins meet
 * through the core's types ({@link CoreEventMap}), never through each other's code: an event
 * several plugins emit or consume belongs here. A plugin's own event types are named after it
 * (`<plugin>.<what>.v<N>`), listed in its manifest's `events` and typed by augmenting
 * {@link VpmdEventMap} (see docs/plugins.md, "Plugins own their vocabulary").
 */
import type { ReadingStatus } from './telemetry.js';
import type { DomainLifecycleEvent } from './domains.js';

/** Lifecycle state of a plugin. */
export type PluginState = 'pending' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped' | 'disabled';

/** Payload types of the core's event types, by name. */
export interface CoreEventMap {
  /** A plugin changed lifecycle state. */
  'plugin.state.v1': { plugin: string; from: PluginState; to: PluginState; error?: string };
  /** A telemetry reading moved from one status to another (threshold crossing). */
  'telemetry.status.v1': {
    metric: string;
    from: ReadingStatus | 'none';
    to: ReadingStatus;
    value: number | null;
    timestamp: number;
  };
  /** A privileged action was performed or refused (audit trail). */
  'audit.v1': {
    action: string;
    principal: string;
    origin: string;
    address?: string;
    outcome: 'ok' | 'denied' | 'failed';
    detail?: string;
    timestamp: number;
  };
  /** The host's power state changed or a transition was recorded. */
  'host.power.v1': {
    state: 'on' | 'suspending' | 'suspended' | 'resuming' | 'off';
    target?: 'mem' | 'disk' | 'hybrid' | 'suspend-then-hibernate';
    timestamp: number;
    requestedBy?: string;
  };
  /** Host sleep-state discovery gave a different result (libvirt-caps: on start, resume or request). */
  'host.sleep.v1': {
    /** Targets supported now. */
    supported: Array<'mem' | 'disk' | 'hybrid' | 'suspend-then-hibernate'>;
    /** Targets whose support changed since the previous discovery (all supported ones on the first). */
    changed: Array<'mem' | 'disk' | 'hybrid' | 'suspend-then-hibernate'>;
    reason: 'start' | 'resume' | 'request';
    logindProblem?: string;
    timestamp: number;
  };
  /** A running domain (VM) started, stopped, paused, resumed, was repinned... (the `domains@1` provider emits it). */
  'domain.lifecycle.v1': DomainLifecycleEvent;
  /** A hardware event log entry arrived (IPMI SEL and similar). */
  'hw.log.v1': {
    source: string;
    id: string;
    timestamp: number;
    severity: 'info' | 'warning' | 'critical';
    message: string;
  };
}

/**
 * Payload types by event name: the core's, plus each plugin's by module augmentation:
 * ```ts
 * declare module 'vpmd' {
 *   interface VpmdEventMap { 'energy-report.budget.v1': { watts: number; budgetWatts: number } }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- plugins add their events by declaration merging
export interface VpmdEventMap extends CoreEventMap {}

/** A core event name. */
export type CoreEventName = keyof CoreEventMap;

/** Every event name this program knows: the core's and the plugins' (see {@link VpmdEventMap}). */
export type VpmdEventName = keyof VpmdEventMap;
