/** SNMPv3 notifications (placeholder). */
import type { PluginContext } from 'vpmd';
import type { SnmpConfig } from './config.js';
import type { SnmpAgent } from './snmp-agent.js';

/** Sends traps/informs to managers. */
export class Notifier {
  constructor(private readonly ctx: PluginContext<SnmpConfig>, private readonly agent: SnmpAgent) {}
  /** Subscribes. */
  start(): void {}
  /** Stops. */
  stop(): void {}
}
