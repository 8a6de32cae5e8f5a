/**
 * Standard groups besides the entity tables: SNMPv2-MIB system, HOST-RESOURCES-MIB
 * hrSystemUptime and hrProcessorLoad, and ENERGY-OBJECT-MIB eoPowerTable with the host's power
 * state mapped to the DMTF power state set (IANAPowerStateSet: dmtfOn 513, dmtfSleepDeep 515 for
 * S3, dmtfHibernate 518 for S4).
 */
import type { HostPowerState, MetricSnapshot, SleepTarget, SysfsBackend } from 'vpmd';
import { V } from '../../codec/pdu.js';
import type { MibEntry, MibSource } from '../mib-index.js';
import { HOST_INDEX } from './entities.js';

/** SNMPv2-MIB system group. */
export const SYSTEM = [1, 3, 6, 1, 2, 1, 1];
/** HOST-RESOURCES-MIB hrSystemUptime. */
export const HR_SYSTEM_UPTIME = [1, 3, 6, 1, 2, 1, 25, 1, 1];
/** HOST-RESOURCES-MIB hrProcessorEntry. */
export const HR_PROCESSOR_ENTRY = [1, 3, 6, 1, 2, 1, 25, 3, 3, 1];
/** ENERGY-OBJECT-MIB eoPowerEntry. */
export const EO_POWER_ENTRY = [1, 3, 6, 1, 2, 1, 229, 1, 2, 1];
/** hrDeviceIndex of CPU n, as Net-SNMP numbers processors (768 * 256 + n). */
export const HR_CPU_BASE = 196608;

/** SNMPv2-MIB system group. */
export function systemSource(o: {
  descr: string;
  objectId: readonly number[];
  contact: string;
  name: string;
  location: string;
  uptimeTicks: () => number;
}): MibSource {
  return {
    name: 'SNMPv2-MIB',
    objects: [1, 2, 3, 4, 5, 6, 7].map((n) => [...SYSTEM, n]),
    entries: (): MibEntry[] => [
      { oid: [...SYSTEM, 1, 0], value: V.str(o.descr) },
      { oid: [...SYSTEM, 2, 0], value: V.oid(o.objectId) },
      { oid: [...SYSTEM, 3, 0], value: V.ticks(o.uptimeTicks()) },
      { oid: [...SYSTEM, 4, 0], value: V.str(o.contact) },
      { oid: [...SYSTEM, 5, 0], value: V.str(o.name) },
      { oid: [...SYSTEM, 6, 0], value: V.str(o.location) },
      { oid: [...SYSTEM, 7, 0], value: V.int(72) }, // application + end-to-end layers
    ],
  };
}

/** Per-CPU busy percentage over about a minute, from `/proc/stat` samples (HOST-RESOURCES semantics). */
export class ProcessorLoad {
  private samples: { at: number; cpus: Map<number, { busy: number; total: number }> }[] = [];

  constructor(private readonly backend: SysfsBackend) {}

  /** Takes one sample; a host without `/proc/stat` (a bare simulated tree) yields none. */
  async sample(now = Date.now()): Promise<void> {
    let text: string;
    try {
      text = await this.backend.read('proc/stat');
    } catch {
      return;
    }
    const cpus = new Map<number, { busy: number; total: number }>();
    for (const line of text.split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const f = (m[2] ?? '').trim().split(/\s+/).map(Number);
      const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      cpus.set(Number(m[1]), { busy: total - idle, total });
    }
    this.samples.push({ at: now, cpus });
    // Keep samples from the last minute (always at least two, so a slow scheduler still averages).
    while (this.samples.length > 2 && now - (this.samples[0]?.at ?? now) > 60_000) this.samples.shift();
  }

  /** Load per CPU (0..100): over the sampled minute, or since boot while only one sample exists. */
  loads(): Map<number, number> {
    const out = new Map<number, number>();
    const last = this.samples[this.samples.length - 1];
    if (!last) return out;
    const first = this.samples.length > 1 ? this.samples[0] : undefined;
    for (const [cpu, b] of last.cpus) {
      const a = first ? first.cpus.get(cpu) : { busy: 0, total: 0 };
      if (!a) continue;
      const dt = b.total - a.total;
      out.set(cpu, dt > 0 ? Math.round((100 * (b.busy - a.busy)) / dt) : 0);
    }
    return out;
  }
}

/** HOST-RESOURCES-MIB hrSystemUptime (from `/proc/uptime`) and hrProcessorTable. */
export function hostResourcesSource(backend: SysfsBackend, load: ProcessorLoad): MibSource {
  return {
    name: 'HOST-RESOURCES-MIB',
    objects: [HR_SYSTEM_UPTIME, [...HR_PROCESSOR_ENTRY, 1], [...HR_PROCESSOR_ENTRY, 2]],
    async entries(): Promise<MibEntry[]> {
      const out: MibEntry[] = [];
      const up = await backend.read('proc/uptime').catch(() => undefined);
      const seconds = up === undefined ? NaN : Number(up.trim().split(/\s+/)[0]);
      if (Number.isFinite(seconds)) out.push({ oid: [...HR_SYSTEM_UPTIME, 0], value: V.ticks(seconds * 100) });
      for (const [cpu, pct] of load.loads()) {
        out.push({ oid: [...HR_PROCESSOR_ENTRY, 1, HR_CPU_BASE + cpu], value: V.oid([0, 0]) });
        out.push({ oid: [...HR_PROCESSOR_ENTRY, 2, HR_CPU_BASE + cpu], value: V.int(pct) });
      }
      return out;
    },
  };
}

/** IANAPowerStateSet value of the host's power state. */
export function dmtfPowerState(state: HostPowerState | 'off', target?: SleepTarget): number {
  if (state === 'off') return 517; // dmtfOffSoft
  if (state !== 'suspended') return 513; // dmtfOn: suspending and resuming hosts still run
  return target === 'disk' ? 518 : 515; // dmtfHibernate : dmtfSleepDeep (S3)
}

/** What the power table reads. */
export interface PowerInputs {
  readonly metrics: () => readonly MetricSnapshot[];
  readonly indexOf: (metricId: string) => number;
  readonly hostState: () => { state: HostPowerState | 'off'; target?: SleepTarget; reason: string };
}

/** ENERGY-OBJECT-MIB eoPowerTable: the host (sum of RAPL packages) and every power metric. */
export function eoPowerSource(inp: PowerInputs): MibSource {
  const col = (n: number): number[] => [...EO_POWER_ENTRY, n];
  return {
    name: 'ENERGY-OBJECT-MIB',
    objects: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(col),
    entries(): MibEntry[] {
      const power = inp.metrics().filter((m) => m.kind === 'power');
      const pkgs = power.filter((m) => /^host\/rapl\/package-\d+\/power$/.test(m.id));
      const hostW = pkgs.reduce((s, m) => s + (m.latest?.value ?? 0), 0);
      const hs = inp.hostState();
      const hostState = dmtfPowerState(hs.state, hs.target);
      const rows: { index: number; watts: number; caliber: number; origin: number; state: number; reason: string }[] = [
        {
          index: HOST_INDEX,
          watts: hostW,
          caliber: pkgs.length ? 4 : 1,
          origin: 1,
          state: hostState,
          reason: hs.reason,
        },
      ];
      for (const m of power) {
        const v = m.latest?.value;
        rows.push({
          index: inp.indexOf(m.id),
          watts: v ?? 0,
          caliber: v == null ? 1 : m.source.target === 'host' ? 4 : 3,
          origin: m.source.target === 'host' ? 1 : 2,
          state: 513,
          reason: '',
        });
      }
      const out: MibEntry[] = [];
      for (const r of rows) {
        out.push(
          { oid: [...col(1), r.index], value: V.int(r.watts * 10) }, // eoPower in deciwatts
          { oid: [...col(2), r.index], value: V.gauge(0) }, // nameplate unknown (Unsigned32)
          { oid: [...col(3), r.index], value: V.int(-1) }, // UnitMultiplier deci
          { oid: [...col(4), r.index], value: V.int(0) },
          { oid: [...col(5), r.index], value: V.int(r.caliber) },
          { oid: [...col(6), r.index], value: V.int(3) }, // unknown current type
          { oid: [...col(7), r.index], value: V.int(r.origin) }, // eoPowerMeasurementLocal: true(1) / false(2)
          { oid: [...col(8), r.index], value: V.int(r.state) },
          { oid: [...col(9), r.index], value: V.int(r.state) },
          { oid: [...col(10), r.index], value: V.str(r.reason) },
        );
      }
      return out;
    },
  };
}
