/**
 * The rules every metric obeys: what a valid definition looks like (id syntax, the unit fixed
 * by its kind, ordered thresholds) and how a reading's status follows from its thresholds.
 */
import { VpmdError } from '../errors.js';
import type { MetricDefinition, MetricKind, MetricUnit, ReadingStatus, Thresholds } from '../contracts/telemetry.js';

/** Metric ids: path-like, e.g. `host/rapl/package-0/power` or `bmc1/sensor/CPU_Temp`. */
export const METRIC_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** Longest accepted metric id. */
export const METRIC_ID_MAX_LENGTH = 200;

/** The unit each kind is stored in; `other` may use any unit. */
export const UNIT_OF_KIND: Readonly<Record<Exclude<MetricKind, 'other'>, MetricUnit>> = {
  power: 'W',
  energy: 'J',
  temperature: 'Cel',
  fan: 'RPM',
  voltage: 'V',
  current: 'A',
  frequency: 'Hz',
  utilization: '%',
};

const UNITS: ReadonlySet<string> = new Set<MetricUnit>([
  'W',
  'J',
  'Cel',
  'RPM',
  'V',
  'A',
  'Hz',
  '%',
  'count',
  'unspecified',
]);

/** Threshold names from the lowest bound to the highest: they must be non-decreasing. */
const THRESHOLD_ORDER = ['lowerCritical', 'lowerWarning', 'upperWarning', 'upperCritical'] as const;

function invalid(id: string, owner: string, problem: string): VpmdError {
  return new VpmdError(
    'E_TELEMETRY_INVALID',
    `invalid definition of metric ${JSON.stringify(id)} by ${owner}: ${problem}`,
    {
      metric: id,
      owner,
      problem,
    },
  );
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

/**
 * Checks a definition before the store accepts it. Definitions come from plugin code (or its
 * configuration), so a bad one is reported to that plugin as E_TELEMETRY_INVALID with the problem.
 * @throws VpmdError E_TELEMETRY_INVALID naming the metric, the owner and what is wrong.
 */
export function validateMetricDefinition(def: MetricDefinition, owner: string): void {
  const id = def.id;
  if (!isNonEmptyString(owner)) throw invalid(String(id), String(owner), 'owner must be a non-empty plugin name');
  if (typeof id !== 'string' || id.length > METRIC_ID_MAX_LENGTH || !METRIC_ID_PATTERN.test(id)) {
    throw invalid(
      String(id),
      owner,
      `id must match ${METRIC_ID_PATTERN.source}, at most ${METRIC_ID_MAX_LENGTH} characters`,
    );
  }
  if (!isNonEmptyString(def.name)) throw invalid(id, owner, 'name must be a non-empty string');
  if (!UNITS.has(def.unit)) throw invalid(id, owner, `unknown unit ${JSON.stringify(def.unit)}`);
  if (def.kind !== 'other') {
    const expected = UNIT_OF_KIND[def.kind] as MetricUnit | undefined;
    if (expected === undefined) throw invalid(id, owner, `unknown kind ${JSON.stringify(def.kind)}`);
    if (def.unit !== expected) {
      throw invalid(
        id,
        owner,
        `a ${def.kind} metric is stored in ${expected}, not ${def.unit} (use kind "other" for anything else)`,
      );
    }
  }
  const source = def.source as Partial<MetricDefinition['source']> | undefined;
  for (const field of ['plugin', 'target', 'sensor'] as const) {
    if (!isNonEmptyString(source?.[field])) throw invalid(id, owner, `source.${field} must be a non-empty string`);
  }
  validateThresholds(id, owner, def.thresholds);
}

function validateThresholds(id: string, owner: string, thresholds: Thresholds | undefined): void {
  if (thresholds === undefined) return;
  let previous: { name: string; value: number } | undefined;
  for (const name of THRESHOLD_ORDER) {
    const value = thresholds[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(id, owner, `threshold ${name} must be a finite number, got ${String(value)}`);
    }
    if (previous && value < previous.value) {
      throw invalid(
        id,
        owner,
        `threshold ${name} (${value}) is below ${previous.name} (${previous.value}); ` +
          `required order: ${THRESHOLD_ORDER.join(' <= ')}`,
      );
    }
    previous = { name, value };
  }
}

/**
 * The status of a value under `thresholds`: null is `unavailable`; strictly beyond a critical
 * bound is `critical`; strictly beyond a warning bound is `warning`; anything else, including
 * a value exactly on a bound, is `ok` (Redfish: a threshold is crossed when the reading goes
 * above an upper or below a lower bound).
 */
export function deriveStatus(value: number | null, thresholds: Thresholds | undefined): ReadingStatus {
  if (value === null) return 'unavailable';
  if (thresholds === undefined) return 'ok';
  const { lowerCritical, lowerWarning, upperWarning, upperCritical } = thresholds;
  if (
    (upperCritical !== undefined && value > upperCritical) ||
    (lowerCritical !== undefined && value < lowerCritical)
  ) {
    return 'critical';
  }
  if ((upperWarning !== undefined && value > upperWarning) || (lowerWarning !== undefined && value < lowerWarning)) {
    return 'warning';
  }
  return 'ok';
}
