/**
 * `emit status METRIC TO` for a test plugin: emits telemetry.status.v1 on the real event bus, as
 * the core's threshold watch does, so a Redfish service under test sends it as an event.
 */
import { Type, defineCommand, StringEnum, type ScopedEventBus } from '../../../core/index.js';

/** The command; register it from a test plugin's `register(ctx)` with `ctx.events`. */
export function emitStatusCommand(events: ScopedEventBus) {
  return defineCommand({
    name: 'emit status',
    summary: 'emit telemetry.status.v1',
    privilege: 'ConfigureManager',
    args: Type.Object({ metric: Type.String(), to: StringEnum(['ok', 'warning', 'critical'] as const) }),
    positional: ['metric', 'to'],
    handler: (a) =>
      events.emit('telemetry.status.v1', {
        metric: a.metric,
        from: 'ok',
        to: a.to,
        value: 99,
        timestamp: Date.now(),
      }),
  });
}
