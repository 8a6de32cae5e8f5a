/**
 * A test plugin that emits the events the SNMP notifier listens to, on command: what the
 * telemetry store, libvirt-caps and ipmi emit in a full agent.
 */
import { testPlugin } from 'vpmd/testkit';
import { Type, defineCommand, StringEnum } from 'vpmd';

export default testPlugin({
  name: 'test-events',
  description: 'emits notification-worthy events for the SNMP tests',
  register(ctx) {
    ctx.commands.register(
      defineCommand({
        name: 'test emit',
        summary: 'emit one event',
        privilege: 'ConfigureComponents',
        args: Type.Object({ kind: StringEnum(['power', 'sel', 'threshold'] as const), text: Type.String() }),
        positional: ['kind', 'text'],
        handler: (a) => {
          const timestamp = Date.now();
          if (a.kind === 'power')
            ctx.events.emit('host.power.v1', { state: a.text as 'suspended', target: 'mem', timestamp });
          if (a.kind === 'sel')
            ctx.events.emit('hw.log.v1', { source: 'bmc1', id: '7', timestamp, severity: 'critical', message: a.text });
          if (a.kind === 'threshold')
            ctx.events.emit('telemetry.status.v1', {
              metric: a.text,
              from: 'ok',
              to: 'critical',
              value: 97.5,
              timestamp,
            });
          return 'emitted';
        },
      }),
    );
    return { start() {}, stop() {} };
  },
});
