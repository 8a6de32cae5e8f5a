/**
 * Every error path of the simulated kernel: each write is refused with the coded error a real
 * kernel's errno maps to, and neither the file on disk nor the value read back changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../core/errors.js';
import { expectCode, policyFile, simHost, T0, type SimFixture } from './sim-fixture.js';

/** Writes `value` to `path`, expects `code` and errno, and checks the file is unchanged. */
async function refused(sim: SimFixture, path: string, value: string, code: ErrorCode, errno: string): Promise<string> {
  const before = await sim.disk(path);
  const readBefore = await sim.kernel.read(path);
  const err = await expectCode(sim.kernel.write(path, value), code);
  expect(err.details).toMatchObject({ file: `${sim.dir}/${path}`, errno, value });
  expect(err.message).toContain(`${sim.dir}/${path}`);
  expect(err.message).toContain(JSON.stringify(value));
  expect(await sim.disk(path)).toBe(before);
  expect(await sim.kernel.read(path)).toBe(readBefore);
  return err.message;
}

describe('simulated kernel errors: acpi-cpufreq host', () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
  });
  afterAll(() => sim.dispose());

  it('rejects a governor that is not offered with EINVAL naming the offered ones', async () => {
    const msg = await refused(sim, policyFile(0, 'scaling_governor'), 'turbo', 'E_HOST_INVALID', 'EINVAL');
    expect(msg).toContain('conservative ondemand userspace powersave performance schedutil');
  });

  it('rejects non-numeric frequency limits with EINVAL', async () => {
    await refused(sim, policyFile(1, 'scaling_min_freq'), 'fast', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, policyFile(1, 'scaling_max_freq'), '2.4GHz', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, policyFile(1, 'scaling_max_freq'), '-5', 'E_HOST_INVALID', 'EINVAL');
  });

  it('reads <unsupported> setspeed outside userspace and rejects writes with EINVAL', async () => {
    expect(await sim.kernel.read(policyFile(2, 'scaling_setspeed'))).toBe('<unsupported>');
    const msg = await refused(sim, policyFile(2, 'scaling_setspeed'), '2000000', 'E_HOST_INVALID', 'EINVAL');
    expect(msg).toContain('userspace');
  });

  it('rejects a non-numeric setspeed under userspace with EINVAL', async () => {
    await sim.kernel.write(policyFile(3, 'scaling_governor'), 'userspace');
    await refused(sim, policyFile(3, 'scaling_setspeed'), 'max', 'E_HOST_INVALID', 'EINVAL');
  });

  it('refuses writes to read-only attributes with EACCES', async () => {
    for (const file of [
      policyFile(0, 'scaling_cur_freq'),
      policyFile(0, 'cpuinfo_max_freq'),
      policyFile(0, 'scaling_available_frequencies'),
      policyFile(0, 'scaling_driver'),
      'sys/class/powercap/intel-rapl:0/energy_uj',
      'sys/class/powercap/intel-rapl:0/max_energy_range_uj',
      'sys/class/powercap/intel-rapl:0/name',
      'sys/class/thermal/thermal_zone1/temp',
      'sys/class/hwmon/hwmon0/temp1_input',
      'sys/devices/system/cpu/cpu0/cpuidle/state2/latency',
      'sys/devices/system/cpu/cpu0/topology/core_id',
      'sys/devices/system/cpu/online',
      'proc/cmdline',
      'sys/class/rtc/rtc0/since_epoch',
    ]) {
      await refused(sim, file, '1', 'E_HOST_ACCESS', 'EACCES');
    }
  });

  it('gives ENOENT for missing files, on reads and writes', async () => {
    await expectCode(sim.kernel.read('sys/devices/system/cpu/cpufreq/policy99/scaling_governor'), 'E_HOST_NOT_FOUND');
    const err = await expectCode(
      sim.kernel.write(policyFile(0, 'energy_performance_preference'), 'power'),
      'E_HOST_NOT_FOUND',
    );
    expect(err.details).toMatchObject({ errno: 'ENOENT', value: 'power' });
    await expectCode(sim.kernel.list('sys/class/nothing'), 'E_HOST_NOT_FOUND');
    await expectCode(sim.kernel.read('.vpmd-sim.json'), 'E_HOST_NOT_FOUND');
  });

  it('treats directories and files as what they are (EISDIR / ENOTDIR → E_HOST_IO)', async () => {
    const err = await expectCode(sim.kernel.read('sys/devices/system/cpu'), 'E_HOST_IO');
    expect(err.details.errno).toBe('EISDIR');
    await expectCode(sim.kernel.write('sys/devices/system/cpu/cpufreq/policy0', '1'), 'E_HOST_IO');
    expect((await expectCode(sim.kernel.list('sys/devices/system/cpu/online'), 'E_HOST_IO')).details.errno).toBe(
      'ENOTDIR',
    );
  });

  it('rejects paths that leave the root', async () => {
    await expectCode(sim.kernel.read('sys/../../etc/passwd'), 'E_HOST_INVALID');
    await expectCode(sim.kernel.write('../x', '1'), 'E_HOST_INVALID');
  });

  it('rejects bad boost and idle-state values with EINVAL', async () => {
    await refused(sim, 'sys/devices/system/cpu/cpufreq/boost', '2', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, 'sys/devices/system/cpu/cpu1/cpuidle/state3/disable', 'yes', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, 'sys/devices/system/cpu/cpuidle/current_governor', 'fastest', 'E_HOST_INVALID', 'EINVAL');
    await refused(
      sim,
      'sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw',
      '65W',
      'E_HOST_INVALID',
      'EINVAL',
    );
  });

  it('rejects sleep states and modes that are not offered with EINVAL', async () => {
    await refused(sim, 'sys/power/state', 'standby', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, 'sys/power/mem_sleep', 'shallow', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, 'sys/power/disk', 'hybrid', 'E_HOST_INVALID', 'EINVAL');
    expect(sim.kernel.sleepLog()).toEqual([]);
  });

  it('gives EBUSY for a new wake alarm while one is pending, EINVAL for garbage and for += without an alarm', async () => {
    const alarm = 'sys/class/rtc/rtc0/wakealarm';
    await refused(sim, alarm, 'tomorrow', 'E_HOST_INVALID', 'EINVAL');
    await refused(sim, alarm, '+=60', 'E_HOST_INVALID', 'EINVAL');
    await sim.kernel.write(alarm, String(T0 / 1000 + 600));
    const msg = await refused(sim, alarm, String(T0 / 1000 + 900), 'E_HOST_BUSY', 'EBUSY');
    expect(msg).toContain('write 0 first');
    await refused(sim, alarm, '+120', 'E_HOST_BUSY', 'EBUSY');
    await sim.kernel.write(alarm, '0');
    expect(await sim.kernel.read(alarm)).toBe('');
  });

  it('does not simulate CPU hotplug', async () => {
    await refused(sim, 'sys/devices/system/cpu/cpu3/online', '0', 'E_HOST_ACCESS', 'EACCES');
  });
});

describe('simulated kernel errors: HWP and P-state drivers', () => {
  let hwp: SimFixture;
  let amd: SimFixture;
  let passive: SimFixture;
  beforeAll(async () => {
    [hwp, amd, passive] = await Promise.all([
      simHost('intel-pstate-hwp-32'),
      simHost('amd-pstate-epp-64'),
      simHost('intel-cpufreq-passive-16'),
    ]);
  });
  afterAll(() => Promise.all([hwp.dispose(), amd.dispose(), passive.dispose()]));

  it('offers only performance and powersave under intel_pstate active', async () => {
    expect(await hwp.kernel.read(policyFile(0, 'scaling_available_governors'))).toBe('performance powersave');
    await refused(hwp, policyFile(0, 'scaling_governor'), 'ondemand', 'E_HOST_INVALID', 'EINVAL');
    await refused(hwp, policyFile(0, 'scaling_governor'), 'userspace', 'E_HOST_INVALID', 'EINVAL');
  });

  it('gives EBUSY for a non-performance EPP under the performance governor', async () => {
    await hwp.kernel.write(policyFile(4, 'scaling_governor'), 'performance');
    expect(await hwp.kernel.read(policyFile(4, 'energy_performance_preference'))).toBe('performance');
    const msg = await refused(hwp, policyFile(4, 'energy_performance_preference'), 'power', 'E_HOST_BUSY', 'EBUSY');
    expect(msg).toContain('set the governor');
    await refused(hwp, policyFile(4, 'energy_performance_preference'), '128', 'E_HOST_BUSY', 'EBUSY');
    await refused(amd, policyFile(0, 'energy_performance_preference'), 'x', 'E_HOST_INVALID', 'EINVAL');
  });

  it('rejects unknown EPP names, numbers above 255, and numbers on amd-pstate-epp', async () => {
    await refused(hwp, policyFile(5, 'energy_performance_preference'), 'eco', 'E_HOST_INVALID', 'EINVAL');
    await refused(hwp, policyFile(5, 'energy_performance_preference'), '256', 'E_HOST_INVALID', 'EINVAL');
    const msg = await refused(amd, policyFile(5, 'energy_performance_preference'), '64', 'E_HOST_INVALID', 'EINVAL');
    expect(msg).toContain('only names');
  });

  it('rejects unknown P-state statuses and bad no_turbo / perf_pct values', async () => {
    await refused(hwp, 'sys/devices/system/cpu/intel_pstate/status', 'guided', 'E_HOST_INVALID', 'EINVAL');
    await refused(amd, 'sys/devices/system/cpu/amd_pstate/status', 'off', 'E_HOST_INVALID', 'EINVAL');
    await refused(passive, 'sys/devices/system/cpu/intel_pstate/no_turbo', 'on', 'E_HOST_INVALID', 'EINVAL');
    await refused(passive, 'sys/devices/system/cpu/intel_pstate/max_perf_pct', '120', 'E_HOST_INVALID', 'EINVAL');
    await refused(passive, 'sys/devices/system/cpu/intel_pstate/num_pstates', '10', 'E_HOST_ACCESS', 'EACCES');
  });

  it('has no turbo switch, RAPL or S3 on the Arm profile', async () => {
    const arm = await simHost('arm-cppc-8');
    try {
      await expectCode(arm.kernel.write('sys/devices/system/cpu/cpufreq/boost', '1'), 'E_HOST_NOT_FOUND');
      await expectCode(arm.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'), 'E_HOST_NOT_FOUND');
      await refused(arm, 'sys/power/state', 'disk', 'E_HOST_INVALID', 'EINVAL');
      await refused(arm, 'sys/power/mem_sleep', 'deep', 'E_HOST_INVALID', 'EINVAL');
    } finally {
      await arm.dispose();
    }
  });
});
