/**
 * What the host offers a profile: cpufreq policies and their ranges, idle states per CPU, uncore
 * domains (Intel `intel_uncore_frequency`) and the turbo switch. Read once per apply; the
 * validator checks profiles against it and the planner turns profiles into files.
 */
import { readOptionalInt, type CpufreqPolicy, type CpuidleState, type HostModel, type TurboState } from 'vpmd';

export const CPU_DIR = 'sys/devices/system/cpu';
export const UNCORE_DIR = `${CPU_DIR}/intel_uncore_frequency`;

/** One uncore frequency domain (a package's die). */
export interface UncoreDomain {
  /** Root-relative directory, e.g. `sys/devices/system/cpu/intel_uncore_frequency/package_00_die_00`. */
  readonly dir: string;
  readonly packageId: number;
  /** Online CPUs of the package. */
  readonly cpus: readonly number[];
  readonly initialMinKHz: number;
  readonly initialMaxKHz: number;
}

/** The host's ranges and files, as one apply sees them. */
export interface HostFacts {
  readonly online: readonly number[];
  readonly policies: readonly CpufreqPolicy[];
  readonly policyOfCpu: ReadonlyMap<number, CpufreqPolicy>;
  readonly idleStates: ReadonlyMap<number, readonly CpuidleState[]>;
  /** CPUs with a `power/pm_qos_resume_latency_us` file. */
  readonly qosCpus: ReadonlySet<number>;
  readonly uncore: readonly UncoreDomain[];
  readonly turbo: TurboState;
  /** The highest frequency without turbo (kHz), when the host tells. */
  readonly nominalKHz?: number;
}

/** The highest non-turbo frequency of a policy. */
export function nominalOf(p: CpufreqPolicy): number {
  const table = [...(p.availableFrequenciesKHz ?? [])].sort((a, b) => b - a);
  // acpi-cpufreq lists turbo as the first entry, 1000 kHz above the nominal one.
  if (table.length > 1 && (table[0] as number) - (table[1] as number) === 1000) return table[1] as number;
  return p.baseFrequencyKHz ?? p.cpuinfoMaxKHz;
}

/** `cpuN/power/pm_qos_resume_latency_us`. */
export function qosPath(cpu: number): string {
  return `${CPU_DIR}/cpu${cpu}/power/pm_qos_resume_latency_us`;
}

async function readUncore(host: HostModel, packageCpus: ReadonlyMap<number, number[]>): Promise<UncoreDomain[]> {
  const b = host.backend;
  if (!(await b.exists(UNCORE_DIR))) return [];
  const out: UncoreDomain[] = [];
  for (const name of await b.list(UNCORE_DIR)) {
    // Older kernels: package_PP_die_DD; newer ones add uncoreNN with a package_id file.
    const dir = `${UNCORE_DIR}/${name}`;
    const m = /^package_(\d+)_die_(\d+)$/.exec(name);
    const packageId = m ? Number(m[1]) : await readOptionalInt(b, `${dir}/package_id`);
    if (packageId === undefined) continue;
    const lo = await readOptionalInt(b, `${dir}/initial_min_freq_khz`);
    const hi = await readOptionalInt(b, `${dir}/initial_max_freq_khz`);
    if (lo === undefined || hi === undefined) continue;
    out.push({ dir, packageId, cpus: packageCpus.get(packageId) ?? [], initialMinKHz: lo, initialMaxKHz: hi });
  }
  return out;
}

/** Reads the facts. */
export async function readHostFacts(host: HostModel): Promise<HostFacts> {
  const topo = await host.topology();
  const online = [...topo.online];
  const policies = await host.cpufreq.policies();
  const policyOfCpu = new Map<number, CpufreqPolicy>();
  for (const p of policies) for (const c of p.affectedCpus) policyOfCpu.set(c, p);
  const idleStates = new Map<number, readonly CpuidleState[]>();
  for (const { cpu, states } of await host.cpuidle.statesOf(online).catch(() => [])) idleStates.set(cpu, states);
  const qosCpus = new Set<number>();
  for (const cpu of online) if (await host.backend.exists(qosPath(cpu))) qosCpus.add(cpu);
  const packageCpus = new Map<number, number[]>();
  for (const c of topo.cpus) {
    if (!c.online || c.packageId === undefined) continue;
    packageCpus.set(c.packageId, [...(packageCpus.get(c.packageId) ?? []), c.cpu]);
  }
  const nominals = policies.map(nominalOf);
  return {
    online,
    policies,
    policyOfCpu,
    idleStates,
    qosCpus,
    uncore: await readUncore(host, packageCpus),
    turbo: await host.cpufreq.turbo(),
    ...(nominals.length > 0 ? { nominalKHz: Math.min(...nominals) } : {}),
  };
}
