/**
 * CPU topology, NUMA nodes, caches, CPU identity, huge pages and memory: the static shape of the
 * host. Optional files that a kernel or an offline CPU does not provide degrade to `undefined`.
 */
import { FaultLog, faultsField, missingFault, type HostFault } from './host-faults.js';
import { normalizeArch, parseCpuinfo, parseMeminfoKiB, type CpuIdentity, type HostArch } from './proc-files.js';
import { attrCpuList, attrInt, attrListIndexed, attrRaw, attrText } from './sysfs-attr.js';
import type { SysfsBackend } from './sysfs-backend.js';

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
  /**
   * Where the online CPUs came from: `cpu/online`, or a fallback when it is unreadable
   * (`cpu/present`, `cpu/possible`, the `cpuN` directories, `/proc/cpuinfo`), or `none`.
   */
  readonly onlineSource: 'online' | 'present' | 'possible' | 'cpu-directories' | 'cpuinfo' | 'none';
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** Parses a cache size such as `48K`, `2048K` or `32M` into KiB. */
export function parseCacheSizeKiB(text: string): number | undefined {
  const m = /^(\d+)\s*([KMG]?)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toUpperCase();
  const factor = unit === 'M' ? 1024 : unit === 'G' ? 1024 * 1024 : unit === 'K' ? 1 : 1 / 1024;
  return Number(m[1]) * factor;
}

async function readPlacement(
  backend: SysfsBackend,
  cpu: number,
  online: boolean,
  log: FaultLog,
): Promise<CpuPlacement> {
  const base = `${CPU_DIR}/cpu${cpu}/topology`;
  const [packageId, dieId, coreId, threadSiblings, coreCpus] = await Promise.all([
    attrInt(backend, `${base}/physical_package_id`, log),
    attrInt(backend, `${base}/die_id`, log),
    attrInt(backend, `${base}/core_id`, log),
    attrCpuList(backend, `${base}/thread_siblings_list`, log),
    attrCpuList(backend, `${base}/core_cpus_list`, log),
  ]);
  return { cpu, online, packageId, dieId, coreId, threadSiblings: threadSiblings ?? coreCpus };
}

async function readNumaNodes(backend: SysfsBackend, log: FaultLog): Promise<NumaNode[]> {
  const nodes = await attrListIndexed(backend, NODE_DIR, /^node(\d+)$/, log);
  return Promise.all(
    nodes.map(async ({ name, index }) => {
      const [cpus, meminfo] = await Promise.all([
        attrCpuList(backend, `${NODE_DIR}/${name}/cpulist`, log),
        attrRaw(backend, `${NODE_DIR}/${name}/meminfo`, log),
      ]);
      const memTotalKiB = meminfo === undefined ? undefined : parseMeminfoKiB(meminfo);
      return { id: index, cpus: cpus ?? [], memTotalKiB };
    }),
  );
}

async function readCpuCaches(backend: SysfsBackend, cpu: number, log: FaultLog): Promise<CpuCache[]> {
  const dir = `${CPU_DIR}/cpu${cpu}/cache`;
  const indices = await attrListIndexed(backend, dir, /^index(\d+)$/, log);
  const caches = await Promise.all(
    indices.map(async ({ name }): Promise<CpuCache | undefined> => {
      const base = `${dir}/${name}`;
      const [level, type, size, id, shared] = await Promise.all([
        attrInt(backend, `${base}/level`, log),
        attrText(backend, `${base}/type`, log),
        attrText(backend, `${base}/size`, log),
        attrInt(backend, `${base}/id`, log),
        attrCpuList(backend, `${base}/shared_cpu_list`, log),
      ]);
      if (level === undefined || type === undefined) return undefined;
      const sizeKiB = size === undefined ? undefined : parseCacheSizeKiB(size);
      return { level, type, sizeKiB, id, sharedCpus: shared ?? [cpu] };
    }),
  );
  return caches.filter((c): c is CpuCache => c !== undefined);
}

/** Caches of all online CPUs, each physical cache once, ordered by level, type, first CPU. */
async function readCaches(backend: SysfsBackend, online: readonly number[], log: FaultLog): Promise<CpuCache[]> {
  const perCpu = await Promise.all(online.map((cpu) => readCpuCaches(backend, cpu, log)));
  const unique = new Map<string, CpuCache>();
  for (const cache of perCpu.flat()) {
    const key = `${cache.level}/${cache.type}/${cache.sharedCpus.join(',')}`;
    if (!unique.has(key)) unique.set(key, cache);
  }
  return [...unique.values()].sort(
    (a, b) => a.level - b.level || a.type.localeCompare(b.type) || (a.sharedCpus[0] ?? 0) - (b.sharedCpus[0] ?? 0),
  );
}

async function readHugePageSizes(backend: SysfsBackend, log: FaultLog): Promise<number[]> {
  const dirs = await attrListIndexed(backend, HUGEPAGES_DIR, /^hugepages-(\d+)kB$/, log);
  return dirs.map((d) => d.index).sort((a, b) => a - b);
}

/** Reads the kernel command line (`/proc/cmdline`), or `''` when absent or unreadable. */
export async function readCmdline(backend: SysfsBackend): Promise<string> {
  return (await attrRaw(backend, 'proc/cmdline', new FaultLog())) ?? '';
}

/**
 * The online CPUs, from `cpu/online` or, when that is unreadable, the best fallback: `present`,
 * `possible`, the `cpuN` directories, or the processors of `/proc/cpuinfo`.
 */
async function onlineCpus(
  backend: SysfsBackend,
  lists: { online?: number[]; present?: number[]; possible?: number[] },
  processors: number | undefined,
  log: FaultLog,
): Promise<{ cpus: number[]; source: HostTopology['onlineSource'] }> {
  if (lists.online !== undefined) return { cpus: lists.online, source: 'online' };
  if (lists.present !== undefined) return { cpus: lists.present, source: 'present' };
  if (lists.possible !== undefined) return { cpus: lists.possible, source: 'possible' };
  const dirs = await attrListIndexed(backend, CPU_DIR, /^cpu(\d+)$/, log);
  if (dirs.length > 0) return { cpus: dirs.map((d) => d.index).sort((a, b) => a - b), source: 'cpu-directories' };
  if (processors !== undefined && processors > 0) {
    return { cpus: Array.from({ length: processors }, (_, i) => i), source: 'cpuinfo' };
  }
  return { cpus: [], source: 'none' };
}

/**
 * Reads the host's topology. Nothing is indispensable: without `cpu/online` the online CPUs
 * come from the next best source (see `onlineSource`) and the missing file is in `faults`.
 */
export async function readTopology(backend: SysfsBackend): Promise<HostTopology> {
  const log = new FaultLog();
  const [online, possible, present, cpuinfo, meminfo, archText] = await Promise.all([
    attrCpuList(backend, `${CPU_DIR}/online`, log),
    attrCpuList(backend, `${CPU_DIR}/possible`, log),
    attrCpuList(backend, `${CPU_DIR}/present`, log),
    attrRaw(backend, 'proc/cpuinfo', log),
    attrRaw(backend, 'proc/meminfo', log),
    attrText(backend, 'proc/sys/kernel/arch', log),
  ]);
  const summary = cpuinfo === undefined ? undefined : parseCpuinfo(cpuinfo);
  const found = await onlineCpus(backend, { online, present, possible }, summary?.processors, log);
  if (online === undefined && !log.faults.some((f) => f.file === `${CPU_DIR}/online`)) {
    log.add(
      missingFault(
        backend,
        `${CPU_DIR}/online`,
        found.source === 'none'
          ? 'does not exist, nor does any other CPU list: the root does not hold a Linux sysfs tree'
          : `does not exist; online CPUs taken from ${found.source}`,
      ),
    );
  }
  const onlineList = found.cpus;
  const presentCpus = present ?? possible ?? onlineList;
  const onlineSet = new Set(onlineList);
  const [cpus, numaNodes, caches, hugePageSizesKiB] = await Promise.all([
    Promise.all(presentCpus.map((cpu) => readPlacement(backend, cpu, onlineSet.has(cpu), log))),
    readNumaNodes(backend, log),
    readCaches(backend, onlineList, log),
    readHugePageSizes(backend, log),
  ]);
  const nodeOf = new Map<number, number>();
  for (const node of numaNodes) for (const cpu of node.cpus) nodeOf.set(cpu, node.id);
  const placed = cpus.map((c) => (nodeOf.has(c.cpu) ? { ...c, numaNode: nodeOf.get(c.cpu) } : c));
  const onlinePlaced = placed.filter((c) => c.online);
  const packages = new Set(onlinePlaced.map((c) => c.packageId ?? 0));
  const cores = new Set(onlinePlaced.map((c) => `${c.packageId ?? 0}/${c.dieId ?? 0}/${c.coreId ?? c.cpu}`));
  const threadsPerCore = Math.max(1, ...onlinePlaced.map((c) => c.threadSiblings?.length ?? 1));
  const memTotalKiB = meminfo === undefined ? undefined : parseMeminfoKiB(meminfo);
  return {
    arch: (archText === undefined ? undefined : normalizeArch(archText)) ?? summary?.arch ?? 'x86_64',
    identity: summary?.identity ?? { flags: [] },
    online: onlineList,
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
    onlineSource: found.source,
    ...faultsField(log),
  };
}
