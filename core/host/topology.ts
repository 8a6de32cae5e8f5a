/**
 * CPU topology, NUMA nodes, caches, CPU identity, huge pages and memory: the static shape of the
 * host. Optional files that a kernel or an offline CPU does not provide degrade to `undefined`.
 */
import { VpmdError } from '../errors.js';
import { parseCpuList } from './cpu-ranges.js';
import { normalizeArch, parseCpuinfo, parseMeminfoKiB, type CpuIdentity, type HostArch } from './proc-files.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath, listIndexed, readOptional, readOptionalInt } from './sysfs-read.js';

const CPU_DIR = 'sys/devices/system/cpu';
const NODE_DIR = 'sys/devices/system/node';
const HUGEPAGES_DIR = 'sys/kernel/mm/hugepages';

/** Where one CPU sits. Fields are undefined when the kernel does not expose them (offline CPU). */
export interface CpuPlacement {
  readonly cpu: number;
  readonly online: boolean;
  /** `physical_package_id`: the socket. */
  readonly packageId?: number;
  readonly dieId?: number;
  readonly coreId?: number;
  /** Hyperthreads sharing this CPU's core, itself included (`thread_siblings_list`). */
  readonly threadSiblings?: readonly number[];
  /** NUMA node holding this CPU. */
  readonly numaNode?: number;
}

/** A NUMA node with its CPUs and memory. */
export interface NumaNode {
  readonly id: number;
  readonly cpus: readonly number[];
  /** `MemTotal` of the node, in KiB. */
  readonly memTotalKiB?: number;
}

/** One cache instance (a cache shared by several CPUs is listed once). */
export interface CpuCache {
  readonly level: number;
  /** `Data`, `Instruction` or `Unified`. */
  readonly type: string;
  readonly sizeKiB?: number;
  /** Cache id among caches of the same level and type, when the kernel reports it. */
  readonly id?: number;
  readonly sharedCpus: readonly number[];
}

/** The static shape of the host. */
export interface HostTopology {
  readonly arch: HostArch;
  readonly identity: CpuIdentity;
  readonly online: readonly number[];
  readonly possible: readonly number[];
  readonly present: readonly number[];
  /** One entry per present CPU. */
  readonly cpus: readonly CpuPlacement[];
  /** Number of distinct packages (sockets) among online CPUs. */
  readonly packages: number;
  /** Number of distinct physical cores among online CPUs. */
  readonly cores: number;
  /** Hardware threads per core (1 without SMT). */
  readonly threadsPerCore: number;
  readonly numaNodes: readonly NumaNode[];
  readonly caches: readonly CpuCache[];
  /** Supported huge page sizes in KiB, ascending (2048, 1048576 on x86). */
  readonly hugePageSizesKiB: readonly number[];
  /** `MemTotal` from `/proc/meminfo`, in KiB. */
  readonly memTotalKiB?: number;
}

async function readCpuList(backend: SysfsBackend, path: string): Promise<number[] | undefined> {
  const text = await readOptional(backend, path);
  return text === undefined ? undefined : parseCpuList(text, { source: fullPath(backend, path) });
}

/** Parses a cache size such as `48K`, `2048K` or `32M` into KiB. */
export function parseCacheSizeKiB(text: string): number | undefined {
  const m = /^(\d+)\s*([KMG]?)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toUpperCase();
  const factor = unit === 'M' ? 1024 : unit === 'G' ? 1024 * 1024 : unit === 'K' ? 1 : 1 / 1024;
  return Number(m[1]) * factor;
}

async function readPlacement(backend: SysfsBackend, cpu: number, online: boolean): Promise<CpuPlacement> {
  const base = `${CPU_DIR}/cpu${cpu}/topology`;
  const [packageId, dieId, coreId, threadSiblings, coreCpus] = await Promise.all([
    readOptionalInt(backend, `${base}/physical_package_id`),
    readOptionalInt(backend, `${base}/die_id`),
    readOptionalInt(backend, `${base}/core_id`),
    readCpuList(backend, `${base}/thread_siblings_list`),
    readCpuList(backend, `${base}/core_cpus_list`),
  ]);
  return { cpu, online, packageId, dieId, coreId, threadSiblings: threadSiblings ?? coreCpus };
}

async function readNumaNodes(backend: SysfsBackend): Promise<NumaNode[]> {
  const nodes = await listIndexed(backend, NODE_DIR, /^node(\d+)$/);
  return Promise.all(
    nodes.map(async ({ name, index }) => {
      const [cpus, meminfo] = await Promise.all([
        readCpuList(backend, `${NODE_DIR}/${name}/cpulist`),
        readOptional(backend, `${NODE_DIR}/${name}/meminfo`),
      ]);
      const memTotalKiB = meminfo === undefined ? undefined : parseMeminfoKiB(meminfo);
      return { id: index, cpus: cpus ?? [], memTotalKiB };
    }),
  );
}

async function readCpuCaches(backend: SysfsBackend, cpu: number): Promise<CpuCache[]> {
  const dir = `${CPU_DIR}/cpu${cpu}/cache`;
  const indices = await listIndexed(backend, dir, /^index(\d+)$/);
  const caches = await Promise.all(
    indices.map(async ({ name }): Promise<CpuCache | undefined> => {
      const base = `${dir}/${name}`;
      const [level, type, size, id, shared] = await Promise.all([
        readOptionalInt(backend, `${base}/level`),
        readOptional(backend, `${base}/type`),
        readOptional(backend, `${base}/size`),
        readOptionalInt(backend, `${base}/id`),
        readCpuList(backend, `${base}/shared_cpu_list`),
      ]);
      if (level === undefined || type === undefined) return undefined;
      const sizeKiB = size === undefined ? undefined : parseCacheSizeKiB(size);
      return { level, type, sizeKiB, id, sharedCpus: shared ?? [cpu] };
    }),
  );
  return caches.filter((c): c is CpuCache => c !== undefined);
}

/** Caches of all online CPUs, each physical cache once, ordered by level, type, first CPU. */
async function readCaches(backend: SysfsBackend, online: readonly number[]): Promise<CpuCache[]> {
  const perCpu = await Promise.all(online.map((cpu) => readCpuCaches(backend, cpu)));
  const unique = new Map<string, CpuCache>();
  for (const cache of perCpu.flat()) {
    const key = `${cache.level}/${cache.type}/${cache.sharedCpus.join(',')}`;
    if (!unique.has(key)) unique.set(key, cache);
  }
  return [...unique.values()].sort(
    (a, b) => a.level - b.level || a.type.localeCompare(b.type) || (a.sharedCpus[0] ?? 0) - (b.sharedCpus[0] ?? 0),
  );
}

async function readHugePageSizes(backend: SysfsBackend): Promise<number[]> {
  const dirs = await listIndexed(backend, HUGEPAGES_DIR, /^hugepages-(\d+)kB$/);
  return dirs.map((d) => d.index).sort((a, b) => a - b);
}

/** Reads the kernel command line (`/proc/cmdline`), or `''` when absent. */
export async function readCmdline(backend: SysfsBackend): Promise<string> {
  return (await readOptional(backend, 'proc/cmdline')) ?? '';
}

/**
 * Reads the host's topology. `cpu/online`, `possible` and `present` are required (every Linux
 * has them); everything else is optional.
 */
export async function readTopology(backend: SysfsBackend): Promise<HostTopology> {
  const [online, possible, present, cpuinfo, meminfo, archText] = await Promise.all([
    readCpuList(backend, `${CPU_DIR}/online`),
    readCpuList(backend, `${CPU_DIR}/possible`),
    readCpuList(backend, `${CPU_DIR}/present`),
    readOptional(backend, 'proc/cpuinfo'),
    readOptional(backend, 'proc/meminfo'),
    readOptional(backend, 'proc/sys/kernel/arch'),
  ]);
  if (online === undefined) {
    const file = fullPath(backend, `${CPU_DIR}/online`);
    throw new VpmdError('E_HOST_NOT_FOUND', `${file} does not exist: the root does not hold a Linux sysfs tree`, {
      file,
    });
  }
  // Only `online` is indispensable; old kernels may lack the other two.
  const onlineCpus = online;
  const presentCpus = present ?? possible ?? onlineCpus;
  const onlineSet = new Set(onlineCpus);
  const [cpus, numaNodes, caches, hugePageSizesKiB] = await Promise.all([
    Promise.all(presentCpus.map((cpu) => readPlacement(backend, cpu, onlineSet.has(cpu)))),
    readNumaNodes(backend),
    readCaches(backend, onlineCpus),
    readHugePageSizes(backend),
  ]);
  const nodeOf = new Map<number, number>();
  for (const node of numaNodes) for (const cpu of node.cpus) nodeOf.set(cpu, node.id);
  const placed = cpus.map((c) => (nodeOf.has(c.cpu) ? { ...c, numaNode: nodeOf.get(c.cpu) } : c));
  const summary = cpuinfo === undefined ? undefined : parseCpuinfo(cpuinfo);
  const onlinePlaced = placed.filter((c) => c.online);
  const packages = new Set(onlinePlaced.map((c) => c.packageId ?? 0));
  const cores = new Set(onlinePlaced.map((c) => `${c.packageId ?? 0}/${c.dieId ?? 0}/${c.coreId ?? c.cpu}`));
  const threadsPerCore = Math.max(1, ...onlinePlaced.map((c) => c.threadSiblings?.length ?? 1));
  const memTotalKiB = meminfo === undefined ? undefined : parseMeminfoKiB(meminfo);
  return {
    arch: (archText === undefined ? undefined : normalizeArch(archText)) ?? summary?.arch ?? 'x86_64',
    identity: summary?.identity ?? { flags: [] },
    online: onlineCpus,
    possible: possible ?? presentCpus,
    present: presentCpus,
    cpus: placed,
    packages: packages.size,
    cores: cores.size,
    threadsPerCore,
    numaNodes,
    caches,
    hugePageSizesKiB,
    memTotalKiB,
  };
}
