/**
 * A minimal host-sleep@1 provider for the SNMP tests. The real provider (libvirt-caps) is built
 * in parallel; this one honours the contract (support, state, suspend with a privilege check)
 * and records requests so the tests can see what an SNMP SET asked for. It never suspends.
 */
import { testPlugin } from 'vpmd/testkit';
import { HOST_SLEEP, VpmdError, type HostPowerState, type SuspendRequest } from 'vpmd';

/** Requests the provider received, in order. Module state: files that assert on it empty it first. */
export const suspendRequests: { req: SuspendRequest; by: string }[] = [];

export default testPlugin({
  name: 'test-sleep',
  description: 'test host-sleep provider',
  provides: ['host-sleep@1'],
  register(ctx) {
    let state: HostPowerState = 'on';
    const support = {
      targets: [
        { target: 'mem' as const, supported: true, logind: 'yes' as const, kernel: 'mem_sleep [deep]' },
        { target: 'disk' as const, supported: false, logind: 'na' as const, kernel: 'no swap' },
      ],
      discoveredAt: Date.now(),
    };
    ctx.capabilities.provide(HOST_SLEEP, {
      support: () => Promise.resolve(support),
      rediscover: () => Promise.resolve(support),
      state: () => state,
      // Refusals reject, as a real provider's would.
      suspend: (req, by) =>
        Promise.resolve().then(() => {
          ctx.access.require(by, 'ConfigureComponents', 'suspend');
          if (req.target === 'disk') throw new VpmdError('E_HOST_UNSUPPORTED', 'disk not supported');
          suspendRequests.push({ req, by: by.name });
          state = 'suspended';
          return { target: req.target, steps: ['test'], dryRun: false };
        }),
    });
    return { start() {}, stop() {} };
  },
});
