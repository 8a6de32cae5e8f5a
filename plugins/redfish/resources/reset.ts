/**
 * ComputerSystem.Reset: which ResetTypes this host can do now and why the others not (for
 * ResetActionInfo and the 400 of a refused type), and doing one. Power-off and reboot go through
 * the core's host power (`host-power@1`: logind and the systemd manager, each call bounded,
 * privilege-checked and audited there with its cause), Suspend through the host-sleep provider.
 * This plugin talks to neither logind nor systemd itself.
 */
import { HOST_POWER, HOST_SLEEP, VpmdError, type HostPowerOffers, type PowerOffer, type Principal } from 'vpmd';
import type { ServiceDeps } from '../config.js';

/** A ResetType with whether it is offered now and why (or why not). */
export interface ResetOffer {
  readonly type: string;
  readonly available: boolean;
  readonly why: string;
}

/** The BMC reason shared by the types only a BMC can do. */
const NO_HOST_BMC =
  "needs this host's own BMC, and none is configured as the host's (the bmcs@1 targets are BMCs of other hosts)";

const BMC_ONLY: readonly ResetOffer[] = [
  { type: 'ForceOn', available: false, why: `a host that is off cannot run vpmd to power itself on: ${NO_HOST_BMC}` },
  { type: 'PowerCycle', available: false, why: NO_HOST_BMC },
  { type: 'FullPowerCycle', available: false, why: NO_HOST_BMC },
  { type: 'PushPowerButton', available: false, why: NO_HOST_BMC },
  { type: 'Nmi', available: false, why: NO_HOST_BMC },
];

function offer(type: string, o: PowerOffer, enabled: boolean, key: 'logind' | 'systemd'): ResetOffer {
  if (!enabled) return { type, available: false, why: `plugins.redfish.hostPower.${key} is false` };
  return { type, available: o.offered, why: o.why };
}

/** What the host can do now, and why not otherwise; `fresh` asks logind and systemd again. */
export async function resetOffers(deps: ServiceDeps, fresh = false): Promise<ResetOffer[]> {
  const { ctx } = deps;
  const sleep = ctx.capabilities.find(HOST_SLEEP);
  let suspend: ResetOffer;
  if (!sleep)
    suspend = {
      type: 'Suspend',
      available: false,
      why: 'no host-sleep provider is running (enable the libvirt-caps plugin)',
    };
  else {
    const mem = (await sleep.support()).targets.find((t) => t.target === 'mem');
    suspend = mem?.supported
      ? { type: 'Suspend', available: true, why: 'suspend to RAM through logind' }
      : {
          type: 'Suspend',
          available: false,
          why: `suspend to RAM not supported here: ${mem ? `logind ${mem.logind}, ${mem.kernel}` : 'no mem target'}`,
        };
  }
  const power: HostPowerOffers = await ctx.capabilities.get(HOST_POWER).offers({ fresh });
  const { logind, systemd } = ctx.config.hostPower;
  return [
    { type: 'On', available: true, why: 'vpmd runs on the host, so the host is on (no-op)' },
    suspend,
    offer('GracefulShutdown', power.powerOff.graceful, logind, 'logind'),
    offer('GracefulRestart', power.reboot.graceful, logind, 'logind'),
    offer('ForceRestart', power.reboot.force, systemd, 'systemd'),
    offer('ForceOff', power.powerOff.force, systemd, 'systemd'),
    ...BMC_ONLY,
    {
      type: 'Resume',
      available: false,
      why: 'a suspended host cannot run vpmd to resume itself (wake it through its BMC or the RTC alarm)',
    },
    {
      type: 'Pause',
      available: false,
      why: 'the host is not a virtual machine: it cannot be paused (Suspend puts it to sleep)',
    },
  ];
}

/**
 * Does an offered ResetType for `by`. The core checks the privilege again and audits the power
 * call with its cause (`redfish ComputerSystem.Reset <type>`), whatever its outcome.
 */
export async function doReset(deps: ServiceDeps, type: string, by: Principal): Promise<void> {
  const { ctx } = deps;
  const cause = `redfish ComputerSystem.Reset ${type}`;
  const power = ctx.capabilities.get(HOST_POWER);
  switch (type) {
    case 'On':
      return;
    case 'Suspend': {
      const sleep = ctx.capabilities.find(HOST_SLEEP);
      if (!sleep) throw new VpmdError('E_CAPABILITY_MISSING', 'host-sleep provider went away');
      await sleep.suspend({ target: 'mem' }, by);
      return;
    }
    case 'GracefulShutdown':
      await power.powerOff('graceful', by, cause);
      return;
    case 'ForceOff':
      await power.powerOff('force', by, cause);
      return;
    case 'GracefulRestart':
      await power.reboot('graceful', by, cause);
      return;
    case 'ForceRestart':
      await power.reboot('force', by, cause);
      return;
    default:
      throw new VpmdError('E_INTERNAL', `ResetType ${type} was offered but has no action`);
  }
}
