/**
 * This host's own BMC (the `bmcs@1` target marked `hostBmc: true`): the identify light
 * (`LocationIndicatorActive` on the host's ComputerSystem and Chassis) and the boot source
 * override (`Boot`) go through it. Without one these properties are absent, never invented; a
 * BMC that cannot be read gives null ("unknown"), and the rest of the resource is served.
 */
import {
  BMCS,
  VpmdError,
  type BmcBootOverride,
  type BmcBootOverrideChange,
  type BmcBootSource,
  type Bmcs,
  type Principal,
} from 'vpmd';
import type { RedfishContext, ServiceDeps } from '../config.js';
import type { FieldCheck } from './patch.js';
import { toId } from './types.js';

/** The host's BMC and the router, or why there is none. */
export type HostBmc = { readonly name: string; readonly bmcs: Bmcs } | { readonly why: string };

/** Looks the host BMC up now (drivers come and go with their plugins). */
export function hostBmc(deps: ServiceDeps): HostBmc {
  const bmcs = deps.ctx.capabilities.find(BMCS);
  if (!bmcs) return { why: 'no BMC router (bmcs@1) is available' };
  try {
    const t = bmcs.hostBmc();
    if (t === undefined)
      return {
        why: "no BMC is configured as this host's own (mark its target hostBmc: true in plugins.ipmi.targets)",
      };
    return { name: t.name, bmcs };
  } catch (e) {
    return { why: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The name of the host's BMC target, or undefined when there is none (or the marking is in
 * conflict: then no target is the host's, as `hostBmc` reports).
 */
export function hostBmcName(ctx: RedfishContext): string | undefined {
  try {
    return ctx.capabilities.find(BMCS)?.hostBmc()?.name;
  } catch {
    return undefined;
  }
}

/**
 * The Chassis Id of a telemetry target: the host's (`systemId`) for the host and for the host's
 * own BMC, whose box it is (one physical chassis, as a BMC's own service models it), else
 * `bmc-NAME`. Sensors, events and links all use it, so a host BMC's readings are under the host.
 */
export function chassisIdOfTarget(ctx: RedfishContext, target: string, hostBmcTarget?: string): string {
  // The host needs no look-up of its BMC (every host sensor of a poll asks this).
  if (target === 'host') return ctx.config.systemId;
  return target === (hostBmcTarget ?? hostBmcName(ctx)) ? ctx.config.systemId : toId(`bmc-${target}`);
}

/**
 * How long a GET waits for the host BMC before serving null: an unreachable BMC (whose driver
 * retries for up to its request budget) must not hold the host's resources.
 */
export const HOST_BMC_READ_MS = 2000;

function bounded<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HOST_BMC_READ_MS} ms`)), HOST_BMC_READ_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Why a host BMC call failed, for a log line. */
function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The BMC whose identify light is `LocationIndicatorActive`: the host's own BMC for the host
 * (`target` undefined), else the named BMC target (the chassis of another BMC the agent polls).
 */
function identifyBmc(deps: ServiceDeps, target?: string): HostBmc {
  if (target === undefined) return hostBmc(deps);
  const bmcs = deps.ctx.capabilities.find(BMCS);
  if (!bmcs?.targets().some((t) => t.name === target)) return { why: `${target} is not a BMC target` };
  return { name: target, bmcs };
}

/**
 * `LocationIndicatorActive` when there is a BMC to ask (see `identifyBmc`): its state, null when
 * unknown (the BMC does not report it and nobody set it through vpmd, or it cannot be read).
 */
export async function identifyProperties(deps: ServiceDeps, target?: string): Promise<Record<string, unknown>> {
  const h = identifyBmc(deps, target);
  if (!('name' in h)) return {};
  try {
    return { LocationIndicatorActive: await bounded(h.bmcs.identifyState(h.name)) };
  } catch (e) {
    deps.ctx.log.debug({ target: h.name, err: reason(e) }, 'redfish: identify state of the BMC unknown');
    return { LocationIndicatorActive: null };
  }
}

/** The PATCH check of `LocationIndicatorActive`, only when there is a BMC to ask. */
export function identifyField(deps: ServiceDeps, target?: string): Record<string, FieldCheck> {
  return 'name' in identifyBmc(deps, target) ? { LocationIndicatorActive: { type: 'boolean' } } : {};
}

/** Turns the identify light on (until turned off) or off through the BMC (see `identifyBmc`). */
export async function setIdentify(deps: ServiceDeps, on: boolean, by: Principal, target?: string): Promise<void> {
  const h = identifyBmc(deps, target);
  if (!('name' in h)) throw new VpmdError('E_BMC_NOT_FOUND', h.why);
  await h.bmcs.identify(h.name, on, by);
}

/** What a PATCH of `Boot` may set. */
export const BOOT_TARGETS: readonly BmcBootSource[] = ['None', 'Pxe', 'Hdd', 'Cd', 'Diags', 'BiosSetup', 'Floppy'];
const ENABLED = ['Disabled', 'Once', 'Continuous'] as const;
const MODES = ['UEFI', 'Legacy'] as const;

/** `Boot` when a host BMC is configured (null values when it cannot be read). */
export async function bootProperties(deps: ServiceDeps): Promise<Record<string, unknown>> {
  const h = hostBmc(deps);
  if (!('name' in h)) return {};
  let o: BmcBootOverride | undefined;
  try {
    o = await bounded(h.bmcs.bootOverride(h.name));
  } catch (e) {
    deps.ctx.log.debug({ target: h.name, err: reason(e) }, 'redfish: boot override of the host BMC unknown');
  }
  return {
    Boot: {
      BootSourceOverrideEnabled: o?.enabled ?? null,
      'BootSourceOverrideEnabled@Redfish.AllowableValues': ENABLED,
      BootSourceOverrideTarget: o?.target ?? null,
      'BootSourceOverrideTarget@Redfish.AllowableValues': BOOT_TARGETS,
      BootSourceOverrideMode: o?.mode ?? null,
      'BootSourceOverrideMode@Redfish.AllowableValues': MODES,
    },
  };
}

/** The PATCH check of `Boot`, only when there is a host BMC. */
export function bootField(deps: ServiceDeps): Record<string, FieldCheck> {
  if (!('name' in hostBmc(deps))) return {};
  return {
    Boot: {
      type: 'object',
      fields: {
        BootSourceOverrideEnabled: { type: 'string', values: ENABLED },
        BootSourceOverrideTarget: { type: 'string', values: BOOT_TARGETS },
        BootSourceOverrideMode: { type: 'string', values: MODES },
      },
    },
  };
}

/** Writes a checked `Boot` PATCH through the host BMC (IPMI Set System Boot Options). */
export async function applyBoot(deps: ServiceDeps, boot: Record<string, unknown>, by: Principal): Promise<void> {
  const h = hostBmc(deps);
  if (!('name' in h)) throw new VpmdError('E_BMC_NOT_FOUND', h.why);
  const change: BmcBootOverrideChange = {
    ...(boot.BootSourceOverrideEnabled !== undefined
      ? { enabled: boot.BootSourceOverrideEnabled as BmcBootOverride['enabled'] }
      : {}),
    ...(boot.BootSourceOverrideTarget !== undefined ? { target: boot.BootSourceOverrideTarget as BmcBootSource } : {}),
    ...(boot.BootSourceOverrideMode !== undefined
      ? { mode: boot.BootSourceOverrideMode as BmcBootOverride['mode'] }
      : {}),
  };
  await h.bmcs.setBootOverride(h.name, change, by);
}
