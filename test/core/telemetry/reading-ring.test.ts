import { describe, expect, it } from 'vitest';
import type { Reading, ReadingStatus } from '../../../core/contracts/telemetry.js';
import { ReadingRing } from '../../../core/telemetry/index.js';

const T0 = 1_700_000_000_000;

function reading(
  value: number | null,
  timestamp: number,
  status: ReadingStatus = value === null ? 'unavailable' : 'ok',
): Reading {
  return Object.freeze({ value, status, timestamp });
}

/** A ring holding readings i = 0..n-1 with value i * 1.5, one every 10 s. */
function filled(capacity: number, n: number): ReadingRing {
  const ring = new ReadingRing(capacity);
  for (let i = 0; i < n; i++) ring.push(reading(i * 1.5, T0 + i * 10_000));
  return ring;
}

const timestamps = (rs: readonly Reading[]): number[] => rs.map((r) => r.timestamp);

describe('ReadingRing', () => {
  it('allocates nothing before the first reading, then doubles up to a capacity that is no power of two', () => {
    const ring = new ReadingRing(20);
    expect(ring.allocated).toBe(0);
    expect(ring.newest()).toBeUndefined();
    expect(ring.toArray()).toEqual([]);
    const seen: number[] = [];
    for (let i = 0; i < 45; i++) {
      ring.push(reading(i, T0 + i));
      if (seen.at(-1) !== ring.allocated) seen.push(ring.allocated);
      expect(ring.size).toBe(Math.min(i + 1, 20));
    }
    expect(seen).toEqual([8, 16, 20]);
    expect(ring.toArray().map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, k) => 25 + k));
  });

  it('keeps order across the growth steps and several wrap-arounds', () => {
    for (const n of [7, 8, 9, 16, 17, 36, 37, 100, 101]) {
      const ring = filled(36, n);
      const first = Math.max(0, n - 36);
      expect(ring.toArray(), `n=${n}`).toEqual(
        Array.from({ length: n - first }, (_, k) => ({
          value: (first + k) * 1.5,
          status: 'ok',
          timestamp: T0 + (first + k) * 10_000,
        })),
      );
    }
  });

  it('returns the pushed object as newest and as the last of a history, others as new frozen objects', () => {
    const ring = filled(4, 6);
    const last = reading(42, T0 + 99);
    ring.push(last);
    expect(ring.newest()).toBe(last);
    const all = ring.toArray();
    expect(all.at(-1)).toBe(last);
    expect(all.every((r) => Object.isFrozen(r))).toBe(true);
    expect(ring.toArray()[0]).not.toBe(all[0]);
  });

  it('stores null readings and every status', () => {
    const ring = new ReadingRing(5);
    const input = [
      reading(1, T0, 'ok'),
      reading(null, T0 + 1),
      reading(2.25, T0 + 2, 'warning'),
      reading(-3, T0 + 3, 'critical'),
      reading(null, T0 + 4),
      reading(0, T0 + 5, 'ok'),
      reading(null, T0 + 6),
    ];
    for (const r of input) ring.push(r);
    expect(ring.toArray()).toEqual(input.slice(2));
    expect(ring.recent(T0 + 4, Number.POSITIVE_INFINITY)).toEqual(input.slice(4));
  });

  it('selects by since and limit after a wrap-around, newest first then returned oldest first', () => {
    const ring = filled(10, 25); // holds i = 15..24
    const t = (i: number): number => T0 + i * 10_000;
    expect(timestamps(ring.recent(t(20), Number.POSITIVE_INFINITY))).toEqual([20, 21, 22, 23, 24].map(t));
    expect(timestamps(ring.recent(t(20) - 1, 2))).toEqual([23, 24].map(t));
    expect(timestamps(ring.recent(undefined, 3))).toEqual([22, 23, 24].map(t));
    expect(timestamps(ring.recent(t(3), Number.POSITIVE_INFINITY))).toHaveLength(10);
    expect(ring.recent(t(25), 5)).toEqual([]);
    expect(ring.recent(undefined, 0)).toEqual([]);
  });

  it('keeps unordered timestamps from a source as given, filtering each by since', () => {
    const ring = new ReadingRing(4);
    for (const ts of [T0 + 50, T0 + 10, T0 + 40, T0 + 20, T0 + 30]) ring.push(reading(1, ts));
    expect(timestamps(ring.toArray())).toEqual([T0 + 10, T0 + 40, T0 + 20, T0 + 30]);
    expect(timestamps(ring.recent(T0 + 25, Number.POSITIVE_INFINITY))).toEqual([T0 + 40, T0 + 30]);
  });

  it('keeps values exactly: Float32 while they round-trip, Float64 from the first that does not', () => {
    const ring = new ReadingRing(6);
    const exact = [3000, -0, 12.5, 2 ** 20];
    for (const [k, v] of exact.entries()) ring.push(reading(v, T0 + k));
    expect(ring.bytesPerReading).toBe(9);
    ring.push(reading(11.97, T0 + 10)); // 1197 / 100 is no Float32
    ring.push(reading(1e300, T0 + 11));
    ring.push(reading(Number.MIN_VALUE, T0 + 12)); // wraps: the first reading goes
    expect(ring.bytesPerReading).toBe(13);
    const values = ring.toArray().map((r) => r.value);
    expect(values).toEqual([-0, 12.5, 2 ** 20, 11.97, 1e300, Number.MIN_VALUE]);
    expect(Object.is(values[0], -0)).toBe(true);
  });

  it('keeps order when a column widens after a wrap-around', () => {
    const ring = new ReadingRing(5);
    for (let i = 0; i < 13; i++) ring.push(reading(i, T0 + i)); // the oldest now sits mid-buffer
    expect(ring.bytesPerReading).toBe(9);
    ring.push(reading(0.1, T0 + 13));
    ring.push(reading(14, T0 + 14.5)); // a fractional timestamp widens the other column
    expect(ring.bytesPerReading).toBe(17);
    ring.push(reading(15, T0 + 15));
    expect(ring.toArray().map((r) => [r.value, r.timestamp])).toEqual([
      [11, T0 + 11],
      [12, T0 + 12],
      [0.1, T0 + 13],
      [14, T0 + 14.5],
      [15, T0 + 15],
    ]);
  });

  it('rebases the timestamp offsets as time runs past 49.7 days (2^32 ms), and keeps them exact', () => {
    const ring = new ReadingRing(3);
    const hour = 3_600_000;
    for (let h = 0; h <= 200 * 24; h++) ring.push(reading(h, T0 + h * hour + (h % 7)));
    expect(ring.bytesPerReading).toBe(9);
    const last = 200 * 24;
    expect(timestamps(ring.toArray())).toEqual([last - 2, last - 1, last].map((h) => T0 + h * hour + (h % 7)));
  });

  it('stores timestamps as Float64 when no Uint32 offset holds them all', () => {
    const spread = new ReadingRing(4);
    for (const ts of [T0, T0 - 40 * 86_400_000, T0 + 1]) spread.push(reading(1, ts)); // 40 days back and forth
    expect(spread.bytesPerReading).toBe(13);
    expect(timestamps(spread.toArray())).toEqual([T0, T0 - 40 * 86_400_000, T0 + 1]);

    const fractional = new ReadingRing(4);
    for (const ts of [0.1, 1.1, 2.5, -7, Number.MAX_VALUE]) fractional.push(reading(null, ts));
    expect(fractional.bytesPerReading).toBe(13);
    expect(timestamps(fractional.toArray())).toEqual([1.1, 2.5, -7, Number.MAX_VALUE]);
  });

  it('works with a capacity of one', () => {
    const ring = filled(1, 3);
    expect(ring.allocated).toBe(1);
    expect(ring.toArray()).toEqual([{ value: 3, status: 'ok', timestamp: T0 + 20_000 }]);
    expect(ring.recent(T0 + 30_000, 1)).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects capacity %s', (capacity) => {
    expect(() => new ReadingRing(capacity)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});
