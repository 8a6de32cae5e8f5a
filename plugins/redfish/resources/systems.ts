/**
 * `Systems/{id}`: the host itself. PowerState comes from the host-sleep provider when one runs;
 * Processors (one per package) show current and allowed frequencies from cpufreq, and a PATCH
 * of `OperatingSpeedRangeMHz` sets the cpufreq limits of the package and, when guest channels
 * run, the bounds guests may ask for. `Reset` offers only what this host can do here and now.
 */
import { hostname } from 'node:os';
import { HOST_SLEEP, GUEST_CHANNELS, VpmdError, type CpufreqPolicy, type HostTopology } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { RedfishError, baseMessage, fail } from '../http/redfish-error.js';
import type { Reply, Route, RouteRequest } from '../http/router.js';
import { checkBody } from './patch.js';
import { doReset, resetOffers } from './reset.js';
import { notFound } from './service-root.js';
import { collection, link, odataType, status } from './types.js';
import { oemType } from './oem-schema.js';
import { capabilitiesDocumentsUri } from './capabilities-documents.js';
import { applyPowerMode, powerModeField, powerModeProperties, powerProfilesUri } from './power-profiles.js';
import { ASSET_TAG_MAX, Inventory } from './inventory.js';
import { vmEnergyUri } from './vm-energy.js';
import type { ProcessorSpeeds } from './processor-speeds.js';
import {
  applyBoot,
  bootField,
  bootProperties,
  hostBmc,
  identifyField,
  identifyProperties,
  setIdentify,
} from './host-bmc.js';

/** How long the topology (and which cpufreq policies govern which CPUs) is taken as read. */
export const TOPOLOGY_TTL_MS = 5000;

function packages(topo: HostTopology): number[] {
  return [...new Set(topo.cpus.filter((c) => c.online).map((c) => c.packageId ?? 0))].sort((a, b) => a - b);
}

function packageCpus(topo: HostTopology, pkg: number): number[] {
  return topo.cpus.filter((c) => c.online && (c.packageId ?? 0) === pkg).map((c) => c.cpu);
}

/**
 * Routes of the ComputerSystem, its processors and its Reset action. `speeds` is the cpufreq
 * view of the processors, its descriptors given back by the plugin's stop.
 */
export function systemRoutes(deps: ServiceDeps, speeds: ProcessorSpeeds): Route[] {
  const { ctx } = deps;
  const id = ctx.config.systemId;
  const base = `/redfish/v1/Systems/${id}`;
  const checkId = (req: RouteRequest): void => {
    if (req.params.sys !== id) throw notFound('ComputerSystem', req.params.sys ?? '');
  };
  // Topology changes only with CPU hotplug: read it at most every few seconds, not per request.
  let topoCache: { at: number; value: Promise<HostTopology> } | undefined;
  const topology = (): Promise<HostTopology> => {
    const now = Date.now();
    if (!topoCache || now - topoCache.at > TOPOLOGY_TTL_MS) {
      const value = ctx.host.topology();
      topoCache = { at: now, value };
      value.catch(() => (topoCache = undefined));
    }
    return topoCache.value;
  };
  const host = hostname();
  const inventory = new Inventory(ctx);
  const powerState = (): string => {
    const s = ctx.capabilities.find(HOST_SLEEP)?.state() ?? 'on';
    return { on: 'On', suspending: 'PoweringOff', suspended: 'Paused', resuming: 'PoweringOn' }[s];
  };
  const policiesOf = async (pkg: number, topo: HostTopology): Promise<CpufreqPolicy[]> => {
    const cpus = new Set(packageCpus(topo, pkg));
    return (await ctx.host.cpufreq.policies()).filter((p) => p.affectedCpus.some((c) => cpus.has(c)));
  };
  const processorBody = async (pkg: number): Promise<Record<string, unknown>> => {
    const topo = await topology();
    if (!packages(topo).includes(pkg)) throw notFound('Processor', `CPU${pkg}`);
    const cpus = packageCpus(topo, pkg);
    const pols = await speeds.ofPackage(pkg, new Set(cpus));
    const mhz = (khz: number): number => Math.round(khz / 1000);
    const cur = pols.map((p) => p.scalingCurKHz).filter((v): v is number => v !== undefined);
    const cores = new Set(topo.cpus.filter((c) => cpus.includes(c.cpu)).map((c) => c.coreId ?? c.cpu)).size;
    return {
      '@odata.id': `${base}/Processors/CPU${pkg}`,
      '@odata.type': odataType('Processor'),
      Id: `CPU${pkg}`,
      Name: `Processor package ${pkg}`,
      ProcessorType: 'CPU',
      Socket: `CPU${pkg}`,
      ...(topo.identity.vendor ? { Manufacturer: topo.identity.vendor } : {}),
      ...(topo.identity.modelName ? { Model: topo.identity.modelName } : {}),
      TotalCores: cores,
      TotalThreads: cpus.length,
      ...(pols.length
        ? {
            MaxSpeedMHz: mhz(Math.max(...pols.map((p) => p.cpuinfoMaxKHz))),
            ...(cur.length ? { OperatingSpeedMHz: mhz(cur.reduce((a, b) => a + b, 0) / cur.length) } : {}),
            OperatingSpeedRangeMHz: {
              AllowableMin: mhz(Math.min(...pols.map((p) => p.cpuinfoMinKHz))),
              AllowableMax: mhz(Math.max(...pols.map((p) => p.cpuinfoMaxKHz))),
              SettingMin: mhz(Math.min(...pols.map((p) => p.scalingMinKHz))),
              SettingMax: mhz(Math.max(...pols.map((p) => p.scalingMaxKHz))),
            },
          }
        : {}),
      Status: status('OK'),
    };
  };
  const pkgOf = (req: RouteRequest): number => {
    const m = /^CPU(\d+)$/.exec(req.params.proc ?? '');
    if (!m) throw notFound('Processor', req.params.proc ?? '');
    return Number(m[1]);
  };
  const systemBody = async (): Promise<Record<string, unknown>> => {
    const topo = await topology();
    return {
      '@odata.id': base,
      '@odata.type': odataType('ComputerSystem'),
      Id: id,
      Name: 'KVM host',
      // What a PATCH accepts here (DSP0266 WriteableProperties), from the same checks it uses.
      '@Redfish.WriteableProperties': [
        'AssetTag',
        ...Object.keys({ ...powerModeField(deps), ...identifyField(deps), ...bootField(deps) }),
      ],
      SystemType: 'Physical',
      HostName: host,
      ...(await inventory.systemProperties()),
      PowerState: powerState(),
      ...(await identifyProperties(deps)),
      ...(await bootProperties(deps)),
      ...('name' in hostBmc(deps) ? { LogServices: link(`${base}/LogServices`) } : {}),
      ...powerModeProperties(deps),
      Status: status('OK'),
      ProcessorSummary: {
        Count: packages(topo).length,
        CoreCount: topo.cores,
        LogicalProcessorCount: topo.online.length,
        ...(topo.identity.modelName ? { Model: topo.identity.modelName } : {}),
        ThreadingEnabled: topo.threadsPerCore > 1,
      },
      ...(topo.memTotalKiB !== undefined
        ? { MemorySummary: { TotalSystemMemoryGiB: Math.round((topo.memTotalKiB / 1048576) * 100) / 100 } }
        : {}),
      Processors: link(`${base}/Processors`),
      Links: { Chassis: [link(`/redfish/v1/Chassis/${id}`)], ManagedBy: [link('/redfish/v1/Managers/vpmd')] },
      Actions: {
        '#ComputerSystem.Reset': {
          target: `${base}/Actions/ComputerSystem.Reset`,
          '@Redfish.ActionInfo': `${base}/ResetActionInfo`,
        },
      },
      Oem: {
        Vpmd: {
          '@odata.type': oemType('VpmdComputerSystem'),
          CapabilitiesDocuments: link(capabilitiesDocumentsUri(id)),
          PowerProfiles: link(powerProfilesUri(id)),
          VmEnergy: link(vmEnergyUri(id)),
          GuestChannels: ctx.capabilities.find(GUEST_CHANNELS)
            ? 'running: OperatingSpeedRangeMHz also bounds guest frequency requests'
            : 'not running: OperatingSpeedRangeMHz sets cpufreq limits only',
        },
      },
    };
  };
  /**
   * Sets the guest bounds first and the cpufreq limits second; when either step fails, what was
   * already changed is put back, so a refused PATCH changes nothing.
   */
  const setRange = async (pkg: number, min: number, max: number, req: RouteRequest): Promise<void> => {
    const topo = await topology();
    const pols = await policiesOf(pkg, topo);
    const guests = req.principal ? ctx.capabilities.find(GUEST_CHANNELS) : undefined;
    const by = req.principal as NonNullable<RouteRequest['principal']>;
    const previous = guests?.bounds() ?? [];
    const bounded: number[] = [];
    const applied: CpufreqPolicy[] = [];
    try {
      for (const pcpu of guests ? packageCpus(topo, pkg) : []) {
        await guests?.setBounds({ pcpu, minKHz: min * 1000, maxKHz: max * 1000 }, by);
        bounded.push(pcpu);
      }
      for (const p of pols) {
        await ctx.host.cpufreq.setLimits(p.id, { minKHz: min * 1000, maxKHz: max * 1000 });
        applied.push(p);
      }
    } catch (e) {
      for (const p of applied)
        await ctx.host.cpufreq
          .setLimits(p.id, { minKHz: p.scalingMinKHz, maxKHz: p.scalingMaxKHz })
          .catch(() => undefined);
      for (const pcpu of bounded)
        await guests?.setBounds(previous.find((b) => b.pcpu === pcpu) ?? { pcpu }, by).catch(() => undefined);
      throw e;
    }
  };

  return [
    {
      pattern: '/redfish/v1/Systems',
      entity: 'ComputerSystemCollection',
      shared: true,
      get: () => collection('ComputerSystemCollection', '/redfish/v1/Systems', 'Computer systems', [base]),
    },
    {
      pattern: '/redfish/v1/Systems/{sys}',
      entity: 'ComputerSystem',
      shared: true,
      get: (req) => (checkId(req), systemBody()),
      // AssetTag: the operator's label for the host, kept in the service's state. PowerMode:
      // switches the profiles of the CPU pools (power-profiles@1). LocationIndicatorActive and
      // Boot: through the host's own BMC, when one is configured.
      patch: async (req) => {
        checkId(req);
        // eslint-disable-next-line no-control-regex -- control characters are what this refuses
        const tag = { type: 'string', maxLength: ASSET_TAG_MAX, pattern: /^[^\u0000-\u001f\u007f]*$/ } as const;
        const fields = { AssetTag: tag, ...powerModeField(deps), ...identifyField(deps), ...bootField(deps) };
        checkBody(req.body, fields, await systemBody());
        const by = req.principal as NonNullable<RouteRequest['principal']>;
        if (req.body.AssetTag !== undefined) await inventory.setAssetTag(req.body.AssetTag as string);
        if (typeof req.body.LocationIndicatorActive === 'boolean')
          await setIdentify(deps, req.body.LocationIndicatorActive, by);
        if (req.body.Boot !== undefined) await applyBoot(deps, req.body.Boot as Record<string, unknown>, by);
        await applyPowerMode(deps, req);
        return systemBody();
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/Processors',
      entity: 'ProcessorCollection',
      shared: true,
      get: async (req) => {
        checkId(req);
        const pk = packages(await topology());
        return collection(
          'ProcessorCollection',
          `${base}/Processors`,
          'Processors',
          pk.map((p) => `${base}/Processors/CPU${p}`),
        );
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/Processors/{proc}',
      entity: 'Processor',
      shared: true,
      get: (req) => (checkId(req), processorBody(pkgOf(req))),
      patch: async (req) => {
        checkId(req);
        const pkg = pkgOf(req);
        const cur = await processorBody(pkg);
        const range = cur.OperatingSpeedRangeMHz as
          { AllowableMin: number; AllowableMax: number; SettingMin: number; SettingMax: number } | undefined;
        if (!range) throw fail(400, 'PropertyNotWritable', ['OperatingSpeedRangeMHz'], 'OperatingSpeedRangeMHz');
        const lim = { type: 'integer', min: range.AllowableMin, max: range.AllowableMax } as const;
        checkBody(
          req.body,
          { OperatingSpeedRangeMHz: { type: 'object', fields: { SettingMin: lim, SettingMax: lim } } },
          cur,
        );
        const want = req.body.OperatingSpeedRangeMHz as { SettingMin?: number; SettingMax?: number };
        const min = want.SettingMin ?? range.SettingMin;
        const max = want.SettingMax ?? range.SettingMax;
        if (min > max)
          throw new RedfishError(400, [
            baseMessage(
              'PropertyValueConflict',
              ['OperatingSpeedRangeMHz/SettingMin', 'OperatingSpeedRangeMHz/SettingMax'],
              'OperatingSpeedRangeMHz/SettingMin',
            ),
          ]);
        try {
          await setRange(pkg, min, max, req);
        } finally {
          speeds.forget();
        }
        return processorBody(pkg);
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/ResetActionInfo',
      entity: 'ActionInfo',
      shared: true,
      get: async (req) => {
        checkId(req);
        const offers = await resetOffers(deps);
        return {
          '@odata.id': `${base}/ResetActionInfo`,
          '@odata.type': odataType('ActionInfo'),
          Id: 'ResetActionInfo',
          Name: 'Reset action parameters',
          Description: offers.map((o) => `${o.type}: ${o.available ? 'offered' : 'not offered'} (${o.why})`).join('; '),
          Parameters: [
            {
              Name: 'ResetType',
              Required: true,
              DataType: 'String',
              AllowableValues: offers.filter((o) => o.available).map((o) => o.type),
            },
          ],
        };
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/Actions/ComputerSystem.Reset',
      entity: 'ComputerSystem',
      post: async (req): Promise<Reply> => {
        checkId(req);
        const unknown = Object.keys(req.body).filter((k) => k !== 'ResetType');
        if (unknown.length)
          throw new RedfishError(
            400,
            unknown.map((k) => baseMessage('ActionParameterUnknown', ['ComputerSystem.Reset', k])),
          );
        const rt = req.body.ResetType;
        if (rt === undefined) throw fail(400, 'ActionParameterMissing', ['ComputerSystem.Reset', 'ResetType']);
        // Asked afresh: a reset acts on what the host allows now, not a few seconds ago.
        const offers = await resetOffers(deps, true);
        const offer = offers.find((o) => o.type === rt && o.available);
        if (typeof rt !== 'string' || !offer) {
          const known = offers.find((o) => o.type === rt);
          const e = baseMessage('ActionParameterValueNotInList', [
            JSON.stringify(rt),
            'ResetType',
            'ComputerSystem.Reset',
          ]);
          throw new RedfishError(400, [
            known ? { ...e, Message: `${e.Message} ${known.type} is not offered: ${known.why}.` } : e,
          ]);
        }
        if (!req.principal) throw new VpmdError('E_INTERNAL', 'ComputerSystem.Reset without a principal');
        await doReset(deps, offer, req.principal);
        return { status: 204, headers: {} };
      },
    },
  ];
}
