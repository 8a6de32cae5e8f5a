import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../bench/telemetry/growing-ring.js';

describe('RingBuffer', () => {
  it('keeps items oldest first until full', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    expect(ring.newest()).toBeUndefined();
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.newest()).toBe(2);
    expect(ring.size).toBe(2);
  });

  it('overwrites the oldest items once full, across several wrap-arounds', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 8; i++) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.toArray()).toEqual([6, 7, 8]);
    expect([...ring.newestFirst()]).toEqual([8, 7, 6]);
    expect(ring.newest()).toBe(8);
  });

  it('matches a sliced array at every step while it fills, becomes full and wraps', () => {
    const ring = new RingBuffer<number>(37);
    const all: number[] = [];
    for (let i = 0; i < 120; i++) {
      ring.push(i);
      all.push(i);
      const expected = all.slice(-37);
      expect(ring.toArray()).toEqual(expected);
      expect([...ring.newestFirst()]).toEqual([...expected].reverse());
      expect(ring.newest()).toBe(i);
      expect(ring.size).toBe(expected.length);
    }
  });

  it('works with a capacity of one', () => {
    const ring = new RingBuffer<string>(1);
    ring.push('a');
    ring.push('b');
    expect(ring.toArray()).toEqual(['b']);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects capacity %s', (capacity) => {
    expect(() => new RingBuffer(capacity)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});
