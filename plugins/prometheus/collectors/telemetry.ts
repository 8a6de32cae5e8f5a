/**
 * Every reading in the telemetry store (host RAPL, hwmon, thermal zones and cpufreq; IPMI and
 * PDU sensors recorded by their plugins), mapped by kind and unit to one family per quantity in
 * base units, labelled `source` (the recording plugin), `target` (device) and `sensor`.
 * Unavailable readings are left out (a gap, not a zero).
 */
import type { MetricKind, MetricSnapshot, MetricUnit } from 'vpmd';
import type { ExpositionWriter, Family } from '../exposition/families.js';

interface Mapping {
  readonly family: Family;
  /** Converts the stored value to the family's base unit. */
  readonly scale: number;
}

const gauge = (name: string, help: string, unit?: string): Family => ({
  name,
  type: 'gauge',
  help,
  ...(unit !== undefined ? { unit } : {}),
});

const BY_UNIT: Readonly<Partial<Record<MetricUnit, Mapping>>> = {
  W: { family: gauge('vpmd_power_watts', 'Power reading (RAPL zones, hwmon, BMC and PDU sensors)', 'watts'), scale: 1 },
  J: {
    family: {
      name: 'vpmd_energy_joules',
      type: 'counter',
      unit: 'joules',
      help: 'Energy counter (RAPL zones with wraps undone; BMC and PDU energy meters)',
    },
    scale: 1,
  },
  Cel: { family: gauge('vpmd_temperature_celsius', 'Temperature reading', 'celsius'), scale: 1 },
  RPM: { family: gauge('vpmd_fan_speed_rpm', 'Fan speed in revolutions per minute', 'rpm'), scale: 1 },
  V: { family: gauge('vpmd_voltage_volts', 'Voltage reading', 'volts'), scale: 1 },
  A: { family: gauge('vpmd_current_amperes', 'Current reading', 'amperes'), scale: 1 },
  Hz: { family: gauge('vpmd_frequency_hertz', 'Frequency reading (CPU policies, sensors)', 'hertz'), scale: 1 },
  '%': { family: gauge('vpmd_utilization_ratio', 'Utilisation as a ratio from 0 to 1', 'ratio'), scale: 0.01 },
};

const OTHER: Mapping = {
  family: gauge('vpmd_sensor_value', 'Reading of a sensor without a base unit, labelled with its kind and unit'),
  scale: 1,
};

const STATUS: Family = gauge(
  'vpmd_sensor_status',
  'Health of each reading: 1 for the status it is in (ok, warning, critical, unavailable)',
);

function mappingOf(kind: MetricKind, unit: MetricUnit): Mapping {
  // An energy reading in another unit, or a counter-like kind in an odd unit, goes to the generic family.
  const m = BY_UNIT[unit];
  if (m === undefined) return OTHER;
  if (unit === 'J' && kind !== 'energy') return OTHER;
  return m;
}

/** Adds the store's latest readings to `w`. */
export function collectTelemetry(w: ExpositionWriter, metrics: readonly MetricSnapshot[]): void {
  for (const m of Object.values(BY_UNIT)) if (m) w.family(m.family);
  w.family(OTHER.family);
  w.family(STATUS);
  for (const m of metrics) {
    const labels: Array<readonly [string, string]> = [
      ['source', m.source.plugin],
      ['target', m.source.target],
      ['sensor', m.source.sensor],
    ];
    const latest = m.latest;
    if (latest !== undefined) w.add(STATUS, [...labels, ['status', latest.status]], 1);
    if (latest?.value === null || latest?.value === undefined || !Number.isFinite(latest.value)) continue;
    const map = mappingOf(m.kind, m.unit);
    const l = map === OTHER ? [...labels, ['kind', m.kind] as const, ['unit', m.unit] as const] : labels;
    w.add(map.family, l, latest.value * map.scale);
  }
}
