/**
 * `Systems/{id}/Oem/Vpmd/VmEnergy`: the energy accounted to each VM (the `energy@1` figures) as
 * an OEM resource of type `VpmdVmEnergy`, one entry per VM in UUID order. Redfish has no
 * standard resource for per-VM energy, so it is an OEM extension of the host's ComputerSystem,
 * described in the OEM CSDL and JSON schema like the others. Without an energy provider the
 * resource says why and lists no VMs.
 */
import { ENERGY, type VmEnergy } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route } from '../http/router.js';
import { oemType } from './oem-schema.js';
import { notFound } from './service-root.js';

const NO_PROVIDER = 'no energy accounting provider is running (enable the energy plugin)';

/** The URI of the resource for system `id`. */
export function vmEnergyUri(id: string): string {
  return `/redfish/v1/Systems/${id}/Oem/Vpmd/VmEnergy`;
}

/** Joules and watts to the millijoule and milliwatt: enough for any client, short in JSON. */
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function entry(v: VmEnergy): Record<string, unknown> {
  return {
    DomainUuid: v.uuid,
    Name: v.name,
    Running: v.running,
    EnergyJoules: round3(v.rapl.joules),
    PowerWatts: v.rapl.watts === null ? null : round3(v.rapl.watts),
    Model: v.rapl.model,
    WallEnergyJoules: v.wall ? round3(v.wall.joules) : null,
    WallPowerWatts: v.wall?.watts != null ? round3(v.wall.watts) : null,
    WallModel: v.wall?.model ?? null,
    WallSource: v.wall?.origin ?? null,
    NovaInstanceId: v.novaInstanceId ?? null,
    NovaProjectId: v.novaProjectId ?? null,
  };
}

/** The route of the resource. */
export function vmEnergyRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const id = ctx.config.systemId;
  return [
    {
      pattern: '/redfish/v1/Systems/{sys}/Oem/Vpmd/VmEnergy',
      entity: 'ComputerSystem',
      get: (req) => {
        if (req.params.sys !== id) throw notFound('ComputerSystem', req.params.sys ?? '');
        const energy = ctx.capabilities.find(ENERGY);
        return {
          '@odata.id': vmEnergyUri(id),
          '@odata.type': oemType('VpmdVmEnergy'),
          Id: 'VmEnergy',
          Name: 'Virtual machine energy',
          Description: 'The energy accounted to each virtual machine on this host, with its source and model',
          Available: energy !== undefined,
          ...(energy ? {} : { Reason: NO_PROVIDER }),
          VirtualMachines: (energy?.vms() ?? []).map(entry),
        };
      },
    },
  ];
}
