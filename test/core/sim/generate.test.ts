/** Generating simulated hosts: the tree's content per profile, the marker, and safety checks. */
import { mkdtemp, readFile, rm, writeFile, readlink, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SIM_MARKER,
  SIM_PROFILES,
  buildSimulatedTree,
  generateSimulatedHost,
  openSimulatedHost,
  type SimProfileName,
} from '../../../core/sim/index.js';
import { expectCode, SIM_PARENT } from './sim-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(SIM_PARENT ?? tmpdir(), 'vpmd-gen-'));
  dirs.push(dir);
  return dir;
}

describe('profiles', () => {
  it('lists at least the five required profiles, each with a description', () => {
    expect(SIM_PROFILES.map((p) => p.name)).toEqual([
      'intel-acpi-cpufreq-8',
      'intel-cpufreq-passive-16',
      'intel-pstate-hwp-32',
      'amd-pstate-epp-64',
      'arm-cppc-8',
    ]);
    for (const p of SIM_PROFILES) expect(p.description.length).toBeGreaterThan(20);
  });

  it('rejects an unknown profile naming the known ones', async () => {
    const err = await expectCode(
      generateSimulatedHost(await tempDir(), { profile: 'cray-1' as never }),
      'E_HOST_INVALID',
    );
    expect(err.message).toContain('intel-acpi-cpufreq-8');
  });
});

describe('generated tree', () => {
  it('lays out sys, proc, dev and the marker, readable with cat', async () => {
    const dir = await tempDir();
    const marker = await generateSimulatedHost(dir, {
      profile: 'intel-acpi-cpufreq-8',
      seed: 3,
      now: 1_700_000_000_000,
    });
    expect((await readdir(dir)).sort()).toEqual(['.vpmd-sim.json', 'dev', 'proc', 'sys']);
    const cat = async (p: string): Promise<string> => (await readFile(join(dir, p), 'utf8')).trimEnd();
    expect(await cat('sys/devices/system/cpu/cpufreq/policy0/scaling_available_frequencies')).toBe(
      '3801000 3800000 3600000 3400000 3200000 3000000 2800000 2600000 2400000 2200000 2000000 1800000 1600000 1400000 1200000',
    );
    expect(await cat('sys/devices/system/cpu/cpufreq/boost')).toBe('1');
    expect(await cat('sys/power/state')).toBe('freeze mem disk');
    expect(await cat('sys/power/mem_sleep')).toBe('s2idle [deep]');
    expect(await cat('sys/power/disk')).toBe('[platform] shutdown reboot suspend test_resume');
    expect(await cat('sys/class/powercap/intel-rapl:0/max_energy_range_uj')).toBe('262143328850');
    expect(await cat('sys/class/thermal/thermal_zone1/type')).toBe('x86_pkg_temp');
    expect(await cat('sys/class/rtc/rtc0/since_epoch')).toBe('1700000000');
    expect(await cat('sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages')).toBe('0');
    expect(await readlink(join(dir, 'sys/devices/system/cpu/cpu5/cpufreq'))).toBe('../cpufreq/policy5');
    expect(await cat('sys/devices/system/cpu/cpu0/cpuidle/state3/name')).toBe('C6');
    expect(await cat('sys/devices/system/cpu/cpu0/cpuidle/state3/latency')).toBe('133');
    const onDisk = JSON.parse(await cat(SIM_MARKER)) as typeof marker;
    expect(onDisk).toMatchObject({
      format: 'vpmd-sim/1',
      profile: 'intel-acpi-cpufreq-8',
      seed: 3,
      generatedAtMs: 1_700_000_000_000,
    });
    expect(onDisk).toEqual(marker); // what it returns is what it wrote
    expect(onDisk.state.loads).toHaveLength(8);
    expect(Object.keys(onDisk.state.energyUj)).toEqual(['intel-rapl:0', 'intel-rapl:0:0']);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = buildSimulatedTree({ profile: 'intel-cpufreq-passive-16', seed: 5, now: 0 });
    const b = buildSimulatedTree({ profile: 'intel-cpufreq-passive-16', seed: 5, now: 0 });
    const c = buildSimulatedTree({ profile: 'intel-cpufreq-passive-16', seed: 6, now: 0 });
    const energy = 'sys/class/powercap/intel-rapl:0/energy_uj';
    expect([...a.tree.files]).toEqual([...b.tree.files]);
    expect(a.tree.files.get(energy)).not.toBe(c.tree.files.get(energy));
  });

  it('varies what each profile offers', () => {
    const file = (profile: SimProfileName, path: string): string | undefined =>
      buildSimulatedTree({ profile, now: 0 }).tree.files.get(path);
    expect(file('intel-cpufreq-passive-16', 'sys/devices/system/cpu/intel_pstate/status')).toBe('passive');
    expect(file('intel-cpufreq-passive-16', 'sys/devices/system/cpu/intel_pstate/no_turbo')).toBe('0');
    expect(file('intel-pstate-hwp-32', 'sys/devices/system/cpu/cpufreq/policy31/base_frequency')).toBe('2100000');
    expect(file('amd-pstate-epp-64', 'sys/devices/system/cpu/cpufreq/policy63/scaling_driver')).toBe('amd-pstate-epp');
    expect(file('amd-pstate-epp-64', 'sys/class/powercap/amd-rapl:1/name')).toBe('package-1');
    expect(file('amd-pstate-epp-64', 'sys/class/hwmon/hwmon0/name')).toBe('k10temp');
    expect(file('arm-cppc-8', 'sys/power/mem_sleep')).toBe('[s2idle]');
    expect(file('arm-cppc-8', 'proc/sys/kernel/arch')).toBe('aarch64');
    expect(file('arm-cppc-8', 'sys/devices/system/cpu/cpufreq/boost')).toBeUndefined();
    expect(file('arm-cppc-8', 'sys/class/powercap/intel-rapl:0/name')).toBeUndefined();
  });
});

describe('safety', () => {
  it('refuses a non-empty directory that is not a simulated host, touching nothing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'precious.txt'), 'keep me');
    await expectCode(generateSimulatedHost(dir, { profile: 'arm-cppc-8' }), 'E_HOST_INVALID');
    expect(await readdir(dir)).toEqual(['precious.txt']);
  });

  it('regenerates over an existing simulated host without leftovers', async () => {
    const dir = await tempDir();
    await generateSimulatedHost(dir, { profile: 'intel-cpufreq-passive-16' });
    await generateSimulatedHost(dir, { profile: 'arm-cppc-8' });
    expect((await readdir(join(dir, 'sys/devices/system/cpu/cpufreq'))).length).toBe(8);
    expect((await openSimulatedHost(dir)).profile.name).toBe('arm-cppc-8');
  });

  it('opening a directory without a marker or with a bad one fails clearly', async () => {
    const dir = await tempDir();
    await expectCode(openSimulatedHost(dir), 'E_HOST_NOT_FOUND');
    await writeFile(join(dir, SIM_MARKER), '{"format":"other"}');
    const err = await expectCode(openSimulatedHost(dir), 'E_HOST_PARSE');
    expect(err.message).toContain('vpmd-sim/1');
  });
});
