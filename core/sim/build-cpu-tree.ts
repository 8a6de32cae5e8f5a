/**
 * Builds the CPU side of a simulated host: CPU lists, per-CPU topology, caches and idle states,
 * NUMA nodes, huge pages and the `/proc` files describing the CPUs and memory.
 */
import { formatCpuList } from '../host/cpu-ranges.js';
import { allCpus, cpuCount, cpusWhere, placement, threadSiblings, type SimProfile } from './sim-profile.js';
import type { SimTree } from './sim-tree.js';

/** Root-relative CPU directory. */
export const SIM_CPU_DIR = 'sys/devices/system/cpu';

function buildTopology(t: SimTree, p: SimProfile, cpu: number): void {
  const pl = placement(p, cpu);
  const packageCpus = formatCpuList(cpusWhere(p, (o) => o.package === pl.package));
  const siblings = formatCpuList(threadSiblings(p, cpu));
  t.filesIn(`${SIM_CPU_DIR}/cpu${cpu}/topology`, {
    physical_package_id: pl.package,
    die_id: 0,
    core_id: pl.core,
    cluster_id: pl.core,
    thread_siblings_list: siblings,
    core_cpus_list: siblings,
    core_siblings_list: packageCpus,
    package_cpus_list: packageCpus,
    die_cpus_list: packageCpus,
  });
}

function buildCaches(t: SimTree, p: SimProfile, cpu: number): void {
  const pl = placement(p, cpu);
  p.caches.forEach((cache, index) => {
    const instance = Math.floor(pl.globalCore / cache.coresPerInstance);
    const shared = cpusWhere(p, (o) => Math.floor(o.globalCore / cache.coresPerInstance) === instance);
    const ways = cache.level === 3 ? 16 : 8;
    t.filesIn(`${SIM_CPU_DIR}/cpu${cpu}/cache/index${index}`, {
      level: cache.level,
      type: cache.type,
      size: `${cache.sizeKiB}K`,
      id: instance,
      shared_cpu_list: formatCpuList(shared),
      coherency_line_size: 64,
      ways_of_associativity: ways,
      number_of_sets: (cache.sizeKiB * 1024) / 64 / ways,
    });
  });
}

function buildIdleStates(t: SimTree, p: SimProfile, cpu: number): void {
  p.cpuidle.states.forEach((s, index) => {
    t.filesIn(`${SIM_CPU_DIR}/cpu${cpu}/cpuidle/state${index}`, {
      name: s.name,
      desc: s.desc,
      latency: s.latencyUs,
      residency: s.residencyUs,
      disable: 0,
      default_status: 'enabled',
      usage: 0,
      time: 0,
      above: 0,
      below: 0,
      rejected: 0,
      power: 0,
    });
  });
}

function buildNodes(t: SimTree, p: SimProfile): void {
  const dir = 'sys/devices/system/node';
  const nodes = Array.from({ length: p.numaNodes }, (_, i) => i);
  const list = formatCpuList(nodes);
  t.filesIn(dir, { online: list, possible: list, has_cpu: list, has_memory: list, has_normal_memory: list });
  const perNodeKiB = Math.floor(p.memKiB / p.numaNodes);
  for (const node of nodes) {
    const distance = nodes.map((other) => (other === node ? 10 : 21)).join(' ');
    t.filesIn(`${dir}/node${node}`, {
      cpulist: formatCpuList(cpusWhere(p, (o) => o.node === node)),
      distance,
      meminfo: [
        `Node ${node} MemTotal:       ${perNodeKiB} kB`,
        `Node ${node} MemFree:        ${Math.floor(perNodeKiB * 0.8)} kB`,
        `Node ${node} MemUsed:        ${perNodeKiB - Math.floor(perNodeKiB * 0.8)} kB`,
      ].join('\n'),
    });
  }
}

function buildHugePages(t: SimTree): void {
  for (const size of [2048, 1048576]) {
    t.filesIn(`sys/kernel/mm/hugepages/hugepages-${size}kB`, {
      nr_hugepages: 0,
      free_hugepages: 0,
      resv_hugepages: 0,
      surplus_hugepages: 0,
      nr_overcommit_hugepages: 0,
    });
  }
}

function x86Block(p: SimProfile, cpu: number): string {
  const pl = placement(p, cpu);
  const id = p.identity;
  const l3 = p.caches.find((c) => c.level === 3)?.sizeKiB ?? 0;
  const mhz = (p.cpufreq.nominalKHz / 1000).toFixed(3);
  return [
    `processor\t: ${cpu}`,
    `vendor_id\t: ${id.vendor}`,
    `cpu family\t: ${id.family}`,
    `model\t\t: ${id.model}`,
    `model name\t: ${id.modelName}`,
    `stepping\t: ${id.stepping}`,
    'microcode\t: 0xf4',
    `cpu MHz\t\t: ${mhz}`,
    `cache size\t: ${l3} KB`,
    `physical id\t: ${pl.package}`,
    `siblings\t: ${p.coresPerPackage * p.threadsPerCore}`,
    `core id\t\t: ${pl.core}`,
    `cpu cores\t: ${p.coresPerPackage}`,
    `apicid\t\t: ${pl.globalCore * 2 + pl.thread}`,
    'fpu\t\t: yes',
    'fpu_exception\t: yes',
    'cpuid level\t: 22',
    'wp\t\t: yes',
    `flags\t\t: ${id.flags.join(' ')}`,
    `bogomips\t: ${((p.cpufreq.nominalKHz / 1000) * 2).toFixed(2)}`,
    'clflush size\t: 64',
    'cache_alignment\t: 64',
    'address sizes\t: 46 bits physical, 48 bits virtual',
    'power management:',
  ].join('\n');
}

function armBlock(p: SimProfile, cpu: number): string {
  const id = p.identity;
  return [
    `processor\t: ${cpu}`,
    'BogoMIPS\t: 50.00',
    `Features\t: ${id.flags.join(' ')}`,
    `CPU implementer\t: ${id.armImplementer ?? '0x41'}`,
    `CPU architecture: ${id.family}`,
    'CPU variant\t: 0x3',
    `CPU part\t: ${id.armPart ?? `0x${id.model.toString(16)}`}`,
    `CPU revision\t: ${id.stepping}`,
  ].join('\n');
}

function buildProc(t: SimTree, p: SimProfile): void {
  const blocks = allCpus(p).map((cpu) => (p.arch === 'aarch64' ? armBlock(p, cpu) : x86Block(p, cpu)));
  t.file('proc/cpuinfo', `${blocks.join('\n\n')}\n`);
  const free = Math.floor(p.memKiB * 0.8);
  t.file(
    'proc/meminfo',
    [
      `MemTotal:       ${p.memKiB} kB`,
      `MemFree:        ${free} kB`,
      `MemAvailable:   ${Math.floor(p.memKiB * 0.9)} kB`,
      'HugePages_Total:       0',
      'HugePages_Free:        0',
      'Hugepagesize:       2048 kB',
    ].join('\n'),
  );
  t.file('proc/sys/kernel/arch', p.arch);
  t.file('proc/cmdline', p.platform.cmdline);
}

/** Adds the CPU, NUMA, huge page and `/proc` parts of a profile to a tree. */
export function buildCpuTree(t: SimTree, p: SimProfile): void {
  const list = formatCpuList(allCpus(p));
  t.filesIn(SIM_CPU_DIR, {
    online: list,
    possible: list,
    present: list,
    offline: '',
    isolated: '',
    kernel_max: cpuCount(p) > 64 ? 8191 : 511,
  });
  t.filesIn(`${SIM_CPU_DIR}/cpuidle`, {
    current_driver: p.cpuidle.driver,
    current_governor: p.cpuidle.governor,
    current_governor_ro: p.cpuidle.governor,
    available_governors: 'ladder menu teo',
  });
  for (const cpu of allCpus(p)) {
    // cpu0 cannot be offlined on x86 and has no `online` file.
    if (cpu !== 0) t.file(`${SIM_CPU_DIR}/cpu${cpu}/online`, 1);
    buildTopology(t, p, cpu);
    buildCaches(t, p, cpu);
    buildIdleStates(t, p, cpu);
  }
  buildNodes(t, p);
  buildHugePages(t);
  buildProc(t, p);
}
