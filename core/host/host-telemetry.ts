/**
 * Host telemetry: turns the host model's raw counters and sensors into metric definitions and
 * readings in the telemetry units (W, J, °C, RPM, V, Hz). RAPL power comes from energy deltas
 * between samples (wraps included), so the first sample has no power value.
 */
import type { MetricDefinition, MetricKind, MetricUnit, Thresholds } from '../contracts/telemetry.js';
import { EnergyCounter } from './energy-counter.js';
import type { HostModel } from './host-model.js';
import { POWERCAP_DIR, type RaplDomain } from './rapl.js';
import { readOptionalInt } from './sysfs-read.js';
import type { HwmonChannel, HwmonChip, ThermalZone } from './thermal.js';

/** One sampled value; null when the sensor could not be read this time. */
export interface HostSampleValue {
  readonly id: string;
  readonly value: number | null;
}

/** Telemetry over a host model. */
export interface HostTelemetry {
  /** Metrics this host offers (discovered once, then stable). */
  definitions(): Promise<MetricDefinition[]>;
  /** Reads every metric. RAPL power is null until two samples exist. */
  sample(): Promise<HostSampleValue[]>;
}

/** Options of {@link createHostTelemetry}. */
export interface HostTelemetryOptions {
  /** Clock in ms for power computation (default `Date.now`); the simulator passes its own. */
  readonly now?: () => number;
}

interface Snapshot {
  readonly at: number;
  readonly zones: ReadonlyMap<string, ThermalZone>;
  readonly chips: ReadonlyMap<string, HwmonChip>;
}

interface Probe {
  readonly definition: MetricDefinition;
  read(snapshot: Snapshot): Promise<number | null> | number | null;
}

const HWMON_KINDS = [
  { field: 'temps', prefix: 'temp', kind: 'temperature', unit: 'Cel', noun: 'temperature' },
  { field: 'fans', prefix: 'fan', kind: 'fan', unit: 'RPM', noun: 'fan speed' },
  { field: 'powers', prefix: 'power', kind: 'power', unit: 'W', noun: 'power' },
  { field: 'voltages', prefix: 'in', kind: 'voltage', unit: 'V', noun: 'voltage' },
] as const satisfies ReadonlyArray<{
  field: keyof HwmonChip;
  prefix: string;
  kind: MetricKind;
  unit: MetricUnit;
  noun: string;
}>;

function define(
  id: string,
  name: string,
  kind: MetricKind,
  unit: MetricUnit,
  sensor: string,
  thresholds?: Thresholds,
): MetricDefinition {
  const def = { id, name, kind, unit, source: { plugin: 'core', target: 'host', sensor } };
  return thresholds === undefined || Object.keys(thresholds).length === 0 ? def : { ...def, thresholds };
}

/** A kernel name as a metric id segment: `INT3400 Thermal` → `INT3400_Thermal`. */
function idSegment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._:/-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return s === '' ? 'unnamed' : s;
}

/** Keys names that repeat (two sockets, two `coretemp` chips) with an ordinal: `coretemp-0`. */
function uniqueKeys<T>(items: readonly T[], rawNameOf: (item: T) => string): string[] {
  const nameOf = (item: T): string => idSegment(rawNameOf(item));
  const counts = new Map<string, number>();
  for (const item of items) counts.set(nameOf(item), (counts.get(nameOf(item)) ?? 0) + 1);
  const seen = new Map<string, number>();
  return items.map((item) => {
    const name = nameOf(item);
    if (counts.get(name) === 1) return name;
    const ordinal = seen.get(name) ?? 0;
    seen.set(name, ordinal + 1);
    return `${name}-${ordinal}`;
  });
}

function raplProbes(host: HostModel, domains: readonly RaplDomain[]): Probe[] {
  const keys = uniqueKeys(domains, (d) => d.key);
  return domains.flatMap((domain, i) => {
    const key = keys[i] ?? domain.id;
    const counter = new EnergyCounter(domain.maxEnergyRangeUj);
    const sensor = `${POWERCAP_DIR}/${domain.id}/energy_uj`;
    let last: { at: number; powerW: number | null; totalJ: number | null } | undefined;
    // Power and energy share one counter update per snapshot.
    const update = async (at: number): Promise<{ powerW: number | null; totalJ: number | null }> => {
      if (last?.at === at) return last;
      let raw: number | undefined;
      try {
        raw = await host.rapl.energyUj(domain.id);
      } catch {
        // An unreadable counter (root-only since 5.10, or gone) is a gap in this series, not
        // a failure of the whole sample.
        raw = undefined;
      }
      let s: ReturnType<EnergyCounter['update']> | undefined;
      try {
        s = raw === undefined ? undefined : counter.update(raw, at);
      } catch {
        // A reading outside 0..max_energy_range_uj (a garbled file) is a gap too.
        s = undefined;
      }
      last = { at, powerW: s?.powerW ?? null, totalJ: s?.totalJ ?? null };
      return last;
    };
    return [
      {
        definition: define(`host/rapl/${key}/power`, `RAPL ${domain.key} power`, 'power', 'W', sensor),
        read: async (snap: Snapshot) => (await update(snap.at)).powerW,
      },
      {
        definition: define(`host/rapl/${key}/energy`, `RAPL ${domain.key} energy`, 'energy', 'J', sensor),
        read: async (snap: Snapshot) => (await update(snap.at)).totalJ,
      },
    ];
  });
}

function zoneProbes(zones: readonly ThermalZone[]): Probe[] {
  const keys = uniqueKeys(zones, (z) => z.type);
  return zones.map((zone, i) => ({
    definition: define(
      `host/thermal/${keys[i] ?? zone.id}`,
      `Thermal zone ${zone.type} (${zone.id})`,
      'temperature',
      'Cel',
      `sys/class/thermal/${zone.id}/temp`,
    ),
    read: (snap: Snapshot) => snap.zones.get(zone.id)?.tempC ?? null,
  }));
}

function hwmonProbes(chips: readonly HwmonChip[]): Probe[] {
  const keys = uniqueKeys(chips, (c) => c.name);
  return chips.flatMap((chip, i) =>
    HWMON_KINDS.flatMap((k) =>
      chip[k.field].map((channel: HwmonChannel): Probe => {
        const channelName = `${k.prefix}${channel.index}`;
        const thresholds: { upperWarning?: number; upperCritical?: number } = {};
        if (channel.max !== undefined) thresholds.upperWarning = channel.max;
        if (channel.crit !== undefined) thresholds.upperCritical = channel.crit;
        return {
          definition: define(
            `host/hwmon/${keys[i] ?? chip.id}/${channelName}`,
            `${chip.name} ${channel.label ?? channelName} ${k.noun}`,
            k.kind,
            k.unit,
            `${chip.path ?? `sys/class/hwmon/${chip.id}`}/${channelName}_input`,
            thresholds,
          ),
          read: (snap: Snapshot) =>
            snap.chips.get(chip.id)?.[k.field].find((c) => c.index === channel.index)?.value ?? null,
        };
      }),
    ),
  );
}

function frequencyProbes(host: HostModel, policies: ReadonlyArray<{ id: number; path: string }>): Probe[] {
  return policies.map(({ id, path }) => {
    const file = `${path}/scaling_cur_freq`;
    return {
      definition: define(
        `host/cpufreq/policy${id}/frequency`,
        `cpufreq policy${id} current frequency`,
        'frequency',
        'Hz',
        file,
      ),
      read: async () => {
        // A policy that vanished (driver switched off) reads as a gap.
        const kHz = await readOptionalInt(host.backend, file).catch(() => undefined);
        return kHz === undefined ? null : kHz * 1000;
      },
    };
  });
}

/** Creates host telemetry: definitions discovered on first use, readings on each sample. */
export function createHostTelemetry(host: HostModel, options: HostTelemetryOptions = {}): HostTelemetry {
  const now = options.now ?? Date.now;
  let probes: Promise<Probe[]> | undefined;
  const discover = (): Promise<Probe[]> => {
    probes ??= (async () => {
      // Each area on its own: a host whose RAPL cannot be listed still has temperatures.
      const [domains, zones, chips, survey] = await Promise.all([
        host.rapl.domains().catch(() => []),
        host.thermal.zones().catch(() => []),
        host.thermal.hwmon().catch(() => []),
        host.cpufreq.survey().catch(() => ({ policies: [] })),
      ]);
      return [
        ...raplProbes(host, domains),
        ...zoneProbes(zones),
        ...hwmonProbes(chips),
        ...frequencyProbes(host, survey.policies),
      ];
    })();
    // A failed discovery is retried on the next call instead of being cached forever.
    probes.catch(() => (probes = undefined));
    return probes;
  };
  return {
    definitions: async () => (await discover()).map((p) => p.definition),
    sample: async () => {
      const list = await discover();
      const [zones, chips] = await Promise.all([
        host.thermal.zones().catch(() => []),
        host.thermal.hwmon().catch(() => []),
      ]);
      const snapshot: Snapshot = {
        at: now(),
        zones: new Map(zones.map((z) => [z.id, z])),
        chips: new Map(chips.map((c) => [c.id, c])),
      };
      const values = await Promise.all(list.map(async (p) => p.read(snapshot)));
      return list.map((p, i) => ({ id: p.definition.id, value: values[i] ?? null }));
    },
  };
}
