/**
 * How IPMI sensors become telemetry metrics: ids, kinds and units (°F and K converted to °C),
 * thresholds, and the system power metric (DCMI or the best power sensor).
 */
import type { MetricDefinition, MetricKind, MetricUnit, Thresholds } from 'vpmd';
import type { SensorReading } from '../commands/sensors.js';

/** Metric id of a sensor. */
export function sensorMetricId(target: string, r: Pick<SensorReading, 'number' | 'name'>): string {
  const slug =
    r.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'sensor';
  return `ipmi/${target}/${r.number}-${slug}`;
}

/** Metric id of a target's whole-system power. */
export function systemPowerMetricId(target: string): string {
  return `ipmi/${target}/system-power`;
}

const BY_UNIT: Readonly<Record<string, readonly [MetricKind, MetricUnit]>> = {
  'degrees C': ['temperature', 'Cel'],
  'degrees F': ['temperature', 'Cel'],
  'degrees K': ['temperature', 'Cel'],
  Volts: ['voltage', 'V'],
  Amps: ['current', 'A'],
  Watts: ['power', 'W'],
  Joules: ['energy', 'J'],
  RPM: ['fan', 'RPM'],
  Hz: ['frequency', 'Hz'],
  '%': ['utilization', '%'],
};

/** Converts a value to the stored unit (°F and K to °C). */
export function toStoredUnit(unit: string, v: number): number {
  if (unit === 'degrees F') return Number((((v - 32) * 5) / 9).toPrecision(12));
  if (unit === 'degrees K') return Number((v - 273.15).toPrecision(12));
  return v;
}

function thresholds(r: SensorReading): Thresholds | undefined {
  const t = r.thresholds;
  const pick = (...vals: (number | undefined)[]): number | undefined => vals.find((v) => v !== undefined);
  const raw = {
    lowerCritical: pick(t.lc, t.lnr),
    lowerWarning: t.lnc,
    upperWarning: t.unc,
    upperCritical: pick(t.uc, t.unr),
  };
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k] = toStoredUnit(r.unit, v);
  const ordered = ['lowerCritical', 'lowerWarning', 'upperWarning', 'upperCritical']
    .map((k) => out[k])
    .filter((v): v is number => v !== undefined);
  // A sensor with a negative M lists its bounds reversed; the store wants them ordered.
  if (ordered.some((v, i) => i > 0 && v < (ordered[i - 1] ?? v))) return undefined;
  return Object.keys(out).length ? out : undefined;
}

/** The metric definition of a sensor. */
export function sensorMetric(target: string, r: SensorReading): MetricDefinition {
  const [kind, unit] = r.discrete
    ? (['other', 'count'] as const)
    : (BY_UNIT[r.unit] ?? (['other', 'unspecified'] as const));
  const th = r.discrete ? undefined : thresholds(r);
  return {
    id: sensorMetricId(target, r),
    name: `${target} ${r.name}`,
    kind,
    unit,
    source: { plugin: 'ipmi', target, sensor: r.name },
    ...(th !== undefined ? { thresholds: th } : {}),
  };
}

/** The power sensor that best stands for whole-system input power, when there is no DCMI. */
export function pickPowerSensor(readings: readonly SensorReading[]): SensorReading | undefined {
  const watts = readings.filter((r) => r.unit === 'Watts' && !r.discrete);
  return watts.find((r) => /input|consumption|total|system|pwr|power/i.test(r.name)) ?? watts[0];
}
