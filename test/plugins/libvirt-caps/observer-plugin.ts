/**
 * A test-only plugin that plays "another plugin" (Redfish, SNMP): it records the events
 * libvirt-caps emits and calls the HOST_SLEEP capability as a principal of its choosing.
 */
import { testPlugin } from '../../../testkit/index.js';
import { HOST_SLEEP, Type, defineCommand, StringEnum, type VpmdEventMap } from '../../../core/index.js';

/** Events the observer saw, in order. */
export interface Seen {
  readonly sleep: VpmdEventMap['host.sleep.v1'][];
  readonly power: VpmdEventMap['host.power.v1'][];
}

/** A listener with no capability needs, so it starts before libvirt-caps and sees its start event. */
export const earlyListener = testPlugin({
  name: 'caps-early-listener',
  description: 'test listener starting first',
  register(ctx) {
    const seen: VpmdEventMap['host.sleep.v1'][] = [];
    ctx.events.on('host.sleep.v1', (e) => void seen.push(e));
    ctx.commands.register(
      defineCommand({
        name: 'early events',
        summary: 'events seen',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => seen,
      }),
    );
    return { start() {}, stop() {} };
  },
});

export default testPlugin({
  name: 'caps-observer',
  description: 'test observer of libvirt-caps',
  optional: ['host-sleep@1'],
  register(ctx) {
    const seen: Seen = { sleep: [], power: [] };
    ctx.events.on('host.sleep.v1', (e) => void seen.sleep.push(e));
    ctx.events.on('host.power.v1', (e) => void seen.power.push(e));
    ctx.commands.register(
      defineCommand({
        name: 'observer rtc',
        summary: 'the RTC as the host model reads it',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => ctx.host.rtc.read(),
      }),
    );
    ctx.commands.register(
      defineCommand({
        name: 'observer events',
        summary: 'events seen',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => seen,
      }),
    );
    ctx.commands.register(
      defineCommand({
        name: 'observer suspend',
        summary: 'suspend through the capability',
        privilege: 'Login',
        args: Type.Object({
          role: StringEnum(['Administrator', 'Operator', 'ReadOnly'] as const),
          target: StringEnum(['mem', 'disk', 'hybrid', 'suspend-then-hibernate'] as const),
          'dry-run': Type.Optional(Type.Boolean()),
        }),
        positional: ['role', 'target'],
        handler: async (a) => {
          const sleep = ctx.capabilities.find(HOST_SLEEP);
          if (sleep === undefined) throw new Error('no host-sleep provider');
          return sleep.suspend(
            { target: a.target, dryRun: a['dry-run'] === true },
            { name: 'snmp-user', role: a.role, origin: 'snmp', address: '192.0.2.9' },
          );
        },
      }),
    );
    return { start() {}, stop() {} };
  },
});
