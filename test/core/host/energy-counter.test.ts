import { describe, expect, it } from 'vitest';
import { EnergyCounter } from '../../../core/host/energy-counter.js';
import { isVpmdError } from '../../../core/errors.js';

const MAX = 262_143_328_850;

describe('EnergyCounter', () => {
  it('starts at the first reading and has no power until a second sample', () => {
    const c = new EnergyCounter(MAX);
    expect(c.update(5_000_000, 0)).toEqual({ totalJ: 5, wrapped: false });
  });

  it('accumulates deltas and computes average power in W', () => {
    const c = new EnergyCounter(MAX);
    c.update(1_000_000, 1000);
    const s = c.update(51_000_000, 2000); // 50 J in 1 s
    expect(s).toEqual({ totalJ: 51, deltaJ: 50, powerW: 50, wrapped: false });
    expect(c.update(76_000_000, 2500).powerW).toBe(50);
    expect(c.totalJ).toBe(76);
  });

  it('handles a wrap with max - prev + cur and stays monotonic', () => {
    const c = new EnergyCounter(MAX);
    c.update(MAX - 10_000_000, 0);
    const s = c.update(30_000_000, 1000);
    expect(s.wrapped).toBe(true);
    expect(s.deltaJ).toBe(40);
    expect(s.powerW).toBe(40);
    expect(s.totalJ).toBeCloseTo((MAX + 30_000_000) / 1e6, 6);
  });

  it('reports no power for a zero interval', () => {
    const c = new EnergyCounter(MAX);
    c.update(1, 10);
    expect(c.update(2, 10).powerW).toBeUndefined();
  });

  it('rejects readings outside the counter range and a bad range', () => {
    const c = new EnergyCounter(1000);
    for (const bad of [-1, 1001, Number.NaN]) {
      try {
        c.update(bad, 0);
        expect.unreachable();
      } catch (e) {
        expect(isVpmdError(e, 'E_HOST_PARSE')).toBe(true);
      }
    }
    expect(() => new EnergyCounter(0)).toThrow(/max_energy_range_uj/);
  });
});
