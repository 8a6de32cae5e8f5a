import { describe, expect, it } from 'vitest';
import type { MetricDefinition, Thresholds } from '../../../core/contracts/telemetry.js';
import { deriveStatus, validateMetricDefinition } from '../../../core/telemetry/index.js';

const FULL: Thresholds = { lowerCritical: 5, lowerWarning: 10, upperWarning: 80, upperCritical: 90 };

describe('deriveStatus', () => {
  it.each([
    [null, 'unavailable'],
    [4.99, 'critical'],
    [5, 'warning'], // exactly on the lower critical bound is not beyond it
    [9.99, 'warning'],
    [10, 'ok'],
    [50, 'ok'],
    [80, 'ok'],
    [80.01, 'warning'],
    [90, 'warning'],
    [90.01, 'critical'],
  ] as const)('value %s under full thresholds is %s', (value, status) => {
    expect(deriveStatus(value, FULL)).toBe(status);
  });

  it('is ok without thresholds and ignores absent bounds', () => {
    expect(deriveStatus(1e9, undefined)).toBe('ok');
    expect(deriveStatus(-1e9, { upperCritical: 90 })).toBe('ok');
    expect(deriveStatus(95, { upperCritical: 90 })).toBe('critical');
    expect(deriveStatus(85, { upperWarning: 80 })).toBe('warning');
    expect(deriveStatus(1, { lowerWarning: 2 })).toBe('warning');
    expect(deriveStatus(null, undefined)).toBe('unavailable');
  });
});

const base: MetricDefinition = {
  id: 'host/rapl/package-0/power',
  name: 'CPU package 0 power',
  kind: 'power',
  unit: 'W',
  source: { plugin: 'core', target: 'host', sensor: 'intel-rapl:0' },
};

describe('validateMetricDefinition', () => {
  it('accepts a well-formed definition, and any unit for kind "other"', () => {
    expect(() => validateMetricDefinition({ ...base, thresholds: FULL }, 'core')).not.toThrow();
    expect(() => validateMetricDefinition({ ...base, kind: 'other', unit: 'count' }, 'core')).not.toThrow();
  });

  it.each<[string, Partial<MetricDefinition>, RegExp]>([
    ['an id with spaces', { id: 'host power' }, /id must match/],
    ['an id starting with a slash', { id: '/host/power' }, /id must match/],
    ['an empty name', { name: ' ' }, /name must be/],
    ['a unit not matching the kind', { unit: 'V' }, /power metric is stored in W, not V/],
    ['an empty source sensor', { source: { plugin: 'core', target: 'host', sensor: '' } }, /source.sensor/],
    ['a non-finite threshold', { thresholds: { upperCritical: Number.POSITIVE_INFINITY } }, /finite number/],
    [
      'thresholds out of order',
      { thresholds: { upperWarning: 90, upperCritical: 80 } },
      /upperCritical \(80\) is below upperWarning \(90\)/,
    ],
    ['a lower bound above an upper one', { thresholds: { lowerWarning: 50, upperWarning: 40 } }, /below lowerWarning/],
  ])('rejects %s with E_TELEMETRY_INVALID naming the metric', (_what, change, problem) => {
    const def: MetricDefinition = { ...base, ...change };
    expect(() => validateMetricDefinition(def, 'core')).toThrow(
      expect.objectContaining({ code: 'E_TELEMETRY_INVALID', message: expect.stringMatching(problem) }),
    );
    expect(() => validateMetricDefinition(def, 'core')).toThrow(def.id);
  });

  it('rejects an empty owner', () => {
    expect(() => validateMetricDefinition(base, '')).toThrow(/owner/);
  });
});
