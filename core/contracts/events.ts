/**
 * Versioned event types. An event's name carries its version (`.v1`): a payload change that
 * breaks consumers gets a new name, and both can be emitted during a transition. Plugins meet
 * through these types, never through each other's code. Add new event types here.
 */
import type { ReadingStatus } from './telemetry.js';

/** Lifecycle state of a plugin. */
export type PluginState = 'pending' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped' | 'disabled';

/** Payload types by event name. */
export interface VpmdEventMap {
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
  /** A hardware event log entry arrived (IPMI SEL and similar). */
  'hw.log.v1': {
    source: string;
    id: string;
    timestamp: number;
    severity: 'info' | 'warning' | 'critical';
    message: string;
  };
}

/** Every declared event name. */
export type VpmdEventName = keyof VpmdEventMap;
