/**
 * `Systems/{id}`: the host itself. PowerState comes from the host-sleep provider when one runs;
 * Processors (one per package) show current and allowed frequencies from cpufreq, and a PATCH
 * of `OperatingSpeedRangeMHz` sets the cpufreq limits of the package and, when guest channels
 * run, the bounds guests may ask for. `Reset` offers only what this host can do here and now.
 */
import { hostname } from 'node:os';
import { HOST_SLEEP, GUEST_CHANNELS, VpmdError, type CpufreqPolicy, type HostTopology, type Principal } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { RedfishError, baseMessage, fail } from '../http/redfish-error.js';
import type { Reply, Route, RouteRequest } from '../http/router.js';
import { checkBody } from './patch.js';
import { LogindPower, type PowerAnswer } from '../host/logind-power.js';
import { SystemdPower, type SystemdAnswer } from '../host/systemd-power.js';
import { notFound } from './service-root.js';
import { collection, link, odataType, status } from './types.js';
import { oemType } from './oem-schema.js';
import { capabilitiesDocumentsUri } from './capabilities-documents.js';

const TOPOLOGY_TTL_MS = 5000;

/** A reset type this service can offer, with why it is or is not available now. */
interface ResetOffer {
  readonly type: string;
  readonly available: boolean;
  readonly why: string;
}

/** What logind and the systemd manager answer (each asked at most every few seconds). */
interface PowerProbes {
  /** logind's Can* answers, or why logind is not used. */
  readonly logind: () => Promise<PowerAnswer | string>;
  /** Whether the systemd manager can force a reboot, or why not. */
  readonly systemd: () => Promise<SystemdAnswer>;
}

/** An answer loaded at most every TOPOLOGY_TTL_MS; forget() drops it (after a reset request). */
function cachedAnswer<T>(load: () => Promise<T>): { get(): Promise<T>; forget(): void } {
  let cached: { at: number; answer: Promise<T> } | undefined;
  return {
    get: () => {
      if (!cached || Date.now() - cached.at > TOPOLOGY_TTL_MS) cached = { at: Date.now(), answer: load() };
      return cached.answer;
    },
    forget: () => {
      cached = undefined;
    },
  };
}

function logindOffer(type: string, answer: PowerAnswer | string, key: 'powerOff' | 'reboot', verb: string): ResetOffer {
  if (typeof answer === 'string') return { type, available: false, why: answer };
  if (answer.problem) return { type, available: false, why: `systemd-logind unavailable: ${answer.problem}` };
  const v = answer[key];
  return v === 'yes'
    ? { type, available: true, why: `systemd-logind ${verb}` }
    : {
        type,
        available: false,
        why: `systemd-logind answers Can${verb}=${v}${v === 'challenge' ? ' (needs interactive authorization)' : ''}`,
      };
}

function systemdOffer(answer: SystemdAnswer): ResetOffer {
  return answer.reboot
    ? {
        type: 'ForceRestart',
        available: true,
        why: 'systemd manager Reboot(), as systemctl reboot --force: services are not stopped in order',
      }
    : { type: 'ForceRestart', available: false, why: answer.why };
}

/** What the host can do now, and why not otherwise. */
async function resetOffers(deps: ServiceDeps, probes: PowerProbes): Promise<ResetOffer[]> {
  const sleep = deps.ctx.capabilities.find(HOST_SLEEP);
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
  const [power, manager] = await Promise.all([probes.logind(), probes.systemd()]);
  return [
    { type: 'On', available: true, why: 'vpmd runs on the host, so the host is on (no-op)' },
    suspend,
    logindOffer('GracefulShutdown', power, 'powerOff', 'PowerOff'),
    logindOffer('GracefulRestart', power, 'reboot', 'Reboot'),
    systemdOffer(manager),
    {
      type: 'Resume',
      available: false,
      why: 'a suspended host cannot run vpmd to resume itself (wake it through its BMC or the RTC alarm)',
    },
  ];
}

function packages(topo: HostTopology): number[] {
  return [...new Set(topo.cpus.filter((c) => c.online).map((c) => c.packageId ?? 0))].sort((a, b) => a - b);
}

function packageCpus(topo: HostTopology, pkg: number): number[] {
  return topo.cpus.filter((c) => c.online && (c.packageId ?? 0) === pkg).map((c) => c.cpu);
}

/** Routes of the ComputerSystem, its processors and its Reset action. */
export function systemRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const id = ctx.config.systemId;
  const hp = ctx.config.hostPower;
  // On a simulated host the machine's own logind and systemd are never asked: powering off or
  // rebooting the real machine from a demo or a test would be a nasty surprise. An explicit
  // busAddress (a test bus) is used. Without busAddress on a real host, SystemdPower also
  // checks that vpmd runs as root, as that bus requires of a Reboot() caller; with one, the
  // manager may be elsewhere and only the call tells (see SystemdPowerOptions).
  const realBusOk = !ctx.core.simulated || hp.busAddress !== undefined;
  const busOpts = {
    ...(hp.busAddress !== undefined ? { busAddress: hp.busAddress } : {}),
    timeoutMs: Math.round(hp.timeout * 1000),
  };
  const logind = hp.logind && realBusOk ? new LogindPower(busOpts) : undefined;
  const systemd = hp.systemd && realBusOk ? new SystemdPower(busOpts) : undefined;
  const notUsed = (key: 'logind' | 'systemd', what: string): string =>
    hp[key]
      ? `simulated host: the system ${what} is not used (set plugins.redfish.hostPower.busAddress to use one)`
      : `plugins.redfish.hostPower.${key} is false`;
  const logindAnswer = cachedAnswer<PowerAnswer | string>(() =>
    logind ? logind.can() : Promise.resolve(notUsed('logind', 'logind')),
  );
  const systemdAnswer = cachedAnswer<SystemdAnswer>(() =>
    systemd ? systemd.probe() : Promise.resolve({ reboot: false, why: notUsed('systemd', 'systemd manager') }),
  );
  const probes: PowerProbes = { logind: logindAnswer.get, systemd: systemdAnswer.get };
  /** Every outcome is audited here: the dispatcher records only successful requests. */
  const forceRestart = async (manager: SystemdPower, by: Principal): Promise<void> => {
    systemdAnswer.forget();
    logindAnswer.forget();
    const action = 'redfish ComputerSystem.Reset ForceRestart (systemd Manager.Reboot)';
    try {
      await manager.forceReboot();
    } catch (e) {
      ctx.access.audit(by, action, 'failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
    ctx.access.audit(by, action, 'ok', `accepted by the systemd manager on ${manager.address}`);
  };
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
    const pols = await policiesOf(pkg, topo);
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
      SystemType: 'Physical',
      HostName: host,
      PowerState: powerState(),
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
        await setRange(pkg, min, max, req);
        return processorBody(pkg);
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/ResetActionInfo',
      entity: 'ActionInfo',
      shared: true,
      get: async (req) => {
        checkId(req);
        const offers = await resetOffers(deps, probes);
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
        const offers = await resetOffers(deps, probes);
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
        if (rt === 'Suspend') {
          const sleep = ctx.capabilities.find(HOST_SLEEP);
          if (!sleep || !req.principal) throw new VpmdError('E_CAPABILITY_MISSING', 'host-sleep provider went away');
          await sleep.suspend({ target: 'mem' }, req.principal);
        } else if (rt === 'ForceRestart') {
          if (!systemd || !req.principal)
            throw new VpmdError('E_INTERNAL', 'ForceRestart was offered without a systemd manager');
          await forceRestart(systemd, req.principal);
        } else if ((rt === 'GracefulShutdown' || rt === 'GracefulRestart') && logind) {
          logindAnswer.forget();
          await (rt === 'GracefulShutdown' ? logind.powerOff() : logind.reboot());
          if (rt === 'GracefulShutdown')
            ctx.events.emit('host.power.v1', {
              state: 'off',
              timestamp: Date.now(),
              requestedBy: `${req.principal?.name ?? '?'}@redfish`,
            });
        }
        return { status: 204, headers: {} };
      },
    },
  ];
}
