/** Accepted writes: clamping, setspeed, EPP, P-state status resets, persistence across reopen. */
import { afterEach, describe, expect, it } from 'vitest';
import { openSimulatedHost } from '../../../core/sim/index.js';
import { policyFile, simHost, T0, type SimFixture } from './sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

async function read(s: SimFixture, id: number, name: string): Promise<string> {
  return s.kernel.read(policyFile(id, name));
}

describe('frequency limits', () => {
  it('accepts any number and clamps into the cpuinfo range, writing the effective value to disk', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    await sim.kernel.write(policyFile(0, 'scaling_max_freq'), '9000000');
    expect(await read(sim, 0, 'scaling_max_freq')).toBe('3801000');
    await sim.kernel.write(policyFile(0, 'scaling_min_freq'), '100');
    expect(await read(sim, 0, 'scaling_min_freq')).toBe('1200000');
    await sim.kernel.write(policyFile(0, 'scaling_max_freq'), '2000000\n');
    expect(await sim.disk(policyFile(0, 'scaling_max_freq'))).toBe('2000000');
  });

  it('keeps min <= max and re-applies the min request when max rises again (frequency QoS)', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    await sim.kernel.write(policyFile(1, 'scaling_min_freq'), '3000000');
    await sim.kernel.write(policyFile(1, 'scaling_max_freq'), '2000000');
    expect([await read(sim, 1, 'scaling_min_freq'), await read(sim, 1, 'scaling_max_freq')]).toEqual([
      '2000000',
      '2000000',
    ]);
    await sim.kernel.write(policyFile(1, 'scaling_max_freq'), '3800000');
    expect([await read(sim, 1, 'scaling_min_freq'), await read(sim, 1, 'scaling_max_freq')]).toEqual([
      '3000000',
      '3800000',
    ]);
  });
});

describe('userspace governor and setspeed', () => {
  it('starts at the current frequency, clamps to the limits and resolves to the frequency table', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'performance');
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'userspace');
    expect(await read(sim, 0, 'scaling_setspeed')).toBe('3801000');
    await sim.kernel.write(policyFile(0, 'scaling_setspeed'), '2100000');
    expect(await read(sim, 0, 'scaling_setspeed')).toBe('2200000');
    expect(await read(sim, 0, 'scaling_cur_freq')).toBe('2200000');
    await sim.kernel.write(policyFile(0, 'scaling_setspeed'), '100');
    expect(await read(sim, 0, 'scaling_setspeed')).toBe('1200000');
    await sim.kernel.write(policyFile(0, 'scaling_max_freq'), '1800000');
    await sim.kernel.write(policyFile(0, 'scaling_setspeed'), '3000000');
    expect(await read(sim, 0, 'scaling_setspeed')).toBe('1800000');
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'ondemand');
    expect(await read(sim, 0, 'scaling_setspeed')).toBe('<unsupported>');
  });

  it('clamps without a table on intel_cpufreq', async () => {
    sim = await simHost('intel-cpufreq-passive-16');
    await sim.kernel.write(policyFile(2, 'scaling_governor'), 'userspace');
    await sim.kernel.write(policyFile(2, 'scaling_setspeed'), '2345000');
    expect(await read(sim, 2, 'scaling_setspeed')).toBe('2345000');
    await sim.kernel.write(policyFile(2, 'scaling_setspeed'), '9999999');
    expect(await read(sim, 2, 'scaling_setspeed')).toBe('3600000');
  });
});

describe('energy-performance preference', () => {
  it('maps numbers to names, resolves default, pins performance and restores the previous value', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    await sim.kernel.write(policyFile(0, 'energy_performance_preference'), '192');
    expect(await read(sim, 0, 'energy_performance_preference')).toBe('balance_power');
    await sim.kernel.write(policyFile(0, 'energy_performance_preference'), '77');
    expect(await read(sim, 0, 'energy_performance_preference')).toBe('77');
    await sim.kernel.write(policyFile(0, 'energy_performance_preference'), 'default');
    expect(await read(sim, 0, 'energy_performance_preference')).toBe('balance_performance');
    await sim.kernel.write(policyFile(0, 'energy_performance_preference'), 'power');
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'performance');
    expect(await read(sim, 0, 'energy_performance_preference')).toBe('performance');
    await sim.kernel.write(policyFile(0, 'energy_performance_preference'), 'performance');
    await sim.kernel.write(policyFile(0, 'scaling_governor'), 'powersave');
    expect(await read(sim, 0, 'energy_performance_preference')).toBe('power');
  });
});

describe('P-state driver status', () => {
  it('re-registers intel_pstate in passive mode and resets every policy setting', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    await sim.kernel.write(policyFile(3, 'scaling_max_freq'), '1500000');
    await sim.kernel.write(policyFile(3, 'energy_performance_preference'), 'power');
    await sim.kernel.write('sys/devices/system/cpu/intel_pstate/status', 'passive');
    expect(await read(sim, 3, 'scaling_driver')).toBe('intel_cpufreq');
    expect(await read(sim, 3, 'scaling_available_governors')).toContain('userspace');
    expect(await read(sim, 3, 'scaling_max_freq')).toBe('3000000');
    expect(await read(sim, 3, 'energy_performance_preference')).toBe('balance_performance');
    expect(await sim.disk(policyFile(3, 'scaling_driver'))).toBe('intel_cpufreq');
    expect(await sim.kernel.read('sys/devices/system/cpu/cpu3/cpufreq/scaling_driver')).toBe('intel_cpufreq');
    await sim.kernel.write('sys/devices/system/cpu/intel_pstate/status', 'off');
    expect(await sim.kernel.list('sys/devices/system/cpu/cpufreq')).toEqual([]);
    expect(await sim.kernel.exists('sys/devices/system/cpu/cpu3/cpufreq')).toBe(false);
    await sim.kernel.write('sys/devices/system/cpu/intel_pstate/status', 'active');
    expect(await read(sim, 3, 'scaling_governor')).toBe('powersave');
  });

  it('switches amd_pstate to passive with the generic governors', async () => {
    sim = await simHost('amd-pstate-epp-64');
    await sim.kernel.write('sys/devices/system/cpu/amd_pstate/status', 'passive');
    expect(await read(sim, 63, 'scaling_driver')).toBe('amd-pstate');
    expect(await sim.kernel.exists(policyFile(63, 'energy_performance_preference'))).toBe(false);
  });
});

describe('persistence', () => {
  it('keeps written settings and simulator state across a reopen (an agent restart)', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    await sim.kernel.write(policyFile(5, 'scaling_governor'), 'powersave');
    await sim.kernel.write(policyFile(5, 'scaling_min_freq'), '3000000');
    await sim.kernel.write(policyFile(5, 'scaling_max_freq'), '2000000');
    await sim.kernel.write('sys/devices/system/cpu/cpufreq/boost', '0');
    sim.kernel.setLoad([0, 1], 0.5);
    sim.kernel.advance(60_000);
    const energy = await sim.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj');
    await sim.kernel.sync();
    expect(await sim.disk('sys/class/powercap/intel-rapl:0/energy_uj')).toBe(energy);
    const again = await openSimulatedHost(sim.dir, { now: () => T0 + 60_000 });
    expect(await again.read(policyFile(5, 'scaling_governor'))).toBe('powersave');
    expect(await again.read('sys/devices/system/cpu/cpufreq/boost')).toBe('0');
    expect(again.loads().slice(0, 3)).toEqual([0.5, 0.5, 0]);
    expect(await again.read('sys/class/powercap/intel-rapl:0/energy_uj')).toBe(energy);
    // The min request (3 GHz) survives behind the clamped value and returns when max rises.
    await again.write(policyFile(5, 'scaling_max_freq'), '3800000');
    expect(await again.read(policyFile(5, 'scaling_min_freq'))).toBe('3000000');
    await again.flush();
  });
});
