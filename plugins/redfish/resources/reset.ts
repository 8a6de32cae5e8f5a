/**
 * ComputerSystem.Reset: which ResetTypes this host can do now and why the others not (for
 * ResetActionInfo and the 400 of a refused type), and doing one. Power-off and reboot go through
 * the core's host power (`host-power@1`: logind and the systemd manager, each call bounded,
 * privilege-checked and audited there with its cause), Suspend through the host-sleep provider.
 * This plugin talks to neither logind nor systemd itself.
 */
import {
  HOST_POWER,
  HOST_SLEEP,
  VpmdError,
  type ChassisAction,
  type HostPowerOffers,
  type PowerOffer,
  type Principal,
} from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { hostBmc } from './host-bmc.js';

/** A ResetType with whether it is offered now and why (or why not). */
export interface ResetOffer {
  readonly type: string;
  readonly available: boolean;
  readonly why: string;
  /** Done through the host's BMC with this chassis action (else by the host itself). */
  readonly bmc?: ChassisAction;
}

/** What IPMI Chassis Control cannot do, whatever the BMC. */
const NOT_IN_CHASSIS_CONTROL: readonly ResetOffer[] = [
  {
    type: 'FullPowerCycle',
    available: false,
    why: 'removing and restoring AC power is not an IPMI Chassis Control action',
  },
  {
    type: 'PushPowerButton',
    available: false,
    why: 'IPMI Chassis Control has no button press (use On, GracefulShutdown or ForceOff)',
  },
  {
    type: 'Nmi',
    available: false,
    why: "the diagnostic interrupt (Chassis Control 04h) is not offered through vpmd's BMC drivers",
  },
];

/** The types only this host's own BMC can do, through it or with the reason there is none. */
function bmcOffers(deps: ServiceDeps, host: readonly ResetOffer[]): ResetOffer[] {
  const h = hostBmc(deps);
  const offered = (type: string): boolean => host.some((o) => o.type === type && o.available);
  if (!('name' in h)) {
    const why = `needs this host's own BMC: ${h.why}`;
    return [
      { type: 'ForceOn', available: false, why: `a host that is off cannot run vpmd to power itself on, and ${why}` },
      { type: 'PowerCycle', available: false, why },
      ...NOT_IN_CHASSIS_CONTROL,
    ];
  }
  const via = (what: string): string => `IPMI Chassis Control ${what} through the host's BMC ${h.name}`;
  return [
    { type: 'On', available: true, why: `${via('power up')} (the host is on while vpmd runs)`, bmc: 'on' },
    { type: 'ForceOn', available: true, why: via('power up'), bmc: 'on' },
    { type: 'PowerCycle', available: true, why: via('power cycle'), bmc: 'cycle' },
    // The host's own systemd is preferred (it syncs and unmounts); the BMC when it is not offered.
    ...(offered('ForceOff')
      ? []
      : [{ type: 'ForceOff', available: true, why: via('power down'), bmc: 'off' } as const]),
    ...(offered('ForceRestart')
      ? []
      : [{ type: 'ForceRestart', available: true, why: via('hard reset'), bmc: 'reset' } as const]),
    ...NOT_IN_CHASSIS_CONTROL,
  ];
}

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
  const own: ResetOffer[] = [
    { type: 'On', available: true, why: 'vpmd runs on the host, so the host is on (no-op)' },
    suspend,
    offer('GracefulShutdown', power.powerOff.graceful, logind, 'logind'),
    offer('GracefulRestart', power.reboot.graceful, logind, 'logind'),
    offer('ForceRestart', power.reboot.force, systemd, 'systemd'),
    offer('ForceOff', power.powerOff.force, systemd, 'systemd'),
  ];
  const bmc = bmcOffers(deps, own);
  // A BMC offer replaces the host's own refusal of the same type.
  return [
    ...own.map((o) => bmc.find((b) => b.type === o.type) ?? o),
    ...bmc.filter((b) => !own.some((o) => o.type === b.type)),
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
 * call with its cause (`redfish ComputerSystem.Reset <type>`), whatever its outcome; a type done
 * through the host's BMC is checked and audited by its driver (`ipmi chassis NAME cycle`).
 */
export async function doReset(deps: ServiceDeps, offer: ResetOffer, by: Principal): Promise<void> {
  const { ctx } = deps;
  const type = offer.type;
  const cause = `redfish ComputerSystem.Reset ${type}`;
  if (offer.bmc !== undefined) {
    const h = hostBmc(deps);
    if (!('name' in h)) throw new VpmdError('E_BMC_NOT_FOUND', h.why);
    // The driver checks ConfigureComponents again and audits the chassis action.
    await h.bmcs.chassis(h.name, offer.bmc, by);
    return;
  }
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
