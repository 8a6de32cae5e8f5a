/**
 * `Chassis/{id}`: one chassis for the host and one per other telemetry target (a BMC the IPMI
 * plugin polls), each with Sensors, PowerSubsystem, ThermalSubsystem (ThermalMetrics) and
 * EnvironmentMetrics built from the telemetry store at request time, so new metrics appear
 * without a restart. The host's own BMC (`hostBmc`) has no chassis of its own: it is the
 * management controller inside the host's box, so its readings are the host chassis' sensors.
 */
import { BMCS, type MetricKind, type MetricSnapshot } from 'vpmd';
import type { RedfishContext, ServiceDeps } from '../config.js';
import type { Route, RouteRequest } from '../http/router.js';
import { notFound } from './service-root.js';
import { collection, link, odataType, status, toId } from './types.js';
import { READING, SensorBodies } from './sensor-body.js';
import { hostControls, patchEnvironmentPowerLimit, powerLimitExcerpt } from './power-controls.js';
import { chassisIdOfTarget, hostBmcName, identifyField, identifyProperties, setIdentify } from './host-bmc.js';
import { checkBody } from './patch.js';
import { Inventory } from './inventory.js';

const C = '/redfish/v1/Chassis';
const MANAGER = '/redfish/v1/Managers/vpmd';

/** The telemetry targets whose readings the host chassis holds: the host and its own BMC. */
function hostTargets(ctx: RedfishContext): string[] {
  const own = hostBmcName(ctx);
  return own === undefined ? ['host'] : ['host', own];
}

/**
 * Every Chassis Id served, with the telemetry targets whose readings it holds (the host first).
 * The managers' `ManagerForChassis` lists the same Ids, so the links stay symmetric.
 */
export function chassisTargets(ctx: RedfishContext): Map<string, string[]> {
  const own = hostBmcName(ctx);
  const out = new Map<string, string[]>([[ctx.config.systemId, hostTargets(ctx)]]);
  const add = (target: string): void => {
    const id = chassisIdOfTarget(ctx, target, own);
    const held = out.get(id);
    if (held === undefined) out.set(id, [target]);
    else if (!held.includes(target)) held.push(target);
  };
  for (const m of ctx.telemetry.list()) add(m.source.target);
  for (const t of ctx.capabilities.find(BMCS)?.targets() ?? []) add(t.name);
  return out;
}

/** Routes of the chassis and their telemetry. */
export function chassisRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const hostId = ctx.config.systemId;
  const inventory = new Inventory(ctx);
  const targetsOf = (req: RouteRequest): string[] => {
    // The host's chassis always exists: found without listing every metric and BMC (a poller
    // reading the host's sensors asks this on every request).
    if (req.params.ch === hostId) return hostTargets(ctx);
    const t = chassisTargets(ctx).get(req.params.ch ?? '');
    if (t === undefined) throw notFound('Chassis', req.params.ch ?? '');
    return t;
  };
  const sensorsOf = (targets: readonly string[]): MetricSnapshot[] =>
    targets.flatMap((target) => ctx.telemetry.list({ target })).filter((m) => READING[m.kind] !== undefined);
  // Redfish sensor id -> metric id, rebuilt when an id is not found (metrics come and go).
  let ids = new Map<string, string>();
  const sensorById = (sensorId: string): MetricSnapshot | undefined => {
    let metric = ids.get(sensorId);
    if (metric === undefined) {
      ids = new Map(ctx.telemetry.list().map((m) => [sensorIdOf(m.id), m.id]));
      metric = ids.get(sensorId);
    }
    if (metric === undefined) return undefined;
    try {
      return ctx.telemetry.get(metric);
    } catch {
      ids.delete(sensorId);
      return undefined;
    }
  };
  // Metric id -> Redfish id, remembered: the set of metric ids is small and each is asked per GET.
  const sensorIds = new Map<string, string>();
  const sensorIdOf = (metric: string): string => {
    let id = sensorIds.get(metric);
    if (id === undefined) {
      if (sensorIds.size >= 4096) sensorIds.clear();
      id = toId(metric);
      sensorIds.set(metric, id);
    }
    return id;
  };
  const sensorUri = (ch: string, m: MetricSnapshot): string => `${C}/${ch}/Sensors/${sensorIdOf(m.id)}`;
  const sum = (ms: MetricSnapshot[]): number | null => {
    const v = ms.map((m) => m.latest?.value).filter((x): x is number => typeof x === 'number');
    return v.length ? v.reduce((a, b) => a + b, 0) : null;
  };
  /**
   * The readings of the chassis' power or energy: a BMC's (the whole box, at its input) when it
   * has any, else the host's package-level ones (RAPL sub-domains are inside their package: not
   * summed twice). The host chassis never adds the two: the packages are inside the box.
   */
  const topLevel = (ms: MetricSnapshot[], kind: MetricKind): MetricSnapshot[] => {
    const box = ms.filter((m) => m.kind === kind && m.source.target !== 'host');
    if (box.length) return box;
    return ms.filter(
      (m) =>
        m.kind === kind &&
        m.source.target === 'host' &&
        (!m.id.startsWith('host/rapl/') || /^host\/rapl\/package-\d+\//.test(m.id)),
    );
  };

  // Built for every sensor of every poll (and 23 times for an expanded collection), from a
  // template per metric (sensor-body.ts).
  const sensors = new SensorBodies();
  const sensorBody = (ch: string, m: MetricSnapshot): Record<string, unknown> => sensors.body(ch, sensorIdOf(m.id), m);

  const chassisBody = async (req: RouteRequest): Promise<Record<string, unknown>> => {
    const [target = 'host'] = targetsOf(req);
    const ch = req.params.ch as string;
    const isHost = target === 'host';
    const bmc = isHost
      ? undefined
      : ctx.capabilities
          .find(BMCS)
          ?.targets()
          .find((b) => b.name === target);
    const health = bmc && bmc.state !== 'ok' ? 'Warning' : 'OK';
    return {
      '@odata.id': `${C}/${ch}`,
      '@odata.type': odataType('Chassis'),
      Id: ch,
      Name: isHost ? 'Host chassis' : `Chassis of BMC ${target}`,
      '@Redfish.WriteableProperties': Object.keys(identifyField(deps, isHost ? undefined : target)),
      ChassisType: 'RackMount',
      // Another target's chassis: vpmd reads no FRU inventory of it, so its Model and
      // SerialNumber are unknown (null), not borrowed from elsewhere; its identify light is its
      // BMC's when the target is one. The host's light is its own BMC's.
      ...(isHost
        ? { ...(await inventory.chassisProperties()), ...(await identifyProperties(deps)) }
        : { Model: null, SerialNumber: null, ...(await identifyProperties(deps, target)) }),
      // The host is on while vpmd answers from it. Another target's power state is its BMC's
      // report; null (unknown) until it gives one.
      PowerState: isHost ? 'On' : bmc?.power ? (bmc.power === 'on' ? 'On' : 'Off') : null,
      Status: status(health),
      Sensors: link(`${C}/${ch}/Sensors`),
      PowerSubsystem: link(`${C}/${ch}/PowerSubsystem`),
      ThermalSubsystem: link(`${C}/${ch}/ThermalSubsystem`),
      EnvironmentMetrics: link(`${C}/${ch}/EnvironmentMetrics`),
      // Every chassis has its Controls collection; only the host's holds one (the power limit).
      Controls: link(`${C}/${ch}/Controls`),
      // Each link has its reverse: Systems/host Links.Chassis, Managers/vpmd ManagerForChassis
      // (every chassis) and ManagerInChassis (vpmd runs in the host's box). Another target's
      // systems are not resources of this service, so none is linked from its chassis.
      Links: isHost
        ? {
            ComputerSystems: [link(`/redfish/v1/Systems/${hostId}`)],
            ManagedBy: [link(MANAGER)],
            ManagersInChassis: [link(MANAGER)],
          }
        : { ManagedBy: [link(MANAGER)] },
    };
  };
  const environmentBody = async (req: RouteRequest): Promise<Record<string, unknown>> => {
    const ch = req.params.ch as string;
    const ms = sensorsOf(targetsOf(req));
    const temps = ms.filter((m) => m.kind === 'temperature' && typeof m.latest?.value === 'number');
    const hottest = temps.sort((a, b) => (b.latest?.value as number) - (a.latest?.value as number))[0];
    const watts = sum(topLevel(ms, 'power'));
    const joules = sum(topLevel(ms, 'energy'));
    return {
      '@odata.id': `${C}/${ch}/EnvironmentMetrics`,
      '@odata.type': odataType('EnvironmentMetrics'),
      Id: 'EnvironmentMetrics',
      Name: 'Chassis environment',
      ...(watts !== null ? { PowerWatts: { Reading: Math.round(watts * 1000) / 1000 } } : {}),
      ...(joules !== null ? { EnergykWh: { Reading: joules / 3.6e6 } } : {}),
      ...(hottest
        ? { TemperatureCelsius: { Reading: hottest.latest?.value ?? null, DataSourceUri: sensorUri(ch, hottest) } }
        : {}),
      ...(await powerLimitExcerpt(deps, ch)),
    };
  };
  return [
    {
      pattern: C,
      entity: 'ChassisCollection',
      shared: true,
      get: () =>
        collection(
          'ChassisCollection',
          C,
          'Chassis',
          [...chassisTargets(ctx).keys()].map((id) => `${C}/${id}`),
        ),
    },
    {
      pattern: `${C}/{ch}`,
      entity: 'Chassis',
      shared: true,
      get: (req) => chassisBody(req),
      // The identify light, through the host's own BMC (host chassis) or the chassis' BMC.
      patch: async (req) => {
        const current = await chassisBody(req);
        const [target] = targetsOf(req);
        const bmcTarget = target === 'host' ? undefined : target;
        checkBody(req.body, identifyField(deps, bmcTarget), current);
        const by = req.principal as NonNullable<RouteRequest['principal']>;
        if (typeof req.body.LocationIndicatorActive === 'boolean')
          await setIdentify(deps, req.body.LocationIndicatorActive, by, bmcTarget);
        return chassisBody(req);
      },
    },
    {
      pattern: `${C}/{ch}/Controls`,
      entity: 'ControlCollection',
      shared: true,
      get: (req) => {
        const ch = req.params.ch as string;
        const members = targetsOf(req)[0] === 'host' ? hostControls(deps, ch) : [];
        return collection('ControlCollection', `${C}/${ch}/Controls`, 'Controls', members);
      },
    },
    {
      pattern: `${C}/{ch}/Sensors`,
      entity: 'SensorCollection',
      shared: true,
      get: (req) => {
        const ch = req.params.ch as string;
        return collection(
          'SensorCollection',
          `${C}/${ch}/Sensors`,
          'Sensors',
          sensorsOf(targetsOf(req)).map((m) => sensorUri(ch, m)),
        );
      },
    },
    {
      pattern: `${C}/{ch}/Sensors/{sensor}`,
      entity: 'Sensor',
      shared: true,
      get: (req) => {
        const m = sensorById(req.params.sensor ?? '');
        if (!m || chassisIdOfTarget(ctx, m.source.target) !== req.params.ch || READING[m.kind] === undefined) {
          targetsOf(req); // an unknown chassis is a Chassis 404, not a Sensor one
          throw notFound('Sensor', req.params.sensor ?? '');
        }
        return sensorBody(req.params.ch, m);
      },
    },
    {
      pattern: `${C}/{ch}/PowerSubsystem`,
      entity: 'PowerSubsystem',
      shared: true,
      get: (req) => {
        targetsOf(req);
        return {
          '@odata.id': `${C}/${req.params.ch}/PowerSubsystem`,
          '@odata.type': odataType('PowerSubsystem'),
          Id: 'PowerSubsystem',
          Name: 'Power subsystem',
          Description:
            'Power readings are in Sensors and EnvironmentMetrics; vpmd does not see power supplies of this chassis',
          Status: status('OK'),
        };
      },
    },
    {
      pattern: `${C}/{ch}/ThermalSubsystem`,
      entity: 'ThermalSubsystem',
      shared: true,
      get: (req) => {
        targetsOf(req);
        return {
          '@odata.id': `${C}/${req.params.ch}/ThermalSubsystem`,
          '@odata.type': odataType('ThermalSubsystem'),
          Id: 'ThermalSubsystem',
          Name: 'Thermal subsystem',
          ThermalMetrics: link(`${C}/${req.params.ch}/ThermalSubsystem/ThermalMetrics`),
          Status: status('OK'),
        };
      },
    },
    {
      pattern: `${C}/{ch}/ThermalSubsystem/ThermalMetrics`,
      entity: 'ThermalMetrics',
      shared: true,
      get: (req) => {
        const ch = req.params.ch as string;
        const temps = sensorsOf(targetsOf(req)).filter((m) => m.kind === 'temperature');
        return {
          '@odata.id': `${C}/${ch}/ThermalSubsystem/ThermalMetrics`,
          '@odata.type': odataType('ThermalMetrics'),
          Id: 'ThermalMetrics',
          Name: 'Temperatures',
          TemperatureReadingsCelsius: temps.map((m) => ({
            DataSourceUri: sensorUri(ch, m),
            DeviceName: m.name,
            Reading: m.latest?.value ?? null,
          })),
        };
      },
    },
    {
      pattern: `${C}/{ch}/EnvironmentMetrics`,
      entity: 'EnvironmentMetrics',
      shared: true,
      get: (req) => environmentBody(req),
      // The host's PowerLimitWatts is writable (the same cap as Controls/PowerLimit).
      patch: async (req) => {
        await patchEnvironmentPowerLimit(deps, req, await environmentBody(req));
        return environmentBody(req);
      },
    },
  ];
}
