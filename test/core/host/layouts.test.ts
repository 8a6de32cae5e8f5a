/**
 * Layouts real machines have that the simulated profiles do not: per-CPU cpufreq directories
 * linked to the first CPU's (old kernels), offline CPUs with holes in the numbering, hybrid
 * maxima, a policy whose CPUs are all offline (EBUSY on every read), intel-rapl-mmio beside
 * intel-rapl, psys, hwmon chips of old kernels (files in device/), unlabelled channels.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHostModel, RealSysfs, type SysfsBackend } from '../../../core/host/index.js';
import { hostFileError } from '../../../core/host/host-errors.js';
import { readHostSummary } from '../../../core/commands/host-summary.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function tree(files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-layout-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), `${text}\n`);
  }
  for (const [p, target] of Object.entries(links)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await symlink(target, join(dir, p));
  }
  return dir;
}

const CPU = 'sys/devices/system/cpu';
function policyFiles(
  base: string,
  o: { driver: string; min: number; max: number; cpus: string },
): Record<string, string> {
  return {
    [`${base}/scaling_driver`]: o.driver,
    [`${base}/scaling_governor`]: 'powersave',
    [`${base}/scaling_available_governors`]: 'performance powersave',
    [`${base}/cpuinfo_min_freq`]: String(o.min),
    [`${base}/cpuinfo_max_freq`]: String(o.max),
    [`${base}/scaling_min_freq`]: String(o.min),
    [`${base}/scaling_max_freq`]: String(o.max),
    [`${base}/scaling_cur_freq`]: String(o.min),
    [`${base}/affected_cpus`]: o.cpus,
    [`${base}/related_cpus`]: o.cpus,
  };
}

describe('cpufreq layouts', () => {
  it('groups per-CPU directories linked to the first CPU of an old-kernel policy', async () => {
    const root = await tree(
      {
        [`${CPU}/online`]: '0-3',
        ...policyFiles(`${CPU}/cpu0/cpufreq`, { driver: 'acpi-cpufreq', min: 800000, max: 3000000, cpus: '0 1' }),
        ...policyFiles(`${CPU}/cpu2/cpufreq`, { driver: 'acpi-cpufreq', min: 800000, max: 3000000, cpus: '2 3' }),
      },
      { [`${CPU}/cpu1/cpufreq`]: '../cpu0/cpufreq', [`${CPU}/cpu3/cpufreq`]: '../cpu2/cpufreq' },
    );
    const survey = await createHostModel(new RealSysfs(root)).cpufreq.survey();
    expect(survey.policies.map((p) => [p.id, p.layout, p.relatedCpus, p.controllable])).toEqual([
      [0, 'per-cpu', [0, 1], true],
      [2, 'per-cpu', [2, 3], true],
    ]);
    // The writers use the located directory.
    const host = createHostModel(new RealSysfs(root));
    await host.cpufreq.setGovernor(2, 'performance');
    expect((await host.cpufreq.policy(2)).governor).toBe('performance');
  });

  it('reports hybrid maxima, holes in CPU numbering and offline CPUs', async () => {
    const P = `${CPU}/cpufreq`;
    const root = await tree({
      [`${CPU}/online`]: '0-1,4',
      [`${CPU}/present`]: '0-1,4-5',
      ...policyFiles(`${P}/policy0`, { driver: 'intel_pstate', min: 400000, max: 4700000, cpus: '0' }),
      ...policyFiles(`${P}/policy1`, { driver: 'intel_pstate', min: 400000, max: 4700000, cpus: '1' }),
      ...policyFiles(`${P}/policy4`, { driver: 'intel_pstate', min: 400000, max: 3600000, cpus: '4' }),
    });
    const s = await readHostSummary(createHostModel(new RealSysfs(root)));
    expect(s).toMatchObject({
      cpusOnline: 3,
      cpusPresent: 4,
      policies: 3,
      frequencyRangeKHz: [400000, 4700000],
      maxFrequenciesKHz: [4700000, 3600000],
      faults: [],
    });
  });

  it('marks a policy whose CPUs are all offline inactive (EBUSY on every read)', async () => {
    const P = `${CPU}/cpufreq`;
    const root = await tree({
      [`${CPU}/online`]: '0',
      ...policyFiles(`${P}/policy0`, { driver: 'acpi-cpufreq', min: 800000, max: 3000000, cpus: '0' }),
      ...policyFiles(`${P}/policy1`, { driver: 'acpi-cpufreq', min: 800000, max: 3000000, cpus: '1' }),
    });
    const real = new RealSysfs(root);
    // The kernel answers EBUSY for every attribute of an inactive policy.
    const busy: SysfsBackend = {
      root: real.root,
      read: (p) =>
        p.includes('policy1/')
          ? Promise.reject(hostFileError({ op: 'read', file: `${root}/${p}`, errno: 'EBUSY' }))
          : real.read(p),
      write: (p, v) => real.write(p, v),
      list: (d) => real.list(d),
      exists: (p) => real.exists(p),
    };
    const host = createHostModel(busy);
    const { policies } = await host.cpufreq.survey();
    expect(policies.map((p) => [p.id, p.controllable, p.inactive])).toEqual([
      [0, true, false],
      [1, false, true],
    ]);
    expect((await host.cpufreq.policies()).map((p) => p.id)).toEqual([0]);
    const err: unknown = await host.cpufreq.setGovernor(1, 'performance').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HOST_UNSUPPORTED' });
    expect((err as Error).message).toContain('all its CPUs are offline');
  });
});

describe('RAPL and sensors', () => {
  const zone = (id: string, name: string, energy: string): Record<string, string> => ({
    [`sys/class/powercap/${id}/name`]: name,
    [`sys/class/powercap/${id}/energy_uj`]: energy,
    [`sys/class/powercap/${id}/max_energy_range_uj`]: '262143328850',
    [`sys/class/powercap/${id}/constraint_0_name`]: 'long_term',
    [`sys/class/powercap/${id}/constraint_0_power_limit_uw`]: '15000000',
  });

  it('keys intel-rapl-mmio apart from intel-rapl, with nested zones and psys', async () => {
    const root = await tree({
      [`${CPU}/online`]: '0',
      ...zone('intel-rapl:0', 'package-0', '1000000'),
      ...zone('intel-rapl:0:0', 'core', '500000'),
      ...zone('intel-rapl:1', 'psys', '2000000'),
      ...zone('intel-rapl-mmio:0', 'package-0', '1000000'),
    });
    const domains = await createHostModel(new RealSysfs(root)).rapl.domains();
    expect(domains.map((d) => [d.id, d.key, d.parent])).toEqual([
      ['intel-rapl-mmio:0', 'mmio/package-0', undefined],
      ['intel-rapl:0', 'package-0', undefined],
      ['intel-rapl:0:0', 'package-0/core', 'intel-rapl:0'],
      ['intel-rapl:1', 'psys', undefined],
    ]);
  });

  it('reads hwmon chips of old kernels from device/, unlabelled channels by number', async () => {
    const root = await tree({
      [`${CPU}/online`]: '0',
      'sys/class/hwmon/hwmon0/device/name': 'it8728',
      'sys/class/hwmon/hwmon0/device/temp1_input': '41000',
      'sys/class/hwmon/hwmon0/device/fan1_input': '1200',
      'sys/class/thermal/thermal_zone0/type': 'acpitz',
      'sys/class/thermal/thermal_zone0/temp': 'garbage',
    });
    const host = createHostModel(new RealSysfs(root));
    const [chip] = await host.thermal.hwmon();
    expect(chip).toMatchObject({
      name: 'it8728',
      path: 'sys/class/hwmon/hwmon0/device',
      temps: [{ index: 1, value: 41 }],
      fans: [{ index: 1, value: 1200 }],
    });
    expect(chip?.temps[0]).not.toHaveProperty('label');
    const [z] = await host.thermal.zones();
    expect(z).toMatchObject({ type: 'acpitz', faults: [{ reason: 'unparseable' }] });
    expect(z?.tempC).toBeUndefined();
  });
});
