/** The interval split, the floor estimator and the sparkline, on hand-made inputs. */
import { describe, expect, it } from 'vitest';
import { splitInterval, type IntervalInput, type ZoneInput } from '../../../plugins/energy/attribution.js';
import { IdleFloor } from '../../../plugins/energy/idle-floor.js';
import { sparkline } from '../../../plugins/energy/cli.js';

const zone = (over: Partial<ZoneInput> = {}): ZoneInput => ({
  key: 'package-0',
  cpus: [0, 1],
  weights: undefined,
  deltaJ: 100,
  spansGap: false,
  floorW: 20,
  ...over,
});

const input = (over: Partial<IntervalInput> = {}): IntervalInput => ({
  dtS: 1,
  busyUs: [500_000, 500_000, 1_000_000, 0],
  zones: [zone()],
  threads: [],
  ...over,
});

describe('splitInterval', () => {
  it('counts only the time on the zone’s CPUs (pin-aware) and gives the rest to the host', () => {
    const [s] = splitInterval(
      input({
        zones: [zone(), zone({ key: 'package-1', cpus: [2, 3], deltaJ: 60 })],
        threads: [
          { owner: 'a', deltaUs: 500_000, pins: [0] },
          { owner: 'b', deltaUs: 1_000_000, pins: [2] },
        ],
      }),
    );
    expect(s?.idleJ).toBe(20);
    expect(s?.vmJ.get('a')).toBeCloseTo(40, 9);
    expect(s?.vmJ.has('b')).toBe(false);
    expect(s?.hostJ).toBeCloseTo(40, 9);
  });

  it('weights CPU time by the CPUs’ weights', () => {
    const [s] = splitInterval(
      input({
        busyUs: [500_000, 500_000],
        zones: [zone({ weights: [3, 1] })],
        threads: [
          { owner: 'a', deltaUs: 500_000, pins: [0] },
          { owner: 'b', deltaUs: 500_000, pins: [1] },
        ],
      }),
    );
    expect(s?.vmJ.get('a')).toBeCloseTo(60, 9);
    expect(s?.vmJ.get('b')).toBeCloseTo(20, 9);
  });

  it('spreads a thread over its pins by their busy time', () => {
    const [s] = splitInterval(
      input({
        busyUs: [750_000, 250_000],
        zones: [zone({ weights: [2, 1] })],
        threads: [{ owner: 'a', deltaUs: 1_000_000, pins: [0, 1] }],
      }),
    );
    expect(s?.vmJ.get('a')).toBeCloseTo(80, 9);
    expect(s?.hostJ).toBeCloseTo(0, 9);
  });

  it('leaves an interval whose activity is unknown, or where nothing ran, unattributed', () => {
    const [gap] = splitInterval(input({ zones: [zone({ spansGap: true })] }));
    expect(gap).toMatchObject({ totalJ: 100, idleJ: 0, hostJ: 0, unattributedJ: 100 });
    const [quiet] = splitInterval(input({ busyUs: [0, 0] }));
    expect(quiet).toMatchObject({ idleJ: 20, hostJ: 0, unattributedJ: 80 });
    const [below] = splitInterval(input({ zones: [zone({ deltaJ: 10 })] }));
    expect(below).toMatchObject({ idleJ: 10, hostJ: 0, unattributedJ: 0 });
  });

  it('splits Kepler’s way beside it: node usage × energy, by process CPU time', () => {
    const [s] = splitInterval(
      input({ busyUs: [500_000, 500_000], threads: [{ owner: 'a', deltaUs: 500_000, pins: [0] }] }),
    );
    // usage 0.5 → active 50 J; a has half the node's busy time.
    expect(s?.naiveVmJ.get('a')).toBeCloseTo(25, 9);
  });
});

describe('IdleFloor', () => {
  it('estimates until a quiet interval, then measures; a configured floor never moves', () => {
    const f = new IdleFloor('package-0', undefined, undefined);
    f.observe(100, 0.5, 2);
    expect(f.current).toMatchObject({ method: 'estimated', watts: 50 });
    f.observe(30, 0.01, 0);
    f.observe(32, 0.0, 0);
    expect(f.current).toMatchObject({ method: 'measured', watts: 31, samples: 2 });
    expect(f.describe()).toMatch(/^measured: mean of 2/);
    const fixed = new IdleFloor('package-0', 42, { watts: 10, method: 'measured', samples: 5 });
    fixed.observe(5, 0, 0);
    expect(fixed.current).toMatchObject({ method: 'configured', watts: 42 });
  });
});

describe('IdleFloor without a quiet interval', () => {
  it('extrapolates power to zero busy time once busy time varies enough', () => {
    const f = new IdleFloor('package-0', undefined, undefined);
    for (let i = 0; i < 40; i++) {
      const x = 1 + (i % 5);
      f.observe(10 + 5 * x, 0.5, x);
    }
    expect(f.current?.method).toBe('estimated');
    expect(f.current?.watts).toBeCloseTo(10, 6);
    expect(f.describe()).toMatch(/^estimated: intercept of power vs weighted busy time/);
  });
});

describe('sparkline', () => {
  it('draws an hour in columns, blank where nothing was sampled', () => {
    const now = 3_600_000;
    const line = sparkline(
      [
        { timestamp: now - 3_500_000, watts: 0.5, joules: 1 },
        { timestamp: now - 10_000, watts: 8, joules: 2 },
      ],
      now,
      10,
    );
    expect(line).toHaveLength(10);
    expect(line[0]).toBe('▁');
    expect(line[9]).toBe('█');
    expect(line.slice(1, 9).trim()).toBe('');
  });
});
