/**
 * How Redfish resources become telemetry readings: `Sensor` (ReadingType, ReadingUnits,
 * thresholds, Status), `EnvironmentMetrics`, `ThermalMetrics`, `PowerSupplyMetrics`, and the
 * deprecated `Power`/`Thermal`. Units are converted to the store's (kWh and Wh to J); a reading
 * another resource already gave (same DataSourceUri) is not recorded twice.
 */
import type { MetricKind, MetricUnit, ReadingStatus, Thresholds } from 'vpmd';
import type { RfObject } from './session.js';

/** One reading of one chassis. */
export interface RfReading {
  /** Unique within the chassis: a Sensor's Id, or the resource and property it came from. */
  readonly key: string;
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly value: number | null;
  readonly status: ReadingStatus;
  /** Where on the BMC: the resource URI, with `#/Property` for a property of a larger resource. */
  readonly sensor: string;
  readonly thresholds?: Thresholds;
  /** True for the chassis' total input power (EnvironmentMetrics.PowerWatts, PowerControl). */
  readonly chassisPower?: boolean;
}

/** Reads a nested property, or undefined. */
export function prop(o: unknown, ...path: string[]): unknown {
  let v: unknown = o;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A string property, or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The `@odata.id` of a link, or undefined. */
export function linkOf(o: unknown, ...path: string[]): string | undefined {
  return str(prop(o, ...path, '@odata.id'));
}

/** Member links of a collection (or members themselves, when expanded). */
export function members(c: RfObject): RfObject[] {
  const m = c.Members;
  return Array.isArray(m) ? m.filter((x): x is RfObject => typeof x === 'object' && x !== null) : [];
}

type Conversion = readonly [MetricKind, MetricUnit, number];

const BY_TYPE: Readonly<Record<string, Conversion>> = {
  Temperature: ['temperature', 'Cel', 1],
  Power: ['power', 'W', 1],
  EnergykWh: ['energy', 'J', 3.6e6],
  EnergyWh: ['energy', 'J', 3600],
  EnergyJoules: ['energy', 'J', 1],
  Voltage: ['voltage', 'V', 1],
  Current: ['current', 'A', 1],
  Frequency: ['frequency', 'Hz', 1],
};

const BY_UNITS: Readonly<Record<string, Conversion>> = {
  Cel: ['temperature', 'Cel', 1],
  W: ['power', 'W', 1],
  'kW.h': ['energy', 'J', 3.6e6],
  'W.h': ['energy', 'J', 3600],
  J: ['energy', 'J', 1],
  V: ['voltage', 'V', 1],
  A: ['current', 'A', 1],
  Hz: ['frequency', 'Hz', 1],
  RPM: ['fan', 'RPM', 1],
  '{rev}/min': ['fan', 'RPM', 1],
  '%': ['other', '%', 1],
};

function conversion(readingType: string | undefined, units: string | undefined): Conversion {
  if (readingType === 'Rotational') return units === '%' ? ['other', '%', 1] : ['fan', 'RPM', 1];
  return (
    (readingType !== undefined ? BY_TYPE[readingType] : undefined) ??
    (units !== undefined ? BY_UNITS[units] : undefined) ?? ['other', 'unspecified', 1]
  );
}

/** Reading status from a Redfish `Status` (absent or Enabled with Health OK: ok). */
export function statusOf(status: unknown, value: number | null): ReadingStatus {
  const state = str(prop(status, 'State'));
  if (value === null || (state !== undefined && state !== 'Enabled' && state !== 'Quiesced')) return 'unavailable';
  const health = str(prop(status, 'Health'));
  return health === 'Critical' ? 'critical' : health === 'Warning' ? 'warning' : 'ok';
}

function thresholdsOf(t: unknown, factor: number): Thresholds | undefined {
  const at = (...names: string[]): number | undefined => {
    for (const n of names) {
      const v = num(prop(t, n, 'Reading'));
      if (v !== null) return v * factor;
    }
    return undefined;
  };
  const out: Record<string, number> = {};
  const pairs: Array<[string, number | undefined]> = [
    ['lowerCritical', at('LowerCritical', 'LowerFatal')],
    ['lowerWarning', at('LowerCaution')],
    ['upperWarning', at('UpperCaution')],
    ['upperCritical', at('UpperCritical', 'UpperFatal')],
  ];
  for (const [k, v] of pairs) if (v !== undefined) out[k] = v;
  const ordered = pairs.map(([, v]) => v).filter((v): v is number => v !== undefined);
  if (ordered.some((v, i) => i > 0 && v < (ordered[i - 1] ?? v))) return undefined;
  return Object.keys(out).length ? out : undefined;
}

/** Safe key part. */
export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'x'
  );
}

/** A `Sensor` resource as a reading. */
export function sensorReading(s: RfObject): RfReading {
  const [kind, unit, factor] = conversion(str(s.ReadingType), str(s.ReadingUnits));
  const raw = num(s.Reading);
  const value = raw === null ? null : raw * factor;
  const uri = str(s['@odata.id']) ?? '';
  const id = str(s.Id) ?? uri.split('/').pop() ?? 'sensor';
  const th = kind === 'other' ? undefined : thresholdsOf(s.Thresholds, factor);
  return {
    key: slug(uri.split('/').pop() ?? id),
    name: str(s.Name) ?? id,
    kind,
    unit,
    value,
    status: statusOf(s.Status, value),
    sensor: uri,
    ...(th ? { thresholds: th } : {}),
  };
}

/** A `SensorExcerpt`-like property ({Reading, DataSourceUri}) as a reading. */
function excerpt(
  base: string,
  property: string,
  name: string,
  conv: Conversion,
  v: unknown,
  extra: Partial<RfReading> = {},
): RfReading | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const raw = num(prop(v, 'Reading'));
  const value = raw === null ? null : raw * conv[2];
  return {
    key: slug(`${base.split('/').pop() ?? ''}-${property}`),
    name,
    kind: conv[0],
    unit: conv[1],
    value,
    status: value === null ? 'unavailable' : 'ok',
    sensor: str(prop(v, 'DataSourceUri')) ?? `${base}#/${property}`,
    ...extra,
  };
}

/** Readings of an `EnvironmentMetrics` resource. */
export function environmentReadings(env: RfObject): RfReading[] {
  const base = str(env['@odata.id']) ?? 'EnvironmentMetrics';
  const out = [
    excerpt(base, 'PowerWatts', 'Chassis power', ['power', 'W', 1], env.PowerWatts, { chassisPower: true }),
    excerpt(base, 'EnergykWh', 'Chassis energy', ['energy', 'J', 3.6e6], env.EnergykWh),
    excerpt(base, 'EnergyJoules', 'Chassis energy', ['energy', 'J', 1], env.EnergyJoules),
    excerpt(base, 'TemperatureCelsius', 'Chassis temperature', ['temperature', 'Cel', 1], env.TemperatureCelsius),
  ];
  const fans = Array.isArray(env.FanSpeedsPercent) ? (env.FanSpeedsPercent as unknown[]) : [];
  fans.forEach((f, i) =>
    out.push(excerpt(base, `FanSpeedsPercent/${i}`, str(prop(f, 'DeviceName')) ?? `Fan ${i}`, ['other', '%', 1], f)),
  );
  return out.filter((r): r is RfReading => r !== undefined);
}

/** Readings of a `ThermalMetrics` resource (TemperatureReadingsCelsius). */
export function thermalMetricsReadings(tm: RfObject): RfReading[] {
  const base = str(tm['@odata.id']) ?? 'ThermalMetrics';
  const list = Array.isArray(tm.TemperatureReadingsCelsius) ? (tm.TemperatureReadingsCelsius as unknown[]) : [];
  return list
    .map((t, i) =>
      excerpt(
        base,
        `TemperatureReadingsCelsius/${i}`,
        str(prop(t, 'DeviceName')) ?? `Temperature ${i}`,
        ['temperature', 'Cel', 1],
        t,
      ),
    )
    .filter((r): r is RfReading => r !== undefined);
}

/** Readings of a `PowerSupplyMetrics` resource. */
export function powerSupplyReadings(psName: string, m: RfObject): RfReading[] {
  const base = str(m['@odata.id']) ?? psName;
  const props: Array<[string, string, Conversion]> = [
    ['InputPowerWatts', 'input power', ['power', 'W', 1]],
    ['OutputPowerWatts', 'output power', ['power', 'W', 1]],
    ['InputVoltage', 'input voltage', ['voltage', 'V', 1]],
    ['InputCurrentAmps', 'input current', ['current', 'A', 1]],
    ['EnergykWh', 'energy', ['energy', 'J', 3.6e6]],
  ];
  return props
    .map(([p, what, conv]) => excerpt(base, p, `${psName} ${what}`, conv, m[p]))
    .filter((r): r is RfReading => r !== undefined);
}

function legacy(
  base: string,
  list: unknown,
  property: string,
  valueOf: (x: unknown) => { value: number | null; conv: Conversion; name: string; chassisPower?: boolean },
): RfReading[] {
  if (!Array.isArray(list)) return [];
  return list.map((x, i) => {
    const { value: raw, conv, name, chassisPower } = valueOf(x);
    const value = raw === null ? null : raw * conv[2];
    const th: Record<string, number> = {};
    const t = (k: string): number | null => num(prop(x, k));
    const upperCritical = t('UpperThresholdCritical');
    const upperWarning = t('UpperThresholdNonCritical');
    if (upperWarning !== null) th.upperWarning = upperWarning;
    if (upperCritical !== null && (upperWarning === null || upperCritical >= upperWarning))
      th.upperCritical = upperCritical;
    const uri = str(prop(x, '@odata.id')) ?? `${base}#/${property}/${i}`;
    return {
      key: slug(`${base.split('/').pop() ?? ''}-${property}-${str(prop(x, 'MemberId')) ?? i}`),
      name,
      kind: conv[0],
      unit: conv[1],
      value,
      status: statusOf(prop(x, 'Status'), value),
      sensor: uri,
      ...(Object.keys(th).length && conv[0] !== 'other' ? { thresholds: th } : {}),
      ...(chassisPower ? { chassisPower } : {}),
    };
  });
}

/** Readings of the deprecated `Power` resource (PowerControl, Voltages, PowerSupplies). */
export function legacyPowerReadings(p: RfObject): RfReading[] {
  const base = str(p['@odata.id']) ?? 'Power';
  const nameOf = (x: unknown, fallback: string): string => str(prop(x, 'Name')) ?? fallback;
  return [
    ...legacy(base, p.PowerControl, 'PowerControl', (x) => ({
      value: num(prop(x, 'PowerConsumedWatts')),
      conv: ['power', 'W', 1],
      name: nameOf(x, 'Power control'),
      chassisPower: true,
    })),
    ...legacy(base, p.Voltages, 'Voltages', (x) => ({
      value: num(prop(x, 'ReadingVolts')),
      conv: ['voltage', 'V', 1],
      name: nameOf(x, 'Voltage'),
    })),
    ...legacy(base, p.PowerSupplies, 'PowerSupplies', (x) => ({
      value: num(prop(x, 'PowerInputWatts')),
      conv: ['power', 'W', 1],
      name: `${nameOf(x, 'Power supply')} input power`,
    })),
  ];
}

/** Readings of the deprecated `Thermal` resource (Temperatures, Fans). */
export function legacyThermalReadings(t: RfObject): RfReading[] {
  const base = str(t['@odata.id']) ?? 'Thermal';
  return [
    ...legacy(base, t.Temperatures, 'Temperatures', (x) => ({
      value: num(prop(x, 'ReadingCelsius')),
      conv: ['temperature', 'Cel', 1],
      name: str(prop(x, 'Name')) ?? 'Temperature',
    })),
    ...legacy(base, t.Fans, 'Fans', (x) => ({
      value: num(prop(x, 'Reading')),
      conv: str(prop(x, 'ReadingUnits')) === 'Percent' ? ['other', '%', 1] : ['fan', 'RPM', 1],
      name: str(prop(x, 'Name')) ?? str(prop(x, 'FanName')) ?? 'Fan',
    })),
  ];
}
