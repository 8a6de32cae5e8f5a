import { afterEach, describe, expect, it } from 'vitest';
import { profilesFixture, type Fixture } from './profiles-fixture.js';
import type { ProfilesConfig } from '../../../plugins/profiles/config.js';

const CPU = 'sys/devices/system/cpu';

const BASE: Partial<ProfilesConfig> = {
  profiles: {
    'latency-critical': { minKHz: 2_000_000, turbo: true, resumeLatencyUs: 10 },
    bulk: { governor: 'ondemand', maxKHz: 2_800_000, turbo: false, uncore: { maxKHz: 1_600_000 } },
  },
  pools: [
    { name: 'realtime', cpus: '2-3', profile: 'latency-critical' },
    { name: 'bulk', cpus: '4-7', profile: 'bulk' },
  ],
};

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.dispose();
  fx = undefined;
});

async function snapshot(f: Fixture, paths: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) out[p] = await f.kernel.read(p);
  return out;
}

const WATCHED = [
  ...[2, 3, 4, 7].flatMap((c) => [
    `${CPU}/cpufreq/policy${c}/scaling_governor`,
    `${CPU}/cpufreq/policy${c}/scaling_min_freq`,
    `${CPU}/cpufreq/policy${c}/scaling_max_freq`,
    `${CPU}/cpu${c}/power/pm_qos_resume_latency_us`,
    `${CPU}/cpu${c}/cpuidle/state3/disable`,
  ]),
  `${CPU}/intel_uncore_frequency/package_00_die_00/max_freq_khz`,
  `${CPU}/cpufreq/boost`,
];

describe('profiles reconciliation', () => {
  it('writes the profile, and a second apply writes 0 files', async () => {
    fx = await profilesFixture(BASE);
    const first = await fx.engine.start();
    expect(first.failures).toEqual([]);
    expect(first.written).toBeGreaterThan(0);
    expect(await fx.kernel.read(`${CPU}/cpufreq/policy4/scaling_governor`)).toBe('ondemand');
    expect(await fx.kernel.read(`${CPU}/cpu2/power/pm_qos_resume_latency_us`)).toBe('10');
    expect(await fx.kernel.read(`${CPU}/cpu2/cpuidle/state3/disable`)).toBe('1'); // C6, 133 µs
    expect(await fx.kernel.read(`${CPU}/cpu2/cpuidle/state2/disable`)).toBe('0'); // C1E, 10 µs
    expect(await fx.kernel.read(`${CPU}/cpufreq/policy2/scaling_min_freq`)).toBe('2000000');
    // turbo false caps the bulk pool at the nominal frequency: min(2.8 GHz, 3.8 GHz)
    expect(await fx.kernel.read(`${CPU}/cpufreq/policy5/scaling_max_freq`)).toBe('2800000');
    expect(await fx.kernel.read(`${CPU}/intel_uncore_frequency/package_00_die_00/max_freq_khz`)).toBe('1600000');

    fx.backend.writes = [];
    const second = await fx.engine.reapply('again');
    expect(second.written).toBe(0);
    expect(fx.backend.writes).toEqual([]);
  });

  it('refuses a profile that does not fit the host, names the range, changes nothing', async () => {
    fx = await profilesFixture({
      profiles: { big: { maxKHz: 9_000_000, governor: 'ondemand', uncore: { maxKHz: 5_000_000 } } },
      pools: [{ name: 'p', cpus: '4-5', profile: 'big' }],
    });
    const before = await snapshot(fx, WATCHED);
    await expect(fx.engine.start()).rejects.toThrow(/maxKHz 9000000 is outside the host's range 1200000-3801000 kHz/);
    await expect(fx.engine.start()).rejects.toThrow(/uncore.maxKHz 5000000 is outside .*800000-2400000 kHz/);
    expect(fx.backend.writes).toEqual([]);
    expect(await snapshot(fx, WATCHED)).toEqual(before);
  });

  it('refuses a governor the policy does not offer, listing the allowed ones', async () => {
    fx = await profilesFixture({
      profiles: { x: { governor: 'turbo' } },
      pools: [{ name: 'p', cpus: '1', profile: 'x' }],
    });
    await expect(fx.engine.start()).rejects.toThrow(/governor 'turbo' is not offered by policy1 \(allowed: .*ondemand/);
    expect(fx.backend.writes).toEqual([]);
  });

  it('refuses overlapping pools', async () => {
    fx = await profilesFixture({
      profiles: { a: { governor: 'ondemand' } },
      pools: [
        { name: 'one', cpus: '2-4', profile: 'a' },
        { name: 'two', cpus: '4-7', profile: 'a' },
      ],
    });
    await expect(fx.engine.start()).rejects.toMatchObject({ code: 'E_PROFILES_OVERLAP' });
    expect(fx.backend.writes).toEqual([]);
  });

  it('reports drift when something else changes a knob', async () => {
    fx = await profilesFixture(BASE);
    await fx.engine.start();
    expect(await fx.engine.checkDrift()).toEqual([]);
    await fx.kernel.write(`${CPU}/cpufreq/policy5/scaling_governor`, 'performance');
    await fx.kernel.write(`${CPU}/cpu3/power/pm_qos_resume_latency_us`, '0');
    const drift = await fx.engine.checkDrift();
    expect(drift.map((d) => [d.what, d.desired, d.actual])).toEqual([
      ['governor of policy5', 'ondemand', 'performance'],
      ['resume latency of cpu3', '10', '0'],
    ]);
    expect(fx.drift).toHaveLength(2);
    expect(fx.engine.reconciler.drift()).toHaveLength(2);
    // Reported once, not on every check.
    expect(await fx.engine.checkDrift()).toEqual([]);
    // An apply puts it right again.
    expect((await fx.engine.reapply('fix')).written).toBe(2);
    expect(fx.engine.reconciler.drift()).toEqual([]);
  });

  it('reset puts back every value found, after saving them before the first write', async () => {
    fx = await profilesFixture(BASE);
    const before = await snapshot(fx, WATCHED);
    await fx.engine.start();
    expect(await snapshot(fx, WATCHED)).not.toEqual(before);
    const saved = await fx.state.scope('profiles').read('found', {
      version: 1,
      schema: (await import('@sinclair/typebox')).Type.Record(
        (await import('@sinclair/typebox')).Type.String(),
        (await import('@sinclair/typebox')).Type.String(),
      ),
    });
    expect(saved?.[`${CPU}/cpu2/power/pm_qos_resume_latency_us`]).toBe('0');
    // A restarted agent (same state) restores what the first one found.
    const again = fx.restart();
    await again.reconciler.load();
    const r = await again.reset();
    expect(r.failures).toEqual([]);
    expect(
      await snapshot(fx, WATCHED).then((s) => Object.entries(s).filter(([p]) => !p.includes('scaling_m'))),
    ).toEqual(Object.entries(before).filter(([p]) => !p.includes('scaling_m')));
    // Frequency limits are the core's claims: dropping them restores the policies.
    await fx.engine.reset();
    expect(await snapshot(fx, WATCHED)).toEqual(before);
  });

  it('switching a pool to a profile that sets less restores the knobs the old one set', async () => {
    fx = await profilesFixture(BASE);
    await fx.engine.start();
    await fx.engine.apply('realtime', 'bulk');
    expect(await fx.kernel.read(`${CPU}/cpu2/power/pm_qos_resume_latency_us`)).toBe('0');
    expect(await fx.kernel.read(`${CPU}/cpu2/cpuidle/state3/disable`)).toBe('0');
    expect(await fx.kernel.read(`${CPU}/cpufreq/policy2/scaling_governor`)).toBe('ondemand');
  });
});
