/**
 * `bmc-driver.redfish@1`: chassis power and identify through ComputerSystem.Reset and
 * LocationIndicatorActive, the power limit through the chassis' Power `Control`
 * (Controls/PowerLimit), else `EnvironmentMetrics.PowerLimitWatts`, else the deprecated
 * `Power.PowerControl[0].PowerLimit`. Every action checks ConfigureComponents and is audited.
 */
import {
  VpmdError,
  type AccessPolicy,
  type BmcDriver,
  type BmcPowerLimit,
  type BmcPowerLimitChange,
  type ChassisAction,
  type Principal,
} from 'vpmd';
import { linkOf, members, prop } from './readings.js';
import type { RedfishPoller } from './poller.js';
import type { RfObject } from './session.js';
import type { RedfishTarget } from './target.js';

/** ResetType values per chassis action, most fitting first. */
const RESET_TYPES: Readonly<Record<ChassisAction, readonly string[]>> = {
  on: ['On', 'ForceOn', 'PushPowerButton'],
  off: ['ForceOff', 'GracefulShutdown'],
  cycle: ['PowerCycle', 'FullPowerCycle', 'ForceRestart'],
  reset: ['ForceRestart', 'GracefulRestart'],
  soft: ['GracefulShutdown'],
};

/** Where a target's power limit lives. */
type LimitSite =
  { kind: 'control'; uri: string } | { kind: 'environment'; uri: string } | { kind: 'power'; uri: string };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Sends ComputerSystem.Reset with `resetType` (checked against the allowed values when the BMC lists them). */
export async function resetSystem(t: RedfishTarget, resetType: string): Promise<void> {
  if (t.system === undefined) await t.poll();
  const sys = t.system;
  if (sys?.resetTarget === undefined)
    throw new VpmdError('E_REDFISH_BMC_UNSUPPORTED', `BMC ${t.target.name} offers no ComputerSystem.Reset`, {
      target: t.target.name,
    });
  if (sys.resetTypes.length > 0 && !sys.resetTypes.includes(resetType))
    throw new VpmdError(
      'E_REDFISH_BMC_UNSUPPORTED',
      `BMC ${t.target.name} does not allow ResetType ${resetType}; allowed: ${sys.resetTypes.join(', ')}`,
      { target: t.target.name, allowed: sys.resetTypes },
    );
  await t.session.post(sys.resetTarget, { ResetType: resetType });
}

/** The ResetType a chassis action maps to on this BMC. */
export function resetTypeFor(t: RedfishTarget, action: ChassisAction): string {
  const allowed = t.system?.resetTypes ?? [];
  const wanted = RESET_TYPES[action];
  const pick = allowed.length === 0 ? wanted[0] : wanted.find((x) => allowed.includes(x));
  if (pick === undefined)
    throw new VpmdError(
      'E_REDFISH_BMC_UNSUPPORTED',
      `BMC ${t.target.name} allows no ResetType for '${action}' (${wanted.join(' or ')}); allowed: ${allowed.join(', ')}`,
      { target: t.target.name, allowed },
    );
  return pick;
}

async function limitSite(t: RedfishTarget): Promise<LimitSite | undefined> {
  const d = t.discovery ?? (await t.discover());
  for (const c of d.chassis) {
    const ch = await t.session.get(c.uri);
    const controls = linkOf(ch, 'Controls');
    if (controls !== undefined) {
      const power = (await t.expandedMembers(controls)).find((x) => prop(x, 'ControlType') === 'Power');
      const uri = linkOf(power);
      if (uri !== undefined) return { kind: 'control', uri };
    }
    const env = linkOf(ch, 'EnvironmentMetrics');
    if (env !== undefined && prop(await t.session.get(env), 'PowerLimitWatts') !== undefined)
      return { kind: 'environment', uri: env };
    const power = linkOf(ch, 'Power');
    if (power !== undefined && prop(await t.session.get(power), 'PowerControl', '0', 'PowerLimit') !== undefined)
      return { kind: 'power', uri: power };
  }
  return undefined;
}

function fromControl(c: unknown): BmcPowerLimit | null {
  const watts = num(prop(c, 'SetPoint'));
  if (watts === undefined) return null;
  const min = num(prop(c, 'AllowableMin'));
  const max = num(prop(c, 'AllowableMax'));
  const delay = num(prop(c, 'ControlDelaySeconds'));
  return {
    watts,
    active: prop(c, 'ControlMode') !== 'Disabled',
    ...(delay !== undefined ? { correctionMs: delay * 1000 } : {}),
    ...(min !== undefined ? { allowableMin: min } : {}),
    ...(max !== undefined ? { allowableMax: max } : {}),
  };
}

function fromPowerControl(pc: unknown): BmcPowerLimit | null {
  const l = prop(pc, 'PowerLimit');
  const watts = num(prop(l, 'LimitInWatts'));
  if (watts === undefined) return null;
  const ms = num(prop(l, 'CorrectionInMs'));
  const ex = prop(l, 'LimitException');
  return {
    watts,
    active: true,
    ...(ms !== undefined ? { correctionMs: ms } : {}),
    ...(ex === 'HardPowerOff'
      ? { exception: 'power-off' as const }
      : ex === 'LogEventOnly'
        ? { exception: 'log' as const }
        : ex === 'NoAction'
          ? { exception: 'none' as const }
          : {}),
  };
}

async function readLimit(t: RedfishTarget, site: LimitSite): Promise<BmcPowerLimit | null> {
  const body: RfObject = await t.session.get(site.uri);
  if (site.kind === 'control') return fromControl(body);
  if (site.kind === 'environment') return fromControl(prop(body, 'PowerLimitWatts'));
  return fromPowerControl(prop(body, 'PowerControl', '0'));
}

/** The driver over a running poller (looked up at each call: the poller comes and goes). */
export function redfishDriver(
  access: AccessPolicy,
  running: () => RedfishPoller,
  /** The poller when it runs, without throwing (default: `running` with the error caught). */
  current: () => RedfishPoller | undefined = () => {
    try {
      return running();
    } catch {
      return undefined;
    }
  },
): BmcDriver {
  const act = async (by: Principal, what: string, fn: () => Promise<void>): Promise<void> => {
    access.require(by, 'ConfigureComponents', what);
    try {
      await fn();
    } catch (e) {
      access.audit(by, what, 'failed', (e as Error).message);
      throw e;
    }
    access.audit(by, what, 'ok');
  };
  const site = async (t: RedfishTarget): Promise<LimitSite> => {
    const s = await limitSite(t);
    if (s === undefined)
      throw new VpmdError(
        'E_REDFISH_BMC_UNSUPPORTED',
        `BMC ${t.target.name} offers no power limit (Controls, EnvironmentMetrics.PowerLimitWatts or Power.PowerControl)`,
        {
          target: t.target.name,
        },
      );
    return s;
  };
  const identifyTimers = new Map<string, NodeJS.Timeout>();
  return {
    protocol: 'redfish',
    // Asked on every chassis lookup: no poller is an empty list, without throwing (an error's
    // stack trace per request showed in the uncached benchmark's profile).
    targets: () => [...(current()?.targets.values() ?? [])].map((t) => t.describe()),
    chassis: (target, action, by) =>
      act(by, `redfish chassis ${target} ${action}`, async () => {
        const t = running().target(target);
        if (t.system === undefined) await t.poll();
        await resetSystem(t, resetTypeFor(t, action));
      }),
    identify: (target, on, by, seconds) =>
      act(by, `redfish identify ${target} ${on ? 'on' : 'off'}`, async () => {
        const t = running().target(target);
        const d = t.discovery ?? (await t.discover());
        const uri = d.systems[0] ?? d.chassis[0]?.uri;
        if (uri === undefined)
          throw new VpmdError('E_REDFISH_BMC_UNSUPPORTED', `BMC ${target} has no system or chassis to identify`, {
            target,
          });
        const body = await t.session.get(uri);
        // LocationIndicatorActive since ComputerSystem v1_13; IndicatorLED before.
        const patch =
          'IndicatorLED' in body && !('LocationIndicatorActive' in body)
            ? { IndicatorLED: on ? 'Blinking' : 'Off' }
            : { LocationIndicatorActive: on };
        await t.session.patch(uri, patch);
        clearTimeout(identifyTimers.get(target));
        identifyTimers.delete(target);
        if (on && seconds !== undefined && seconds > 0) {
          const timer = setTimeout(() => {
            identifyTimers.delete(target);
            const off = 'IndicatorLED' in patch ? { IndicatorLED: 'Off' } : { LocationIndicatorActive: false };
            void t.session.patch(uri, off).catch(() => undefined);
          }, seconds * 1000);
          timer.unref();
          identifyTimers.set(target, timer);
        }
      }),
    // The light as the BMC reports it on the resource `identify` patches; null when it says nothing.
    identifyState: async (target) => {
      const t = running().target(target);
      const d = t.discovery ?? (await t.discover());
      const uri = d.systems[0] ?? d.chassis[0]?.uri;
      if (uri === undefined) return null;
      const body = await t.session.get(uri);
      const active = prop(body, 'LocationIndicatorActive');
      if (typeof active === 'boolean') return active;
      const led = prop(body, 'IndicatorLED');
      return led === 'Off' ? false : led === 'Lit' || led === 'Blinking' ? true : null;
    },
    powerLimit: async (target) => {
      const t = running().target(target);
      return readLimit(t, await site(t));
    },
    setPowerLimit: async (target, change: BmcPowerLimitChange, by) => {
      let result: BmcPowerLimit | null = null;
      await act(
        by,
        `redfish power-limit ${target} ${change.watts === null ? 'off' : `${change.watts} W`}`,
        async () => {
          const t = running().target(target);
          const s = await site(t);
          const on = change.watts !== null;
          if (s.kind === 'control') {
            await t.session.patch(
              s.uri,
              on ? { SetPoint: change.watts, ControlMode: 'Automatic' } : { ControlMode: 'Disabled' },
            );
          } else if (s.kind === 'environment') {
            await t.session.patch(s.uri, {
              PowerLimitWatts: on ? { SetPoint: change.watts, ControlMode: 'Automatic' } : { ControlMode: 'Disabled' },
            });
          } else {
            const ex = { none: 'NoAction', log: 'LogEventOnly', 'power-off': 'HardPowerOff' } as const;
            await t.session.patch(s.uri, {
              PowerControl: [
                {
                  PowerLimit: {
                    LimitInWatts: change.watts,
                    ...(change.correctionMs !== undefined ? { CorrectionInMs: change.correctionMs } : {}),
                    ...(change.exception !== undefined ? { LimitException: ex[change.exception] } : {}),
                  },
                },
              ],
            });
          }
          result = await readLimit(t, s);
        },
      );
      return result;
    },
  };
}

/** Every Control of a target's chassis as raw bodies (for `vpmctl redfish sensors`). */
export async function controlsOf(t: RedfishTarget): Promise<RfObject[]> {
  const d = t.discovery ?? (await t.discover());
  const out: RfObject[] = [];
  for (const c of d.chassis) {
    const controls = linkOf(await t.session.get(c.uri), 'Controls');
    if (controls !== undefined) out.push(...(await t.expandedMembers(controls)));
  }
  return members({ Members: out });
}
