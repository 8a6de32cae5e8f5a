/** The simulated host's dynamics: frequency, energy counters, temperature inertia, idle statistics, sleep. */
import { afterEach, describe, expect, it } from 'vitest';
import { SIM_MAX_ENERGY_RANGE_UJ, createTemporarySimulatedHost } from '../../../core/sim/index.js';
import { expectCode, policyFile, SIM_PARENT, simHost, T0, type SimFixture } from './sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

const ENERGY = 'sys/class/powercap/intel-rapl:0/energy_uj';
const PKG_TEMP = 'sys/class/thermal/thermal_zone1/temp';

async function num(s: SimFixture, path: string): Promise<number> {
  return Number(await s.kernel.read(path));
}

describe('scaling_cur_freq follows the governor', () => {
  it('tracks load under schedutil, resolving to the acpi-cpufreq table, and the turbo entry needs boost', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    const cur = policyFile(0, 'scaling_cur_freq');
    expect(await num(sim, cur)).toBe(1_200_000);
    sim.kernel.setLoad([0], 1);
    expect(await num(sim, cur)).toBe(3_801_000);
    await sim.kernel.write('sys/devices/system/cpu/cpufreq/boost', '0');
    expect(await num(sim, cur)).toBe(3_800_000);
    sim.kernel.setLoad([0], 0.5);
    expect(await num(sim, cur)).toBe(2_600_000); // 2.5 GHz resolved to the next table entry
    expect(await num(sim, policyFile(1, 'scaling_cur_freq'))).toBe(1_200_000);
  });

  it('runs performance at max and powersave at min on acpi-cpufreq whatever the load', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    sim.kernel.setLoad('all', 0.3);
    await sim.kernel.write(policyFile(2, 'scaling_governor'), 'performance');
    await sim.kernel.write(policyFile(3, 'scaling_governor'), 'powersave');
    expect(await num(sim, policyFile(2, 'scaling_cur_freq'))).toBe(3_801_000);
    expect(await num(sim, policyFile(3, 'scaling_cur_freq'))).toBe(1_200_000);
    await sim.kernel.write(policyFile(2, 'scaling_max_freq'), '2000000');
    expect(await num(sim, policyFile(2, 'scaling_cur_freq'))).toBe(2_000_000);
  });

  it('is load-driven under intel_pstate powersave, slower with a power-saving EPP', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    sim.kernel.setLoad([0, 1], 0.5);
    await sim.kernel.write(policyFile(1, 'energy_performance_preference'), 'power');
    const balanced = await num(sim, policyFile(0, 'scaling_cur_freq'));
    const saving = await num(sim, policyFile(1, 'scaling_cur_freq'));
    expect(balanced).toBe(1_900_000);
    expect(saving).toBeLessThan(balanced);
    expect(saving).toBeGreaterThan(800_000);
    await sim.kernel.write('sys/devices/system/cpu/intel_pstate/no_turbo', '1');
    sim.kernel.setLoad([0], 1);
    expect(await num(sim, policyFile(0, 'scaling_cur_freq'))).toBe(2_100_000);
  });
});

describe('RAPL energy', () => {
  it('advances by power × time and more under load', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    const e0 = await num(sim, ENERGY);
    const idleW = sim.kernel.power().packageW[0] ?? 0;
    expect(idleW).toBeGreaterThan(5);
    expect(idleW).toBeLessThan(8);
    sim.kernel.advance(10_000);
    const e1 = await num(sim, ENERGY);
    expect((e1 - e0) / 1e6).toBeCloseTo(idleW * 10, 3);
    sim.kernel.setLoad('all', 1);
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'performance');
    const busyW = sim.kernel.power().packageW[0] ?? 0;
    expect(busyW).toBeGreaterThan(50);
    sim.kernel.advance(10_000);
    expect((await num(sim, ENERGY)) - e1).toBeGreaterThan((e1 - e0) * 5);
  });

  it('wraps at max_energy_range_uj', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    sim.kernel.setLoad('all', 1);
    const watts = sim.kernel.power().packageW[0] ?? 0;
    const e0 = await num(sim, ENERGY);
    expect(await sim.kernel.read('sys/class/powercap/intel-rapl:0/max_energy_range_uj')).toBe(
      String(SIM_MAX_ENERGY_RANGE_UJ),
    );
    // Long enough to pass the wrap point once (about an hour at this power).
    const seconds = Math.ceil((SIM_MAX_ENERGY_RANGE_UJ - e0) / 1e6 / watts) + 60;
    sim.kernel.advance(seconds * 1000);
    const e1 = await num(sim, ENERGY);
    expect(e1).toBeLessThan(e0);
    expect(Math.abs(e1 - ((e0 + watts * seconds * 1e6) % SIM_MAX_ENERGY_RANGE_UJ))).toBeLessThan(2);
  });
});

describe('temperature', () => {
  it('lags toward ambient + R·P with the thermal time constant', async () => {
    const host = (sim = await simHost('intel-acpi-cpufreq-8'));
    const idleT = (await num(sim, PKG_TEMP)) / 1000;
    sim.kernel.setLoad('all', 1);
    await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((id) => host.kernel.write(policyFile(id, 'scaling_governor'), 'performance')),
    );
    const steady = 30 + 0.6 * (sim.kernel.power().packageW[0] ?? 0);
    sim.kernel.advance(1000);
    const after1s = (await num(sim, PKG_TEMP)) / 1000;
    expect(after1s - idleT).toBeLessThan(0.1 * (steady - idleT));
    sim.kernel.advance(19_000);
    const afterTau = (await num(sim, PKG_TEMP)) / 1000;
    expect(afterTau).toBeCloseTo(steady - (steady - idleT) * Math.exp(-1), -0.5);
    sim.kernel.advance(300_000);
    expect((await num(sim, PKG_TEMP)) / 1000).toBeCloseTo(steady, -0.5);
    sim.kernel.setLoad('all', 0);
    sim.kernel.advance(5000);
    const cooling = (await num(sim, PKG_TEMP)) / 1000;
    expect(cooling).toBeLessThan(steady);
    expect(cooling).toBeGreaterThan(idleT + 0.5 * (steady - idleT));
  });

  it('gives the same result for one long step as for many short ones', async () => {
    const [a, b] = await Promise.all([simHost('arm-cppc-8'), simHost('arm-cppc-8')]);
    try {
      for (const s of [a, b]) s.kernel.setLoad('all', 0.8);
      a.kernel.advance(30_000);
      for (let i = 0; i < 30; i++) b.kernel.advance(1000);
      const zone = 'sys/class/thermal/thermal_zone0/temp';
      expect(Math.abs((await num(a, zone)) - (await num(b, zone)))).toBeLessThanOrEqual(1);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});

describe('idle statistics', () => {
  it('accumulate residency in enabled states while idle, and move when deep states are disabled', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    const base = 'sys/devices/system/cpu/cpu1/cpuidle';
    const time = async (k: number): Promise<number> => num(sim as SimFixture, `${base}/state${k}/time`);
    const [c1e0, c60] = [await time(2), await time(3)];
    const usage0 = await num(sim, `${base}/state3/usage`);
    sim.kernel.advance(10_000);
    expect((await time(3)) - c60).toBe(8_000_000);
    expect((await time(2)) - c1e0).toBe(0);
    expect(await num(sim, `${base}/state3/usage`)).toBeGreaterThan(usage0);
    const idleW = sim.kernel.power().packageW[0] ?? 0;
    await sim.kernel.write(`${base}/state3/disable`, '1');
    expect(sim.kernel.power().packageW[0]).toBeGreaterThan(idleW);
    const [c1e1, c61] = [await time(2), await time(3)];
    sim.kernel.advance(10_000);
    expect((await time(3)) - c61).toBe(0);
    expect((await time(2)) - c1e1).toBe(8_000_000);
    sim.kernel.setLoad([1], 1);
    const c1e2 = await time(2);
    sim.kernel.advance(10_000);
    expect(await time(2)).toBe(c1e2);
  });
});

describe('sync, clock and sleep', () => {
  it('writes dynamic values to the files on sync', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    sim.kernel.setLoad('all', 1);
    sim.kernel.advance(60_000);
    const live = await sim.kernel.read('sys/class/hwmon/hwmon0/temp1_input');
    expect(await sim.disk('sys/class/hwmon/hwmon0/temp1_input')).not.toBe(live);
    await sim.kernel.sync();
    expect(await sim.disk('sys/class/hwmon/hwmon0/temp1_input')).toBe(live);
    expect(await sim.disk('sys/class/rtc/rtc0/since_epoch')).toBe(String(T0 / 1000 + 60));
    expect(await sim.disk(policyFile(0, 'scaling_cur_freq'))).toBe('3000000');
  });

  it('integrates along an injected clock', async () => {
    let now = T0;
    const tmp = await createTemporarySimulatedHost({
      profile: 'arm-cppc-8',
      now: () => now,
      ...(SIM_PARENT === undefined ? {} : { parent: SIM_PARENT }),
    });
    try {
      const t0 = Number(await tmp.kernel.read('sys/class/rtc/rtc0/since_epoch'));
      now += 5000;
      expect(Number(await tmp.kernel.read('sys/class/rtc/rtc0/since_epoch'))).toBe(t0 + 5);
      tmp.kernel.advance(2000);
      expect(Number(await tmp.kernel.read('sys/class/rtc/rtc0/since_epoch'))).toBe(t0 + 7);
    } finally {
      await tmp.dispose();
    }
  });

  it('suspends until the RTC alarm, consuming it and cooling down', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    sim.kernel.setLoad('all', 1);
    sim.kernel.advance(120_000);
    const hot = await num(sim, PKG_TEMP);
    await sim.kernel.write('sys/class/rtc/rtc0/wakealarm', '+600');
    await sim.kernel.write('sys/power/state', 'mem');
    expect(sim.kernel.sleepLog()).toEqual([
      { state: 'mem', mode: 'deep', atMs: T0 + 120_000, wokeAtMs: T0 + 720_000, wakeSource: 'rtc' },
    ]);
    expect(await sim.kernel.read('sys/class/rtc/rtc0/wakealarm')).toBe('');
    expect(await sim.disk('sys/class/rtc/rtc0/wakealarm')).toBe('');
    expect(Number(await sim.kernel.read('sys/class/rtc/rtc0/since_epoch'))).toBe(T0 / 1000 + 720);
    expect(await num(sim, PKG_TEMP)).toBeLessThan(hot);
    await sim.kernel.write('sys/power/state', 'freeze');
    expect(sim.kernel.sleepLog()[1]).toMatchObject({
      state: 'freeze',
      wakeSource: 'none',
      atMs: T0 + 720_000,
      wokeAtMs: T0 + 720_000,
    });
  });

  it('validates loads', async () => {
    sim = await simHost('arm-cppc-8');
    await expectCode(
      Promise.resolve().then(() => sim?.kernel.setLoad([0], 1.5)),
      'E_HOST_INVALID',
    );
    await expectCode(
      Promise.resolve().then(() => sim?.kernel.setLoad([8], 0.5)),
      'E_HOST_INVALID',
    );
    expect(sim.kernel.loads()).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
