/**
 * Telemetry contracts: the shape of every reading that the host model, IPMI, SNMP pollers and
 * others record, and that Redfish and SNMP serve. Units are fixed per kind so consumers never
 * guess: watts, joules, degrees Celsius, RPM, volts, amperes, hertz, percent.
 */

/** Every {@link MetricKind}, for schemas and argument checks. */
export const METRIC_KINDS = [
  'power',
  'energy',
  'temperature',
  'fan',
  'voltage',
  'current',
  'frequency',
  'utilization',
  'other',
] as const;

/** What a metric measures. */
export type MetricKind = (typeof METRIC_KINDS)[number];

/** Every {@link MetricUnit}, for schemas and argument checks. */
export const METRIC_UNITS = ['W', 'J', 'Cel', 'RPM', 'V', 'A', 'Hz', '%', 'count', 'unspecified'] as const;

/** Units in which values are stored (SI-ish, as Redfish and ENTITY-SENSOR-MIB expect). */
export type MetricUnit = (typeof METRIC_UNITS)[number];

/** Health of one reading, derived from thresholds or reported by the source. */
export type ReadingStatus = 'ok' | 'warning' | 'critical' | 'unavailable';

/** Threshold bounds in the metric's unit; any may be absent. */
export interface Thresholds {
  readonly lowerCritical?: number;
  readonly lowerWarning?: number;
  readonly upperWarning?: number;
  readonly upperCritical?: number;
}

/** Where a metric comes from. */
export interface MetricSource {
  /** The plugin (or `core`) that records it. */
  readonly plugin: string;
  /** The device or target (`host`, a BMC name, a PDU name). */
  readonly target: string;
  /** The sensor, file or OID within the target. */
  readonly sensor: string;
}

/** A metric's fixed description, declared once before readings are recorded. */
export interface MetricDefinition {
  /** Stable id, unique in the store, e.g. `host/rapl/package-0/power`. */
  readonly id: string;
  /** Human name, e.g. `CPU package 0 power`. */
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly source: MetricSource;
  readonly thresholds?: Thresholds;
}

/** One reading of a metric. A null value means the reading is unavailable. */
export interface Reading {
  readonly value: number | null;
  readonly status: ReadingStatus;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/** A metric with its latest reading, as listed by the store. */
export interface MetricSnapshot extends MetricDefinition {
  readonly latest: Reading | undefined;
}
