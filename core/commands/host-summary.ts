/**
 * `host summary`: what the host is and what it lacks. Each area is read on its own, so a tree
 * without `cpu/online`, an unreadable RAPL zone or a VM without cpufreq still answers, naming
 * each missing facility and each attribute that could not be read.
 */
import type { HostModel } from '../host/host-model.js';
import type { HostFault } from '../host/host-faults.js';
import type { PolicyReading } from '../host/cpufreq.js';
import type { TurboState } from '../host/turbo.js';
import type { SleepStates } from '../host/sleep.js';
import { formatKeyValues } from '../services/format.js';

/** One fault, with the area and object it belongs to. */
export interface SummaryFault extends HostFault {
  /** `topology`, `cpufreq`, `rapl`, `thermal`, `hwmon`, `cpuidle`, `sleep`, `turbo`. */
  readonly area: string;
  /** `policy1`, `intel-rapl:0:0`, `thermal_zone3`, `hwmon2`... */
  readonly object?: string;
}

/** The `host summary` result. */
export interface HostSummary {
  readonly arch: string;
  readonly model: string | null;
  readonly vendor: string | null;
  readonly cpusOnline: number;
  readonly cpusPresent: number;
  /** Where the online CPUs were read from (`online` unless that file is unreadable). */
  readonly onlineSource: string;
  readonly sockets: number;
  readonly cores: number;
  readonly threadsPerCore: number;
  readonly numaNodes: number;
  readonly memTotalKiB: number | null;
  readonly cpufreqDriver: string | null;
  /** intel_pstate / amd_pstate mode (`active`, `passive`, `guided`). */
  readonly driverMode: string | null;
  readonly governors: readonly string[];
  readonly policies: number;
  /** Lowest hardware minimum and highest hardware maximum over all policies. */
  readonly frequencyRangeKHz: readonly [number, number] | null;
  /** Distinct hardware maxima, highest first: more than one on hybrid or preferred-core CPUs. */
  readonly maxFrequenciesKHz: readonly number[];
  readonly epp: boolean;
  readonly turbo: TurboState;
  readonly sleep: SleepStates | null;
  readonly cpuidleDriver: string | null;
  readonly raplZones: number;
  readonly thermalZones: number;
  readonly hwmonChips: number;
  /** Objects with attributes that could not be read (`policy1`, `intel-rapl:0:0`). */
  readonly degraded: readonly string[];
  /** Facilities this host does not have, with why. */
  readonly lacks: readonly string[];
  readonly faults: readonly SummaryFault[];
}

const mhz = (khz: number): string => `${Math.round(khz / 1000)}`;

function tag(area: string, object: string | undefined, faults: readonly HostFault[] | undefined): SummaryFault[] {
  return (faults ?? []).map((f) => ({ area, ...(object === undefined ? {} : { object }), ...f }));
}

function range(policies: readonly PolicyReading[]): readonly [number, number] | null {
  const mins = policies.flatMap((p) => (p.cpuinfoMinKHz === undefined ? [] : [p.cpuinfoMinKHz]));
  const maxs = policies.flatMap((p) => (p.cpuinfoMaxKHz === undefined ? [] : [p.cpuinfoMaxKHz]));
  return mins.length === 0 || maxs.length === 0 ? null : [Math.min(...mins), Math.max(...maxs)];
}

/** Reads the summary; never fails because of what the host's files hold. */
export async function readHostSummary(host: HostModel): Promise<HostSummary> {
  const none = { policies: [], faults: [] };
  const [topo, cpufreq, turbo, sleep, idle, status, rapl, zones, chips] = await Promise.all([
    host.topology(),
    host.cpufreq.survey().catch(() => none),
    host.cpufreq.turbo().catch((): TurboState => ({ supported: false, mechanism: 'none' })),
    host.sleep.states().catch(() => undefined),
    host.cpuidle.info().catch(() => undefined),
    host.cpufreq.driverStatus().catch(() => undefined),
    host.rapl.survey().catch(() => ({ zones: [], faults: [] })),
    host.thermal.zones().catch(() => []),
    host.thermal.hwmon().catch(() => []),
  ]);
  const policies = cpufreq.policies;
  const drivers = [...new Set(policies.flatMap((p) => (p.driver === undefined ? [] : [p.driver])))];
  const faults: SummaryFault[] = [
    ...tag('topology', undefined, topo.faults),
    ...tag('cpufreq', undefined, cpufreq.faults),
    ...policies.flatMap((p) => tag('cpufreq', `policy${p.id}`, p.faults)),
    ...tag('turbo', undefined, turbo.faults),
    ...tag('sleep', undefined, sleep?.faults),
    ...tag('cpuidle', undefined, idle?.faults),
    ...tag('rapl', undefined, rapl.faults),
    ...rapl.zones.flatMap((z) => tag('rapl', z.id, z.faults)),
    ...zones.flatMap((z) => tag('thermal', z.id, z.faults)),
    ...chips.flatMap((c) => tag('hwmon', c.id, c.faults)),
  ];
  const root = host.backend.root;
  const lacks: string[] = [];
  if (topo.onlineSource !== 'online') {
    lacks.push(
      topo.onlineSource === 'none'
        ? `CPU list: ${root} holds no sys/devices/system/cpu/online, present, possible or cpuN directories`
        : `cpu/online: unreadable, online CPUs taken from ${topo.onlineSource}`,
    );
  }
  if (policies.length === 0) {
    lacks.push('cpufreq: no policyN or cpuN/cpufreq directory (no frequency driver loaded; usual in a VM)');
  } else if (!policies.some((p) => p.controllable)) {
    lacks.push('cpufreq control: no policy has readable driver, governor and limits');
  }
  if (!turbo.supported) lacks.push('turbo: neither cpufreq/boost nor intel_pstate/no_turbo exists');
  if (rapl.zones.length === 0)
    lacks.push('RAPL: no powercap zones (module intel_rapl_common/intel_rapl_msr not loaded, or a VM)');
  if (zones.length === 0) lacks.push('thermal zones: none under sys/class/thermal');
  if (chips.length === 0) lacks.push('hwmon: no chips under sys/class/hwmon');
  if (idle?.driver === undefined) lacks.push('cpuidle: no idle driver');
  if (sleep === undefined || sleep.states.length === 0) lacks.push('sleep: sys/power/state offers no sleep state');
  const degraded = [
    ...(topo.faults === undefined ? [] : ['topology']),
    ...policies.filter((p) => p.degraded).map((p) => `policy${p.id}`),
    ...rapl.zones.filter((z) => z.degraded).map((z) => z.id),
    ...zones.filter((z) => z.faults !== undefined).map((z) => z.id),
    ...chips.filter((c) => c.faults !== undefined).map((c) => c.id),
  ];
  const maxima = [...new Set(policies.flatMap((p) => (p.cpuinfoMaxKHz === undefined ? [] : [p.cpuinfoMaxKHz])))];
  return {
    arch: topo.arch,
    model: topo.identity.modelName ?? null,
    vendor: topo.identity.vendor ?? null,
    cpusOnline: topo.online.length,
    cpusPresent: topo.present.length,
    onlineSource: topo.onlineSource,
    sockets: topo.packages,
    cores: topo.cores,
    threadsPerCore: topo.threadsPerCore,
    numaNodes: topo.numaNodes.length,
    memTotalKiB: topo.memTotalKiB ?? null,
    cpufreqDriver: drivers.length === 0 ? null : drivers.join(' '),
    driverMode: status === undefined ? null : `${status.driver} ${status.status}`,
    governors: policies.find((p) => p.availableGovernors !== undefined)?.availableGovernors ?? [],
    policies: policies.length,
    frequencyRangeKHz: range(policies),
    maxFrequenciesKHz: maxima.sort((a, b) => b - a),
    epp: policies.some((p) => p.epp !== undefined),
    turbo,
    sleep: sleep ?? null,
    cpuidleDriver: idle?.driver ?? null,
    raplZones: rapl.zones.length,
    thermalZones: zones.length,
    hwmonChips: chips.length,
    degraded,
    lacks,
    faults,
  };
}

/** The human form of {@link HostSummary}. */
export function formatHostSummary(r: HostSummary): string {
  const sleep = r.sleep;
  const table = formatKeyValues([
    ['Architecture', r.arch],
    ['CPU model', r.model ?? 'unknown'],
    [
      'CPUs',
      `${r.cpusOnline} online of ${r.cpusPresent} present${r.onlineSource === 'online' ? '' : ` (from ${r.onlineSource})`}`,
    ],
    ['Topology', `${r.sockets} socket(s), ${r.cores} core(s), ${r.threadsPerCore} thread(s) per core`],
    ['NUMA nodes', r.numaNodes],
    ['Memory', r.memTotalKiB === null ? 'unknown' : `${Math.round(r.memTotalKiB / 1024)} MiB`],
    [
      'Frequency driver',
      r.cpufreqDriver === null
        ? 'none (no cpufreq)'
        : `${r.cpufreqDriver}${r.driverMode === null ? '' : ` (${r.driverMode})`}`,
    ],
    ['Policies', r.policies],
    ['Governors', r.governors.join(' ') || '-'],
    [
      'Frequency range',
      r.frequencyRangeKHz
        ? `${mhz(r.frequencyRangeKHz[0])}-${mhz(r.frequencyRangeKHz[1])} MHz${r.maxFrequenciesKHz.length > 1 ? ` (maxima ${r.maxFrequenciesKHz.map(mhz).join(', ')} MHz)` : ''}`
        : '-',
    ],
    ['EPP', r.epp ? 'yes' : 'no'],
    [
      'Turbo',
      r.turbo.supported
        ? `${r.turbo.enabled === undefined ? 'unknown' : r.turbo.enabled ? 'enabled' : 'disabled'} (${r.turbo.mechanism})`
        : 'not available',
    ],
    ['Sleep states', sleep ? sleep.states.join(' ') || 'none' : 'unknown'],
    [
      'Suspend to RAM',
      sleep ? (sleep.s3 ? 'S3 (mem_sleep deep)' : sleep.s2idle ? 's2idle only (not S3)' : 'no') : 'unknown',
    ],
    ['Hibernate', sleep ? (sleep.s4 ? `S4 (disk mode ${sleep.disk?.selected ?? '?'})` : 'no') : 'unknown'],
    ['Idle driver', r.cpuidleDriver ?? 'none'],
    ['RAPL zones', r.raplZones],
    ['Thermal zones', r.thermalZones],
    ['hwmon chips', r.hwmonChips],
    [
      'Degraded',
      r.degraded.length === 0
        ? 'none'
        : `${r.degraded.join(' ')} (${r.faults.length} unreadable attribute(s), see --json)`,
    ],
  ]);
  const lacks = r.lacks.length === 0 ? 'Lacks: nothing' : `Lacks:\n${r.lacks.map((l) => `  - ${l}`).join('\n')}`;
  return `${table}\n${lacks}`;
}
