/** SNMPv3 poller of PDUs and other devices (placeholder until the poller lands). */
import type { PluginContext } from 'vpmd';
import type { SnmpConfig } from './config.js';

/** Polls `plugins.snmp.targets`. */
export class Poller {
  constructor(private readonly ctx: PluginContext<SnmpConfig>) {}
  /** Starts polling. */
  start(): void {}
  /** Stops polling. */
  stop(): void {}
  /** Per-target health. */
  health(): Record<string, { status: 'ok' | 'degraded' | 'failed'; detail?: string }> {
    return {};
  }
}

/** Registers the poller's commands. */
export function registerPollerCommands(_ctx: PluginContext<SnmpConfig>, _poller: Poller): void {}
