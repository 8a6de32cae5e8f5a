/** isoTime: the same text as `Date.prototype.toISOString`, formatted once per second. */
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../plugins/redfish/resources/types.js';

describe('isoTime', () => {
  it('gives what toISOString gives, for timestamps within and across seconds', () => {
    const base = Date.UTC(2026, 11, 7, 12, 52, 39, 0);
    const samples = [
      0,
      1,
      999,
      1000,
      1001,
      base,
      base + 5,
      base + 57,
      base + 999,
      base + 1000,
      base - 1,
      base + 86_400_000,
    ];
    for (const ms of [...samples, ...samples.map((s) => s + 0.75)])
      expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('falls back to Date outside the four-digit years, and refuses what is not a time as Date does', () => {
    for (const ms of [-1, -86_400_001.5, 253402300800000, 8.64e15])
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
