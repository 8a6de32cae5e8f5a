/** Turbo detection and control, and the P-state driver status. */
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode, policyFile, simHost, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

describe('turbo', () => {
  it('writes cpufreq/boost directly (1 = on)', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    expect(await sim.host.cpufreq.setTurbo(false)).toMatchObject({ enabled: false });
    expect(await sim.disk('sys/devices/system/cpu/cpufreq/boost')).toBe('0');
    await sim.host.cpufreq.setTurbo(true);
    expect(await sim.disk('sys/devices/system/cpu/cpufreq/boost')).toBe('1');
  });

  it('writes intel_pstate/no_turbo inverted (1 = off)', async () => {
    sim = await simHost('intel-cpufreq-passive-16');
    expect(await sim.host.cpufreq.setTurbo(false)).toMatchObject({
      mechanism: 'intel_pstate-no_turbo',
      enabled: false,
    });
    expect(await sim.disk('sys/devices/system/cpu/intel_pstate/no_turbo')).toBe('1');
    sim.kernel.setLoad([0], 1);
    await sim.host.cpufreq.setGovernor(0, 'performance');
    expect((await sim.host.cpufreq.policy(0)).scalingCurKHz).toBe(3_200_000);
  });

  it('is unsupported on the Arm profile, and setTurbo says so', async () => {
    sim = await simHost('arm-cppc-8');
    expect(await sim.host.cpufreq.turbo()).toEqual({ supported: false, mechanism: 'none' });
    const err = await expectCode(sim.host.cpufreq.setTurbo(true), 'E_HOST_UNSUPPORTED');
    expect(err.message).toContain('no_turbo');
    expect(err.message).toContain('boost');
  });
});

describe('driver status', () => {
  it('switching mode resets the policies to the new driver defaults', async () => {
    sim = await simHost('intel-cpufreq-passive-16');
    await sim.host.cpufreq.setGovernor(0, 'userspace');
    await sim.host.cpufreq.setLimits(0, { maxKHz: 2_000_000 });
    await sim.host.cpufreq.setDriverStatus('active');
    expect(await sim.host.cpufreq.policy(0)).toMatchObject({
      driver: 'intel_pstate',
      governor: 'powersave',
      scalingMaxKHz: 3_600_000,
    });
    const err = await expectCode(sim.host.cpufreq.setDriverStatus('guided'), 'E_HOST_INVALID');
    expect(err.message).toContain('active passive off');
    expect(await sim.disk(policyFile(0, 'scaling_driver'))).toBe('intel_pstate');
  });
});
