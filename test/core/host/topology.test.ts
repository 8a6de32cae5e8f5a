/** Topology parsing on every simulated profile, and graceful degradation on sparse trees. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealSysfs, createHostModel, readTopology, parseCacheSizeKiB } from '../../../core/host/index.js';
import type { HostTopology } from '../../../core/host/index.js';
import type { SimProfileName } from '../../../core/sim/index.js';
import { simHost, type SimFixture } from '../sim/sim-fixture.js';

const EXPECTED: Record<
  SimProfileName,
  {
    cpus: number;
    packages: number;
    cores: number;
    threads: number;
    nodes: string[];
    l3: number;
    arch: string;
    vendor: string;
  }
> = {
  'intel-acpi-cpufreq-8': {
    cpus: 8,
    packages: 1,
    cores: 4,
    threads: 2,
    nodes: ['0-7'],
    l3: 1,
    arch: 'x86_64',
    vendor: 'GenuineIntel',
  },
  'intel-cpufreq-passive-16': {
    cpus: 16,
    packages: 1,
    cores: 8,
    threads: 2,
    nodes: ['0-15'],
    l3: 1,
    arch: 'x86_64',
    vendor: 'GenuineIntel',
  },
  'intel-pstate-hwp-32': {
    cpus: 32,
    packages: 2,
    cores: 16,
    threads: 2,
    nodes: ['0-7,16-23', '8-15,24-31'],
    l3: 2,
    arch: 'x86_64',
    vendor: 'GenuineIntel',
  },
  'amd-pstate-epp-64': {
    cpus: 64,
    packages: 2,
    cores: 32,
    threads: 2,
    nodes: ['0-15,32-47', '16-31,48-63'],
    l3: 8,
    arch: 'x86_64',
    vendor: 'AuthenticAMD',
  },
  'arm-cppc-8': { cpus: 8, packages: 1, cores: 8, threads: 1, nodes: ['0-7'], l3: 1, arch: 'aarch64', vendor: 'ARM' },
};

const ranges = (cpus: readonly number[]): string => {
  const out: string[] = [];
  for (let i = 0; i < cpus.length;) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] ?? 0) + 1) j++;
    out.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
};

describe.each(Object.entries(EXPECTED))('topology of %s', (profile, want) => {
  let sim: SimFixture;
  let topo: HostTopology;
  beforeAll(async () => {
    sim = await simHost(profile as SimProfileName);
    topo = await sim.host.topology();
  });
  afterAll(() => sim.dispose());

  it('counts CPUs, packages, cores and threads', () => {
    expect(topo.online).toHaveLength(want.cpus);
    expect(topo.possible).toEqual(topo.online);
    expect(topo.cpus).toHaveLength(want.cpus);
    expect([topo.packages, topo.cores, topo.threadsPerCore]).toEqual([want.packages, want.cores, want.threads]);
    expect(topo.arch).toBe(want.arch);
    expect(topo.identity.vendor).toBe(want.vendor);
  });

  it('places CPUs on NUMA nodes with memory', () => {
    expect(topo.numaNodes.map((n) => ranges(n.cpus))).toEqual(want.nodes);
    for (const node of topo.numaNodes) expect(node.memTotalKiB).toBeGreaterThan(1_000_000);
    const last = topo.cpus[topo.cpus.length - 1];
    expect(last?.numaNode).toBe(topo.numaNodes.length - 1);
  });

  it('lists each physical cache once with its sharing CPUs', () => {
    const l3 = topo.caches.filter((c) => c.level === 3);
    expect(l3).toHaveLength(want.l3);
    expect(l3.flatMap((c) => c.sharedCpus).sort((a, b) => a - b)).toEqual(topo.online);
    expect(topo.caches.filter((c) => c.level === 1 && c.type === 'Data')).toHaveLength(want.cores);
    for (const c of topo.caches) expect(c.sizeKiB).toBeGreaterThan(0);
  });

  it('reads huge page sizes, memory and the command line', async () => {
    expect(topo.hugePageSizesKiB).toEqual([2048, 1048576]);
    expect(topo.memTotalKiB).toBeGreaterThan(10_000_000);
    expect(await sim.host.cmdline()).toMatch(/^BOOT_IMAGE=/);
  });
});

describe('topology details', () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await simHost('intel-pstate-hwp-32');
  });
  afterAll(() => sim.dispose());

  it('reports hyperthread siblings, package, core and die of a CPU', async () => {
    const topo = await sim.host.topology();
    expect(topo.cpus[17]).toEqual({
      cpu: 17,
      online: true,
      packageId: 0,
      dieId: 0,
      coreId: 1,
      threadSiblings: [1, 17],
      numaNode: 0,
    });
    expect(topo.cpus[9]).toMatchObject({ packageId: 1, coreId: 1, threadSiblings: [9, 25], numaNode: 1 });
    expect(topo.identity).toMatchObject({
      modelName: 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz',
      family: 6,
      model: 85,
      stepping: 4,
    });
    expect(topo.identity.flags).toContain('hwp_epp');
    expect((await sim.host.cmdlineParams()).get('hugepagesz')).toBe('1G');
  });

  it('degrades to undefined when optional files are missing (RealSysfs over a sparse copy)', async () => {
    for (const p of [
      'proc/cpuinfo',
      'proc/meminfo',
      'proc/sys/kernel/arch',
      'sys/devices/system/node',
      'sys/kernel/mm/hugepages',
      'sys/devices/system/cpu/cpu3/topology',
      'sys/devices/system/cpu/cpu3/cache',
      'sys/devices/system/cpu/present',
      'sys/devices/system/cpu/possible',
    ]) {
      await rm(join(sim.dir, p), { recursive: true, force: true });
    }
    const topo = await createHostModel(new RealSysfs(sim.dir)).topology();
    expect(topo.arch).toBe('x86_64');
    expect(topo.identity).toEqual({ flags: [] });
    expect(topo.memTotalKiB).toBeUndefined();
    expect(topo.numaNodes).toEqual([]);
    expect(topo.hugePageSizesKiB).toEqual([]);
    expect(topo.present).toHaveLength(32);
    expect(topo.cpus[3]).toEqual({
      cpu: 3,
      online: true,
      packageId: undefined,
      dieId: undefined,
      coreId: undefined,
      threadSiblings: undefined,
    });
    expect(topo.caches.filter((c) => c.level === 3)).toHaveLength(2);
  });

  it('says what it lacks on a root without a sysfs tree instead of failing', async () => {
    const topo = await readTopology(new RealSysfs(join(sim.dir, 'dev')));
    expect(topo).toMatchObject({ online: [], onlineSource: 'none' });
    expect(topo.faults?.map((f) => [f.file, f.reason])).toEqual([['sys/devices/system/cpu/online', 'missing']]);
    expect(topo.faults?.[0]?.message).toContain('the root does not hold a Linux sysfs tree');
  });

  it('takes the online CPUs from present when cpu/online is missing, and says so', async () => {
    const own = await simHost('intel-acpi-cpufreq-8');
    await rm(join(own.dir, 'sys/devices/system/cpu/online'));
    const topo = await readTopology(new RealSysfs(own.dir));
    await own.dispose();
    expect(topo.onlineSource).toBe('present');
    expect(topo.online.length).toBeGreaterThan(0);
    expect(topo.faults?.map((f) => [f.file, f.reason])).toEqual([['sys/devices/system/cpu/online', 'missing']]);
  });
});

describe('parseCacheSizeKiB', () => {
  it('understands the kernel suffixes', () => {
    expect(parseCacheSizeKiB('48K')).toBe(48);
    expect(parseCacheSizeKiB('32M')).toBe(32768);
    expect(parseCacheSizeKiB('1G')).toBe(1048576);
    expect(parseCacheSizeKiB('big')).toBeUndefined();
  });
});
