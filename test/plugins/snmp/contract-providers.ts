/**
 * Minimal guest-channels@1 and bmcs@1 providers for the SNMP tests, honouring the contracts
 * (the real providers, virtio-channels and ipmi, are tested in their own suites). Fixed data,
 * so the MIB rows built from them can be checked exactly.
 */
import { testPlugin } from 'vpmd/testkit';
import { GUEST_CHANNELS, IPMI_BMC_DRIVER, type GuestChannelStats } from 'vpmd';

/** `denied` is optional in the contract: web-2 stands for a provider that does not count it. */
export const GUEST_STATS: readonly GuestChannelStats[] = [
  { vm: 'web-2', channels: 2, connected: 1, accepted: 40, clamped: 3, limited: 1, refused: 0 },
  {
    vm: 'dpdk-1',
    channels: 4,
    connected: 4,
    accepted: 1200,
    clamped: 17,
    limited: 5,
    refused: 7,
    denied: 3,
    coalesced: 900,
    dropped: 2,
  },
];

export default testPlugin({
  name: 'test-providers',
  description: 'guest-channels and bmcs providers for the SNMP tests',
  provides: ['guest-channels@1', 'bmc-driver.ipmi@1'],
  register(ctx) {
    ctx.capabilities.provide(GUEST_CHANNELS, {
      stats: () => GUEST_STATS,
      frequencies: () =>
        Promise.resolve([{ pcpu: 2, requestedKHz: 2_400_000, appliedKHz: 2_200_000, vms: ['dpdk-1', 'web-2'] }]),
      bounds: () => [{ pcpu: 2, minKHz: 1_000_000, maxKHz: 2_200_000 }],
      setBounds: () => Promise.resolve(),
    });
    ctx.capabilities.provide(IPMI_BMC_DRIVER, {
      protocol: 'ipmi',
      targets: () => [{ name: 'node7-bmc', protocol: 'ipmi', host: '10.0.0.7', port: 623, state: 'ok' }],
      chassis: () => Promise.resolve(undefined),
    });
    return { start() {}, stop() {} };
  },
});
