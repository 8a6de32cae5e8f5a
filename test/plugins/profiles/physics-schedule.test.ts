import { afterEach, describe, expect, it } from 'vitest';
import { profilesFixture, type Fixture } from './profiles-fixture.js';
import { scheduledProfile } from '../../../plugins/profiles/schedule.js';

const CPU = 'sys/devices/system/cpu';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.dispose();
  fx = undefined;
});

async function usage(f: Fixture, cpu: number, state: number): Promise<number> {
  return Number(await f.kernel.read(`${CPU}/cpu${cpu}/cpuidle/state${state}/usage`));
}

describe('profiles on the simulated host', () => {
  it('a latency-critical pool never enters a state above its bound over 10 minutes; a bulk pool uses its deepest', async () => {
    fx = await profilesFixture({
      profiles: { lc: { resumeLatencyUs: 10 }, bulk: { governor: 'ondemand' } },
      pools: [
        { name: 'realtime', cpus: '2-3', profile: 'lc' },
        { name: 'bulk', cpus: '4-7', profile: 'bulk' },
      ],
    });
    await fx.engine.start();
    fx.kernel.setLoad('all', 0.2);
    const states = await fx.host.cpuidle.states(2);
    const above = states.filter((s) => s.latencyUs > 10).map((s) => s.index);
    const deepest = states[states.length - 1]?.index as number;
    expect(above).toEqual([deepest]); // C6 at 133 µs
    const before = new Map<string, number>();
    for (const cpu of [2, 3, 4, 5, 6, 7])
      for (const s of states) before.set(`${cpu}/${s.index}`, await usage(fx, cpu, s.index));
    // 10 simulated minutes, in 10-second steps
    for (let t = 0; t < 60; t++) {
      fx.clock.now += 10_000;
      for (const cpu of [2, 3]) for (const k of above) expect(await usage(fx, cpu, k)).toBe(before.get(`${cpu}/${k}`));
    }
    for (const cpu of [2, 3]) expect(await usage(fx, cpu, 2)).toBeGreaterThan(before.get(`${cpu}/2`) as number);
    for (const cpu of [4, 5, 6, 7])
      expect(await usage(fx, cpu, deepest)).toBeGreaterThan(before.get(`${cpu}/${deepest}`) as number);
  });

  it('PM QoS alone (no disable written) keeps a CPU out of deep states', async () => {
    fx = await profilesFixture({});
    await fx.kernel.write(`${CPU}/cpu1/power/pm_qos_resume_latency_us`, 'n/a');
    const c6 = await usage(fx, 1, 3);
    const c1 = await usage(fx, 1, 1);
    fx.clock.now += 600_000;
    expect(await usage(fx, 1, 3)).toBe(c6);
    expect(await usage(fx, 1, 1)).toBe(c1);
    await expect(fx.kernel.write(`${CPU}/cpu1/power/pm_qos_resume_latency_us`, '-5')).rejects.toThrow(/EINVAL/);
  });

  it('an uncore reduction on an idle package lowers package power', async () => {
    fx = await profilesFixture({
      profiles: { slow: { uncore: { maxKHz: 1_200_000 } } },
      pools: [{ name: 'all', cpus: '0-7' }],
    });
    fx.kernel.setLoad('all', 0);
    await fx.engine.start();
    const idleW = fx.kernel.power().packageW[0] as number;
    const e0 = Number(await fx.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
    fx.clock.now += 60_000;
    const fastJ = (Number(await fx.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj')) - e0) / 1e6;
    await fx.engine.apply('all', 'slow');
    const slowW = fx.kernel.power().packageW[0] as number;
    expect(slowW).toBeLessThan(idleW);
    const e1 = Number(await fx.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
    fx.clock.now += 60_000;
    const slowJ = (Number(await fx.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj')) - e1) / 1e6;
    expect(slowJ).toBeLessThan(fastJ);
    await fx.engine.reset();
    expect(fx.kernel.power().packageW[0]).toBeCloseTo(idleW, 6);
  });

  it('an AMD host has no uncore: a profile asking for it is refused', async () => {
    fx = await profilesFixture(
      { profiles: { slow: { uncore: { maxKHz: 1_200_000 } } }, pools: [{ name: 'p', cpus: '0-3', profile: 'slow' }] },
      { profile: 'amd-pstate-epp-64' },
    );
    await expect(fx.engine.start()).rejects.toThrow(/no intel_uncore_frequency domain/);
  });
});

describe('profile schedules', () => {
  it('picks the last switch at or before the local time, wrapping to yesterday', () => {
    const s = {
      pool: 'p',
      timeZone: 'Europe/Berlin',
      switches: [
        { at: '07:00', profile: 'day' },
        { at: '22:00', profile: 'night' },
      ],
    };
    // 21:30 UTC in January is 22:30 in Berlin
    expect(scheduledProfile(s, Date.UTC(2026, 0, 5, 21, 30))).toBe('night');
    expect(scheduledProfile(s, Date.UTC(2026, 0, 5, 20, 59))).toBe('day');
    expect(scheduledProfile(s, Date.UTC(2026, 0, 5, 3, 0))).toBe('night');
    // Summer time: 07:00 Berlin is 05:00 UTC
    expect(scheduledProfile(s, Date.UTC(2026, 6, 5, 5, 0))).toBe('day');
    expect(scheduledProfile(s, Date.UTC(2026, 6, 5, 4, 59))).toBe('night');
  });

  it('switches within 1 s of the boundary, in the schedule time zone, and honours the dwell time', async () => {
    // 20:59:57 UTC = 21:59:57 in Berlin (January)
    fx = await profilesFixture(
      {
        profiles: { day: { governor: 'ondemand' }, night: { governor: 'powersave' } },
        pools: [{ name: 'p', cpus: '4-7' }],
        schedules: [
          {
            pool: 'p',
            timeZone: 'Europe/Berlin',
            dwellSeconds: 300,
            switches: [
              { at: '07:00', profile: 'day' },
              { at: '22:00', profile: 'night' },
              { at: '22:02', profile: 'day' },
            ],
          },
        ],
      },
      { start: Date.UTC(2026, 0, 5, 20, 59, 57) },
    );
    await fx.engine.start();
    expect(fx.engine.assignments().get('p')).toBe('day');
    const boundary = Date.UTC(2026, 0, 5, 21, 0, 0);
    let switchedAt: number | undefined;
    // The plugin ticks once a second; a tick that is late by up to a second still lands within 1 s.
    fx.clock.now += 437;
    while (fx.clock.now < boundary + 5_000) {
      await fx.engine.tick();
      if (switchedAt === undefined && fx.engine.assignments().get('p') === 'night') switchedAt = fx.clock.now;
      fx.clock.now += 1000;
    }
    expect(switchedAt).toBeDefined();
    expect((switchedAt as number) - boundary).toBeGreaterThanOrEqual(0);
    expect((switchedAt as number) - boundary).toBeLessThan(1000);
    expect(await fx.kernel.read(`${CPU}/cpufreq/policy4/scaling_governor`)).toBe('powersave');
    // 22:02 asks for day again, but the dwell (5 min from 22:00) holds night until 22:05.
    const at2202 = boundary + 120_000;
    fx.clock.now = at2202 + 500;
    await fx.engine.tick();
    expect(fx.engine.assignments().get('p')).toBe('night');
    fx.clock.now = (switchedAt as number) + 300_000 + 10;
    await fx.engine.tick();
    expect(fx.engine.assignments().get('p')).toBe('day');
  });

  it('an operator apply holds until the next boundary', async () => {
    fx = await profilesFixture(
      {
        profiles: { day: { governor: 'ondemand' }, night: { governor: 'powersave' } },
        pools: [{ name: 'p', cpus: '4' }],
        schedules: [
          {
            pool: 'p',
            switches: [
              { at: '07:00', profile: 'day' },
              { at: '22:00', profile: 'night' },
            ],
          },
        ],
      },
      { start: Date.UTC(2026, 0, 5, 12, 0, 0) },
    );
    await fx.engine.start();
    await fx.engine.apply('p', 'night');
    fx.clock.now += 1000;
    await fx.engine.tick();
    expect(fx.engine.assignments().get('p')).toBe('night');
    fx.clock.now = Date.UTC(2026, 0, 6, 7, 0, 0);
    await fx.engine.tick();
    expect(fx.engine.assignments().get('p')).toBe('day');
  });
});
