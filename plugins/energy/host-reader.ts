/**
 * What the energy plugin reads from the host each interval, through the host model's backend
 * (the real `/` or the simulated kernel): RAPL counters (`energy_uj`), per-CPU busy time from
 * `/proc/stat`, and each CPU's current frequency (`cpuN/cpufreq/scaling_cur_freq`, kHz), kept
 * open between intervals. Zones and topology are surveyed once at start through the host
 * model. A file that cannot be read degrades that reading only.
 */
import { KeptOpenFiles, type HostModel, type RaplDomain } from 'vpmd';
import type { FrequencyRange } from './frequency-weight.js';

/** How a zone's energy relates to the CPUs. */
export type ZoneKind = 'package' | 'dram' | 'part' | 'platform';

/** A meterable zone and the CPUs it covers. */
export interface EnergyZone {
  /** The host model's key (`package-0`, `package-0/dram`). */
  readonly key: string;
  /** The powercap id (`intel-rapl:0`). */
  readonly id: string;
  readonly kind: ZoneKind;
  readonly cpus: readonly number[];
  readonly maxEnergyRangeUj: number;
}

/** USER_HZ: `/proc/stat` counts in hundredths of a second on every Linux architecture vpmd runs on. */
export const CLOCK_TICK_US = 10_000;

function kindOf(d: RaplDomain): ZoneKind {
  if (d.name === 'dram') return 'dram';
  if (d.name === 'psys') return 'platform';
  // core, uncore (graphics) and friends are parts of their package's energy.
  return d.parent === undefined ? 'package' : 'part';
}

/** The host's zones with the CPUs each covers (a zone not tied to a package covers every CPU). */
export async function surveyZones(host: HostModel): Promise<{ zones: EnergyZone[]; cpus: number[] }> {
  const [domains, topology] = await Promise.all([host.rapl.domains(), host.topology()]);
  const online = new Set(topology.online);
  const cpus = topology.cpus.filter((c) => online.has(c.cpu));
  const byId = new Map(domains.map((d) => [d.id, d]));
  const zones = domains.map((d) => {
    const top = d.parent === undefined ? d : (byId.get(d.parent) ?? d);
    const pkg = /^package-(\d+)$/.exec(top.name)?.[1];
    const covered = pkg === undefined ? cpus : cpus.filter((c) => c.packageId === Number(pkg));
    return {
      key: d.key,
      id: d.id,
      kind: kindOf(d),
      cpus: covered.map((c) => c.cpu).sort((a, b) => a - b),
      maxEnergyRangeUj: d.maxEnergyRangeUj,
    };
  });
  return { zones, cpus: cpus.map((c) => c.cpu).sort((a, b) => a - b) };
}

/** Busy µs per CPU (index = CPU) from `/proc/stat`: everything but idle and iowait. */
export function parseProcStat(text: string): number[] {
  const busy: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = (m[2] ?? '').trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice).
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    busy[Number(m[1])] = (user + nice + system + irq + softirq + steal) * CLOCK_TICK_US;
  }
  return busy;
}

/** What one interval reads. */
export interface IntervalReading {
  /** Raw `energy_uj` of each zone asked for (same order); undefined where unreadable. */
  readonly energyUj: Array<number | undefined>;
  /** Busy µs per CPU from `/proc/stat`; undefined when it could not be read. */
  readonly busy: number[] | undefined;
  /** Current frequency of each CPU, kHz (index = CPU; undefined where unreadable: no cpufreq). */
  readonly freq: Array<number | undefined>;
}

/**
 * Reads each zone's `energy_uj`, `/proc/stat` and every CPU's `scaling_cur_freq` each interval
 * through kept-open descriptors (one pread each on a real host, no thread-pool round trips).
 */
export class IntervalReader {
  private readonly files: KeptOpenFiles;
  private readonly paths: string[];

  constructor(
    host: HostModel,
    private readonly zoneIds: readonly string[],
    private readonly cpus: readonly number[],
  ) {
    this.files = new KeptOpenFiles(host.backend);
    this.paths = [
      ...zoneIds.map((id) => `sys/class/powercap/${id}/energy_uj`),
      'proc/stat',
      ...cpus.map((c) => `sys/devices/system/cpu/cpu${c}/cpufreq/scaling_cur_freq`),
    ];
  }

  async read(): Promise<IntervalReading> {
    const texts = await this.files.readTexts(this.paths);
    const z = this.zoneIds.length;
    const energyUj = this.zoneIds.map((_, i) => {
      const text = (texts[i] ?? '').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    });
    const stat = texts[z];
    const freq: Array<number | undefined> = [];
    this.cpus.forEach((c, i) => {
      const text = (texts[z + 1 + i] ?? '').trim();
      const v = Number(text);
      freq[c] = text !== '' && Number.isFinite(v) && v > 0 ? v : undefined;
    });
    return { energyUj, busy: stat === undefined ? undefined : parseProcStat(stat), freq };
  }

  /** Gives the descriptors back. */
  close(): void {
    this.files.close();
  }
}

/** The CPUs' hardware frequency range (cpuinfo min/max of the first CPU that has them). */
export async function readFrequencyRange(
  host: HostModel,
  cpus: readonly number[],
): Promise<FrequencyRange | undefined> {
  for (const c of cpus) {
    const dir = `sys/devices/system/cpu/cpu${c}/cpufreq`;
    const [min, max] = await Promise.all([
      host.backend.read(`${dir}/cpuinfo_min_freq`).catch(() => ''),
      host.backend.read(`${dir}/cpuinfo_max_freq`).catch(() => ''),
    ]);
    const minKHz = Number(min.trim());
    const maxKHz = Number(max.trim());
    if (min.trim() !== '' && maxKHz > 0 && minKHz > 0) return { minKHz, maxKHz };
  }
  return undefined;
}
