/**
 * Power profiles on Redfish: `ComputerSystem.PowerMode` (read, and PATCH to one of the modes the
 * profiles plugin configures) and the OEM resource `Systems/{id}/Oem/Vpmd/PowerProfiles` listing
 * pools and profiles. Both come from `power-profiles@1`; without a provider PowerMode is absent
 * and the OEM resource says why.
 */
import { POWER_PROFILES, VpmdError, formatCpuList, type PowerProfileInfo } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route, RouteRequest } from '../http/router.js';
import type { FieldCheck } from './patch.js';
import { notFound } from './service-root.js';
import { oemType } from './oem-schema.js';

const NO_PROVIDER = 'no power-profiles provider is running (enable the profiles plugin)';

/** Where the OEM resource is. */
export function powerProfilesUri(systemId: string): string {
  return `/redfish/v1/Systems/${systemId}/Oem/Vpmd/PowerProfiles`;
}

/** `PowerMode` and its allowable values for the ComputerSystem body; empty without a provider. */
export function powerModeProperties(deps: ServiceDeps): Record<string, unknown> {
  const p = deps.ctx.capabilities.find(POWER_PROFILES);
  if (!p) return {};
  const { mode, allowed } = p.powerMode();
  return { PowerMode: mode, ...(allowed.length > 0 ? { 'PowerMode@Redfish.AllowableValues': [...allowed] } : {}) };
}

/** How a PATCH of the ComputerSystem checks PowerMode: one of the configured modes; nothing without a provider. */
export function powerModeField(deps: ServiceDeps): Record<string, FieldCheck> {
  const p = deps.ctx.capabilities.find(POWER_PROFILES);
  const allowed = p ? [...p.powerMode().allowed] : [];
  return allowed.length > 0 ? { PowerMode: { type: 'string', values: allowed } } : {};
}

/** Applies a checked PATCH's PowerMode, when it has one (privilege-checked and audited by the provider). */
export async function applyPowerMode(deps: ServiceDeps, req: RouteRequest): Promise<void> {
  const p = deps.ctx.capabilities.find(POWER_PROFILES);
  const mode = req.body.PowerMode;
  if (!p || typeof mode !== 'string') return;
  if (!req.principal) throw new VpmdError('E_INTERNAL', 'PowerMode PATCH without a principal');
  await p.setPowerMode(mode, req.principal);
}

function settings(p: PowerProfileInfo): string {
  const s: string[] = [];
  if (p.governor !== undefined) s.push(`governor ${p.governor}`);
  if (p.epp !== undefined) s.push(`EPP ${p.epp}`);
  if (p.minKHz !== undefined || p.maxKHz !== undefined) s.push(`frequency ${p.minKHz ?? '-'}..${p.maxKHz ?? '-'} kHz`);
  if (p.turbo !== undefined) s.push(`turbo ${p.turbo ? 'on' : 'off'}`);
  if (p.resumeLatencyUs !== undefined) s.push(`resume latency <= ${p.resumeLatencyUs} us`);
  if (p.uncoreMinKHz !== undefined || p.uncoreMaxKHz !== undefined)
    s.push(`uncore ${p.uncoreMinKHz ?? '-'}..${p.uncoreMaxKHz ?? '-'} kHz`);
  return `${p.name}: ${s.join(', ') || 'leaves every knob as found'}`;
}

/** The OEM resource's route. */
export function powerProfilesRoutes(deps: ServiceDeps): Route[] {
  const id = deps.ctx.config.systemId;
  return [
    {
      pattern: '/redfish/v1/Systems/{sys}/Oem/Vpmd/PowerProfiles',
      entity: 'ComputerSystem',
      get: (req) => {
        if (req.params.sys !== id) throw notFound('ComputerSystem', req.params.sys ?? '');
        const p = deps.ctx.capabilities.find(POWER_PROFILES);
        const head = {
          '@odata.id': powerProfilesUri(id),
          '@odata.type': oemType('VpmdPowerProfiles'),
          Id: 'PowerProfiles',
          Name: 'Power profiles',
          Description: 'Power profiles and the CPU pools running them',
        };
        if (!p) return { ...head, Available: false, Reason: NO_PROVIDER };
        return {
          ...head,
          Available: true,
          PowerMode: p.powerMode().mode,
          Pools: p
            .pools()
            .map(
              (x) => `${x.name}: CPUs ${formatCpuList(x.cpus) || 'none'} (${x.source}), profile ${x.profile ?? 'none'}`,
            )
            .join('\n'),
          Profiles: p.profiles().map(settings).join('\n'),
        };
      },
    },
  ];
}
