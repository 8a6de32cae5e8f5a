/** cpufreq policies: reading on every profile, and the verified writers. */
import { afterEach, describe, expect, it } from 'vitest';
import { createHostModel, type SysfsBackend } from '../../../core/host/index.js';
import type { SimProfileName } from '../../../core/sim/index.js';
import { expectCode, policyFile, simHost, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

async function open(profile: SimProfileName): Promise<SimFixture> {
  sim = await simHost(profile);
  return sim;
}

describe('reading policies', () => {
  it('reads every field of an acpi-cpufreq policy', async () => {
    const { host } = await open('intel-acpi-cpufreq-8');
    const policies = await host.cpufreq.policies();
    expect(policies).toHaveLength(8);
    expect(policies[7]).toEqual({
      id: 7,
      path: 'sys/devices/system/cpu/cpufreq/policy7',
      affectedCpus: [7],
      relatedCpus: [7],
      driver: 'acpi-cpufreq',
      governor: 'schedutil',
      availableGovernors: ['conservative', 'ondemand', 'userspace', 'powersave', 'performance', 'schedutil'],
      cpuinfoMinKHz: 1_200_000,
      cpuinfoMaxKHz: 3_801_000,
      scalingMinKHz: 1_200_000,
      scalingMaxKHz: 3_801_000,
      scalingCurKHz: 1_200_000,
      availableFrequenciesKHz: [
        3801000, 3800000, 3600000, 3400000, 3200000, 3000000, 2800000, 2600000, 2400000, 2200000, 2000000, 1800000,
        1600000, 1400000, 1200000,
      ],
      setspeed: 'unsupported',
      epp: undefined,
      availableEpp: undefined,
      baseFrequencyKHz: undefined,
      transitionLatencyNs: 10_000,
    });
  });

  it('reads HWP fields on intel_pstate and finds the policy of a CPU', async () => {
    const { host } = await open('intel-pstate-hwp-32');
    const p = await host.cpufreq.policyForCpu(20);
    expect(p).toMatchObject({
      id: 20,
      driver: 'intel_pstate',
      governor: 'powersave',
      availableGovernors: ['performance', 'powersave'],
      epp: 'balance_performance',
      baseFrequencyKHz: 2_100_000,
    });
    expect(p.availableEpp).toEqual(['default', 'performance', 'balance_performance', 'balance_power', 'power']);
    await expectCode(host.cpufreq.policyForCpu(99), 'E_HOST_NOT_FOUND');
    const err = await expectCode(host.cpufreq.policy(64), 'E_HOST_NOT_FOUND');
    expect(err.message).toContain('policy0');
  });

  it('reads all 64 amd-pstate-epp policies in one batch, one per CPU', async () => {
    const { host } = await open('amd-pstate-epp-64');
    const policies = await host.cpufreq.policies();
    expect(policies.map((p) => p.driver)).toEqual(new Array(64).fill('amd-pstate-epp'));
    expect(policies.map((p) => p.id)).toEqual([...Array(64).keys()]);
    expect(policies.flatMap((p) => p.affectedCpus)).toEqual([...Array(64).keys()]);
  });

  it('has no policies when the driver is off', async () => {
    const { host } = await open('intel-cpufreq-passive-16');
    await host.cpufreq.setDriverStatus('off');
    expect(await host.cpufreq.policies()).toEqual([]);
    const err = await expectCode(host.cpufreq.policy(0), 'E_HOST_NOT_FOUND');
    expect(err.message).toContain('no cpufreq driver');
  });
});

describe('setGovernor', () => {
  it('sets an offered governor', async () => {
    const { host, disk } = await open('intel-acpi-cpufreq-8');
    await host.cpufreq.setGovernor(2, 'powersave');
    expect(await disk(policyFile(2, 'scaling_governor'))).toBe('powersave');
  });

  it('refuses a governor not offered before writing, naming the offered ones', async () => {
    const { host, disk } = await open('intel-pstate-hwp-32');
    const err = await expectCode(host.cpufreq.setGovernor(0, 'schedutil'), 'E_HOST_INVALID');
    expect(err.message).toContain('available: performance powersave');
    expect(err.details).toMatchObject({ policy: 0, governor: 'schedutil', available: ['performance', 'powersave'] });
    expect(await disk(policyFile(0, 'scaling_governor'))).toBe('powersave');
  });
});

describe('setLimits', () => {
  it('returns the effective limits, unclamped', async () => {
    const { host } = await open('intel-acpi-cpufreq-8');
    expect(await host.cpufreq.setLimits(0, { minKHz: 1_600_000, maxKHz: 3_000_000 })).toEqual({
      minKHz: 1_600_000,
      maxKHz: 3_000_000,
      clamped: false,
    });
  });

  it('reports clamping into the hardware range', async () => {
    const { host } = await open('intel-acpi-cpufreq-8');
    expect(await host.cpufreq.setLimits(1, { minKHz: 500_000, maxKHz: 5_000_000 })).toEqual({
      minKHz: 1_200_000,
      maxKHz: 3_801_000,
      clamped: true,
    });
  });

  it('orders writes so that raising and lowering both limits works', async () => {
    const { host } = await open('intel-cpufreq-passive-16');
    await host.cpufreq.setLimits(0, { minKHz: 1_200_000, maxKHz: 1_500_000 });
    expect(await host.cpufreq.setLimits(0, { minKHz: 3_000_000, maxKHz: 3_400_000 })).toMatchObject({
      minKHz: 3_000_000,
      maxKHz: 3_400_000,
    });
    expect(await host.cpufreq.setLimits(0, { minKHz: 1_300_000, maxKHz: 1_400_000 })).toMatchObject({
      minKHz: 1_300_000,
      maxKHz: 1_400_000,
    });
  });

  it('clamps the minimum to a lowered maximum', async () => {
    const { host } = await open('intel-cpufreq-passive-16');
    await host.cpufreq.setLimits(3, { minKHz: 3_000_000 });
    expect(await host.cpufreq.setLimits(3, { maxKHz: 2_000_000 })).toEqual({
      minKHz: 2_000_000,
      maxKHz: 2_000_000,
      clamped: false,
    });
  });

  it('refuses invalid requests before writing', async () => {
    const { host, disk } = await open('intel-acpi-cpufreq-8');
    const err = await expectCode(host.cpufreq.setLimits(0, { minKHz: 3_000_000, maxKHz: 2_000_000 }), 'E_HOST_INVALID');
    expect(err.message).toContain('above maxKHz');
    await expectCode(host.cpufreq.setLimits(0, { maxKHz: -1 }), 'E_HOST_INVALID');
    await expectCode(host.cpufreq.setLimits(0, { minKHz: 1.5 }), 'E_HOST_INVALID');
    expect(await disk(policyFile(0, 'scaling_max_freq'))).toBe('3801000');
  });
});

describe('setSpeed', () => {
  it('works under userspace, resolving to the frequency table', async () => {
    const { host } = await open('intel-acpi-cpufreq-8');
    await host.cpufreq.setGovernor(0, 'userspace');
    expect(await host.cpufreq.setSpeed(0, 2_400_000)).toEqual({ kHz: 2_400_000, clamped: false });
    expect(await host.cpufreq.setSpeed(0, 2_500_000)).toEqual({ kHz: 2_600_000, clamped: true });
    expect(await host.cpufreq.setSpeed(0, 9_000_000)).toEqual({ kHz: 3_801_000, clamped: true });
    expect((await host.cpufreq.policy(0)).scalingCurKHz).toBe(3_801_000);
  });

  it('refuses outside userspace and where there is no setspeed', async () => {
    const { host } = await open('intel-acpi-cpufreq-8');
    const err = await expectCode(host.cpufreq.setSpeed(0, 2_000_000), 'E_HOST_INVALID');
    expect(err.message).toContain('userspace');
    await expectCode(host.cpufreq.setSpeed(0, 0), 'E_HOST_INVALID');
  });
});

describe('setEpp', () => {
  it('sets names and numbers and verifies the equivalent read back', async () => {
    const { host } = await open('intel-pstate-hwp-32');
    await host.cpufreq.setEpp(1, 'balance_power');
    await host.cpufreq.setEpp(1, 255);
    expect((await host.cpufreq.policy(1)).epp).toBe('power');
    await host.cpufreq.setEpp(1, 64);
    expect((await host.cpufreq.policy(1)).epp).toBe('64');
    await host.cpufreq.setEpp(1, 'default');
    expect((await host.cpufreq.policy(1)).epp).toBe('balance_performance');
  });

  it('refuses a non-performance EPP under the performance governor with a hint', async () => {
    const { host, disk } = await open('intel-pstate-hwp-32');
    await host.cpufreq.setGovernor(2, 'performance');
    const err = await expectCode(host.cpufreq.setEpp(2, 'power'), 'E_HOST_BUSY');
    expect(err.message).toContain('set the governor to powersave first');
    await host.cpufreq.setEpp(2, 'performance');
    expect(await disk(policyFile(2, 'energy_performance_preference'))).toBe('performance');
  });

  it('refuses values not offered, and EPP where there is none', async () => {
    const { host } = await open('amd-pstate-epp-64');
    const err = await expectCode(host.cpufreq.setEpp(0, 'eco'), 'E_HOST_INVALID');
    expect(err.message).toContain('balance_power');
    await expectCode(host.cpufreq.setEpp(0, 300), 'E_HOST_INVALID');
    await expectCode(host.cpufreq.setEpp(0, 64), 'E_HOST_INVALID'); // amd-pstate-epp takes names only
    await sim?.dispose();
    const acpi = await open('intel-acpi-cpufreq-8');
    await expectCode(acpi.host.cpufreq.setEpp(0, 'power'), 'E_HOST_UNSUPPORTED');
  });
});

describe('verification', () => {
  it('reports E_HOST_VERIFY when the kernel silently ignores a write', async () => {
    const { kernel } = await open('intel-acpi-cpufreq-8');
    // A backend whose writes succeed without effect, as with firmware-locked settings.
    const deaf: SysfsBackend = {
      root: kernel.root,
      read: (p) => kernel.read(p),
      list: (d) => kernel.list(d),
      exists: (p) => kernel.exists(p),
      write: async () => undefined,
    };
    const host = createHostModel(deaf);
    const err = await expectCode(host.cpufreq.setGovernor(0, 'powersave'), 'E_HOST_VERIFY');
    expect(err.details).toMatchObject({ value: 'powersave', readBack: 'schedutil' });
    await expectCode(host.cpufreq.setLimits(0, { maxKHz: 2_000_000 }), 'E_HOST_VERIFY');
    await expectCode(host.cpufreq.setTurbo(false), 'E_HOST_VERIFY');
  });
});
