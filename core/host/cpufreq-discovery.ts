/**
 * Where the cpufreq policies live. Kernels since 4.6 keep them in `cpu/cpufreq/policyN` and make
 * each `cpuN/cpufreq` a symbolic link to its policy; older kernels and trees copied without
 * links have only per-CPU `cpuN/cpufreq` directories (real ones, or links to the first CPU's).
 * Both layouts are found; a policy is named by its first CPU, as the kernel names `policyN`.
 */
import { VpmdError } from '../errors.js';
import { FaultLog } from './host-faults.js';
import { attrCpuList, attrList, attrListIndexed } from './sysfs-attr.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath } from './sysfs-read.js';

/** Directory holding the `policyN` directories and the global `boost` switch. */
export const CPUFREQ_DIR = 'sys/devices/system/cpu/cpufreq';
/** Directory holding `cpuN`, `online`, `cpufreq/`, `cpuidle/`. */
export const CPU_DIR = 'sys/devices/system/cpu';

/** Path of a policy directory in the modern layout. */
export function policyPath(id: number): string {
  return `${CPUFREQ_DIR}/policy${id}`;
}

/** Where one policy's files are. */
export interface PolicyLocation {
  /** N of `policyN`, or the first CPU of a per-CPU policy. */
  readonly id: number;
  /** Root-relative directory holding the policy's files. */
  readonly path: string;
  /** `policy` for `cpufreq/policyN`, `per-cpu` for a `cpuN/cpufreq` directory. */
  readonly layout: 'policy' | 'per-cpu';
}

async function existsSafe(backend: SysfsBackend, path: string, log: FaultLog): Promise<boolean> {
  try {
    return await backend.exists(path);
  } catch (e) {
    log.addError(backend, path, e);
    return false;
  }
}

async function resolveSafe(backend: SysfsBackend, path: string): Promise<string | undefined> {
  if (backend.realpath === undefined) return undefined;
  try {
    return await backend.realpath(path);
  } catch {
    return undefined;
  }
}

/**
 * Finds every policy. `policyN` directories win; without any, each `cpuN/cpufreq` is resolved
 * (links followed where the backend can) and CPUs sharing a directory, or naming the same
 * `related_cpus`, form one policy.
 */
export async function locatePolicies(backend: SysfsBackend, log: FaultLog = new FaultLog()): Promise<PolicyLocation[]> {
  const dirs = await attrListIndexed(backend, CPUFREQ_DIR, /^policy(\d+)$/, log);
  const modern: PolicyLocation[] = dirs.map((d) => ({
    id: d.index,
    path: `${CPUFREQ_DIR}/${d.name}`,
    layout: 'policy',
  }));
  const perCpu = await locatePerCpu(backend, log, new Set(modern.map((m) => m.path)), modern.length > 0);
  if (modern.length === 0) return perCpu;
  // Mixed trees: a real cpuN/cpufreq directory beside an empty policyN replaces it.
  const out = [...modern];
  for (const extra of perCpu) {
    const i = out.findIndex((m) => m.id === extra.id);
    if (i < 0) out.push(extra);
    else if ((await attrList(backend, out[i]?.path ?? '', new FaultLog())).length === 0) out[i] = extra;
  }
  return out.sort((a, b) => a.id - b.id);
}

async function locatePerCpu(
  backend: SysfsBackend,
  log: FaultLog,
  policyDirs: ReadonlySet<string>,
  onlyRealDirectories: boolean,
): Promise<PolicyLocation[]> {
  // Beside policyN directories, only cpuN/cpufreq that provably are not links to them count.
  if (onlyRealDirectories && backend.realpath === undefined) return [];
  const cpus = await attrListIndexed(backend, CPU_DIR, /^cpu(\d+)$/, log);
  const found = await Promise.all(
    cpus.map(async ({ index }) => {
      const own = `${CPU_DIR}/cpu${index}/cpufreq`;
      if (!(await existsSafe(backend, own, log))) return undefined;
      const [target, related] = await Promise.all([
        resolveSafe(backend, own),
        attrCpuList(backend, `${own}/related_cpus`, new FaultLog()),
      ]);
      return { cpu: index, own, target, related };
    }),
  );
  const groups = new Map<string, { cpus: number[]; related?: number[]; own: string; target?: string }>();
  for (const f of found) {
    if (f === undefined) continue;
    if (onlyRealDirectories && (f.target === undefined || policyDirs.has(f.target) || f.target !== f.own)) continue;
    const key =
      f.target ?? (f.related !== undefined && f.related.length > 0 ? `related:${f.related.join(',')}` : f.own);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { cpus: [f.cpu], related: f.related, own: f.own, target: f.target });
    else g.cpus.push(f.cpu);
  }
  const out: PolicyLocation[] = [];
  const taken = new Set<number>();
  for (const g of groups.values()) {
    // The CPU owning the real directory names the policy (old kernels link the others to it);
    // without links, the first of related_cpus, as the kernel names policyN.
    const owner = g.target === undefined ? undefined : /(?:^|\/)cpu(\d+)\/cpufreq$/.exec(g.target)?.[1];
    const candidates = [
      owner === undefined ? undefined : Number(owner),
      g.target === undefined && g.related !== undefined && g.related.length > 0 ? Math.min(...g.related) : undefined,
      Math.min(...g.cpus),
    ];
    const id = candidates.find((c): c is number => c !== undefined && !taken.has(c)) ?? Math.min(...g.cpus);
    taken.add(id);
    const path =
      g.target !== undefined && owner !== undefined ? g.target : `${CPU_DIR}/cpu${Math.min(...g.cpus)}/cpufreq`;
    out.push({ id, path, layout: 'per-cpu' });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Ids of the policies present, ascending. An empty list means no cpufreq driver is loaded. */
export async function listPolicyIds(backend: SysfsBackend): Promise<number[]> {
  return (await locatePolicies(backend)).map((p) => p.id);
}

/**
 * The directory of policy `id`. The modern layout is checked first with one `stat`, so the
 * frequent writes of the virtio channel do not list the CPUs each time.
 *
 * @throws VpmdError E_HOST_NOT_FOUND naming the existing policies.
 */
export async function requirePolicyLocation(backend: SysfsBackend, id: number): Promise<PolicyLocation> {
  if (Number.isInteger(id) && id >= 0) {
    const modern = policyPath(id);
    if (await backend.exists(modern).catch(() => false)) return { id, path: modern, layout: 'policy' };
  }
  const all = await locatePolicies(backend);
  const hit = all.find((p) => p.id === id);
  if (hit !== undefined) return hit;
  throw new VpmdError(
    'E_HOST_NOT_FOUND',
    `cpufreq policy ${id} does not exist under ${fullPath(backend, CPUFREQ_DIR)}; existing: ${
      all.length === 0 ? 'none (no cpufreq driver)' : all.map((p) => `policy${p.id}`).join(' ')
    }`,
    { policy: String(id), existing: all.map((p) => String(p.id)) },
  );
}
