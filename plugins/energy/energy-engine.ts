/**
 * The energy accounting engine (`energy@1`): each `sample()` reads RAPL, `/proc/stat`, the CPUs'
 * frequencies and the domains' CPU times, splits the interval's energy (`attribution.ts`), adds
 * it to the ledger and, when a wall-power reading is fresh, scales it to the wall. The clock is
 * injected so tests drive it with the simulator's.
 */
import {
  EnergyCounter,
  type DomainInfo,
  type Domains,
  type EnergyAccounting,
  type EnergyPoint,
  type HostEnergy,
  type HostModel,
  type Reading,
  type VmEnergy,
  type WallSource,
} from 'vpmd';
import { splitInterval, type ThreadInput } from './attribution.js';
import { dynamicShape, type FrequencyModel, type FrequencyRange } from './frequency-weight.js';
import { WeightCalibration } from './weight-calibration.js';
import { IntervalReader, readFrequencyRange, surveyZones, type EnergyZone } from './host-reader.js';
import { IdleFloor } from './idle-floor.js';
import { HistoryRing, type LedgerData, type VmAccount, type ZoneTotals } from './ledger.js';

/** The RAPL split's model name (docs/energy.md). */
export const RAPL_MODEL = 'rapl-cputime-freq-v1';
/** The wall-scaled figures' model name. */
export const WALL_MODEL = 'wall-scaled-v1';

/** What the engine is told. */
export interface EngineOptions {
  readonly intervalMs: number;
  readonly model: FrequencyModel;
  /** Fixed floors per zone key, W. */
  readonly idleFloorW: Readonly<Record<string, number>>;
  /** Telemetry metric id of the host's wall power, W. */
  readonly wallMetric?: string;
  /** A wall reading older than this is ignored, ms. */
  readonly wallMaxAgeMs: number;
  /** History step, ms (one point per step, an hour kept). */
  readonly historyStepMs: number;
}

/** What the engine reads from. */
export interface EngineDeps {
  readonly host: HostModel;
  readonly domains: () => Domains | undefined;
  readonly latest: (metricId: string) => Reading | undefined;
  readonly now: () => number;
}

/** A VM's thread counters at the last sample (one entry per VM: no per-thread keys to build). */
interface VmMarks {
  startedAt: number;
  /** By vCPU index; undefined: not seen yet. */
  vcpus: Array<number | undefined>;
  emulator: number | undefined;
}

/** Which zones add up to a VM's RAPL total: packages and DRAM (parts are inside packages). */
const counts = (z: EnergyZone): boolean => z.kind === 'package' || z.kind === 'dram';

/** The engine. */
export class EnergyEngine implements EnergyAccounting {
  private zones: EnergyZone[] = [];
  private cpus: number[] = [];
  private range: FrequencyRange | undefined;
  private reader: IntervalReader | undefined;
  private readonly counters = new Map<string, EnergyCounter>();
  private readonly gaps = new Set<string>();
  private readonly floors = new Map<string, IdleFloor>();
  private readonly curves = new Map<string, WeightCalibration>();
  private readonly totals = new Map<string, ZoneTotals>();
  private readonly accounts = new Map<string, VmAccount>();
  private readonly marks = new Map<string, VmMarks>();
  private prevMs: number | undefined;
  private prevBusy: number[] | undefined;
  private prevFreq: Array<number | undefined> = [];
  private wall: WallSource | undefined;
  private sampledAt = 0;
  private readonly historyCapacity: number;

  constructor(
    private readonly deps: EngineDeps,
    private readonly opts: EngineOptions,
  ) {
    this.historyCapacity = Math.ceil(3_600_000 / opts.historyStepMs) + 2;
  }

  /** Surveys zones and topology and restores saved counters and floors. */
  async init(restored: LedgerData | undefined): Promise<void> {
    const { zones, cpus } = await surveyZones(this.deps.host);
    this.zones = zones;
    this.cpus = cpus;
    this.range = await readFrequencyRange(this.deps.host, cpus);
    this.reader?.close();
    this.reader = new IntervalReader(
      this.deps.host,
      zones.map((z) => z.id),
      cpus,
    );
    for (const z of zones) {
      this.counters.set(z.key, new EnergyCounter(z.maxEnergyRangeUj));
      this.floors.set(z.key, new IdleFloor(z.key, this.opts.idleFloorW[z.key], restored?.floors[z.key]));
      if (z.kind !== 'dram') this.curves.set(z.key, new WeightCalibration(this.opts.model));
      const t = restored?.zones[z.key];
      this.totals.set(
        z.key,
        t ? { ...t } : { totalJoules: 0, idleJoules: 0, hostJoules: 0, vmJoules: 0, unattributedJoules: 0 },
      );
    }
    for (const [uuid, saved] of Object.entries(restored?.vms ?? {})) {
      const a = this.account(uuid, saved.name);
      Object.assign(a.zones, saved.zones);
      a.raplJoules = this.raplOf(a.zones);
      a.wallJoules = saved.wallJoules;
      if (saved.novaInstanceId !== undefined) a.novaInstanceId = saved.novaInstanceId;
      if (saved.novaProjectId !== undefined) a.novaProjectId = saved.novaProjectId;
      a.running = false;
    }
  }

  /** Gives back the descriptors kept open for the per-interval reads. */
  close(): void {
    this.reader?.close();
    this.reader = undefined;
  }

  /** Zones found at init. */
  zoneList(): readonly EnergyZone[] {
    return this.zones;
  }

  private raplOf(zones: Readonly<Record<string, number>>): number {
    let sum = 0;
    for (const z of this.zones) if (counts(z)) sum += zones[z.key] ?? 0;
    return sum;
  }

  private account(uuid: string, name: string): VmAccount {
    let a = this.accounts.get(uuid);
    if (a === undefined) {
      a = {
        uuid,
        name,
        running: false,
        zones: {},
        raplJoules: 0,
        wallJoules: undefined,
        naiveJoules: 0,
        lastWatts: null,
        lastWallWatts: null,
        history: new HistoryRing(this.historyCapacity, this.opts.historyStepMs),
      };
      this.accounts.set(uuid, a);
    }
    return a;
  }

  /**
   * CPU time of a thread since the last sample (`prev`: its counter then, undefined when first
   * seen or the VM restarted). A counter seen for the first time counts only if the VM started
   * during the interval (then all of it is the interval's); a smaller counter is a restart.
   */
  private threadDelta(prev: number | undefined, cpuUs: number, startedAt: number, capUs: number): number {
    if (prev === undefined || cpuUs < prev) {
      const since = this.prevMs;
      return since !== undefined && startedAt >= since ? Math.min(cpuUs, capUs) : 0;
    }
    return cpuUs - prev;
  }

  private threadsOf(domains: readonly DomainInfo[], dtUs: number): ThreadInput[] {
    const threads: ThreadInput[] = [];
    for (const d of domains) {
      const a = this.account(d.uuid, d.name);
      a.name = d.name;
      a.running = true;
      if (d.metadata.nova !== undefined) {
        a.novaInstanceId = d.metadata.nova.instanceId;
        if (d.metadata.nova.projectId !== undefined) a.novaProjectId = d.metadata.nova.projectId;
      }
      let m = this.marks.get(d.uuid);
      if (m === undefined || m.startedAt !== d.startedAt) {
        m = { startedAt: d.startedAt, vcpus: [], emulator: undefined };
        this.marks.set(d.uuid, m);
      }
      for (const v of d.vcpus) {
        const deltaUs = this.threadDelta(m.vcpus[v.index], v.cpuTimeUs, d.startedAt, dtUs);
        m.vcpus[v.index] = v.cpuTimeUs;
        threads.push({ owner: d.uuid, deltaUs, pins: v.pins });
      }
      const emuCap = dtUs * Math.max(1, d.emulator.threadIds.length);
      const deltaUs = this.threadDelta(m.emulator, d.emulator.cpuTimeUs, d.startedAt, emuCap);
      m.emulator = d.emulator.cpuTimeUs;
      threads.push({ owner: d.uuid, deltaUs, pins: d.emulator.pins });
    }
    return threads;
  }

  /** Reads everything and accounts the interval since the previous sample. */
  async sample(): Promise<void> {
    const t = this.deps.now();
    const host = this.deps.host;
    const provider = this.deps.domains();
    const reader =
      this.reader ??
      new IntervalReader(
        host,
        this.zones.map((z) => z.id),
        this.cpus,
      );
    this.reader = reader;
    const [{ energyUj: raw, busy, freq }, domains] = await Promise.all([
      reader.read(),
      provider === undefined ? Promise.resolve([]) : provider.list().catch(() => undefined),
    ]);
    const prevMs = this.prevMs;
    const dtS = prevMs === undefined ? 0 : (t - prevMs) / 1000;
    const deltas = this.zones.map((z, i) => {
      const r = raw[i];
      if (r === undefined) {
        this.gaps.add(z.key);
        return undefined;
      }
      try {
        return (this.counters.get(z.key) as EnergyCounter).update(r, t).deltaJ;
      } catch {
        this.gaps.add(z.key);
        return undefined;
      }
    });
    const threads = domains === undefined ? [] : this.threadsOf(domains, dtS * 1e6);
    if (domains !== undefined) {
      const live = new Set(domains.map((d) => d.uuid));
      for (const a of this.accounts.values()) if (!live.has(a.uuid)) a.running = false;
    }
    if (prevMs !== undefined && dtS > 0) this.account_(t, dtS, deltas, busy, freq, threads, domains === undefined);
    this.prevMs = t;
    this.prevBusy = busy ?? this.prevBusy;
    this.prevFreq = freq;
    this.sampledAt = t;
  }

  private account_(
    t: number,
    dtS: number,
    deltas: ReadonlyArray<number | undefined>,
    busy: number[] | undefined,
    freq: ReadonlyArray<number | undefined>,
    threads: readonly ThreadInput[],
    domainsUnknown: boolean,
  ): void {
    const prevBusy = this.prevBusy;
    const known = busy !== undefined && prevBusy !== undefined && !domainsUnknown;
    const n = Math.max(0, ...this.cpus.map((c) => c + 1));
    const busyUs = new Array<number>(n).fill(0);
    const shape = new Array<number>(n).fill(1);
    for (const c of this.cpus) {
      if (known) busyUs[c] = Math.max(0, (busy[c] ?? 0) - (prevBusy[c] ?? 0));
      // The frequency read at the interval's end: the governor set it from the load that just ran.
      const f = freq[c] ?? this.prevFreq[c];
      shape[c] = dynamicShape(this.opts.model, this.range, f);
    }
    const weightsOf = new Map<string, number[]>();
    for (const [key, curve] of this.curves)
      weightsOf.set(
        key,
        shape.map((h) => curve.weight(h)),
      );
    const zoneInputs = this.zones.map((z, i) => {
      const gap = this.gaps.has(z.key);
      if (deltas[i] !== undefined) this.gaps.delete(z.key);
      return {
        key: z.key,
        cpus: z.cpus,
        weights: weightsOf.get(z.key),
        deltaJ: deltas[i],
        spansGap: gap || !known,
        floorW: this.floors.get(z.key)?.watts ?? 0,
      };
    });
    const splits = splitInterval({ dtS, busyUs, threads, zones: zoneInputs });
    const raplDelta = new Map<string, number>();
    let raplW = 0;
    splits.forEach((s, i) => {
      const z = this.zones[i] as EnergyZone;
      const tot = this.totals.get(z.key) as ZoneTotals;
      let vmSum = 0;
      for (const [uuid, j] of s.vmJ) {
        const a = this.accounts.get(uuid);
        if (a === undefined) continue;
        a.zones[z.key] = (a.zones[z.key] ?? 0) + j;
        vmSum += j;
        if (counts(z)) raplDelta.set(uuid, (raplDelta.get(uuid) ?? 0) + j);
      }
      if (counts(z)) {
        raplW += s.totalJ / dtS;
        for (const [uuid, j] of s.naiveVmJ) {
          const a = this.accounts.get(uuid);
          if (a !== undefined) a.naiveJoules += j;
        }
      }
      tot.totalJoules += s.totalJ;
      tot.idleJoules += s.idleJ;
      tot.hostJoules += s.hostJ;
      tot.vmJoules += vmSum;
      tot.unattributedJoules += s.unattributedJ;
      if (known && deltas[i] !== undefined && zoneInputs[i]?.spansGap === false) {
        let zoneBusy = 0;
        let busyShape = 0;
        let weighted = 0;
        const s0 = this.opts.model.staticShare;
        for (const c of z.cpus) {
          const b = busyUs[c] ?? 0;
          zoneBusy += b;
          busyShape += b * (shape[c] ?? 1);
          // The prior's weights: a fixed scale for the floor's own fit.
          weighted += b * (z.kind === 'dram' ? 1 : s0 + (1 - s0) * (shape[c] ?? 1));
        }
        const us = dtS * 1e6;
        const floor = this.floors.get(z.key);
        // The curve learns from the floor in force, before this interval moves it.
        this.curves.get(z.key)?.observe(s.totalJ / dtS - (floor?.watts ?? 0), zoneBusy / us, busyShape / us);
        floor?.observe(s.totalJ / dtS, zoneBusy / (Math.max(1, z.cpus.length) * us), weighted / us);
      }
    });
    const factor = this.wallFactor(t, raplW);
    for (const a of this.accounts.values()) {
      const dj = raplDelta.get(a.uuid) ?? 0;
      a.raplJoules += dj;
      a.lastWatts = a.running ? dj / dtS : null;
      if (factor !== undefined) {
        a.wallJoules = (a.wallJoules ?? 0) + dj * factor;
        a.lastWallWatts = a.running ? (dj * factor) / dtS : null;
      } else a.lastWallWatts = null;
      a.history.push(t, a.raplJoules);
    }
  }

  /** Wall ÷ RAPL for the interval, when a fresh wall reading exists; updates the wall source. */
  private wallFactor(t: number, raplW: number): number | undefined {
    const id = this.opts.wallMetric;
    if (id === undefined) return undefined;
    const r = this.deps.latest(id);
    const fresh =
      r !== undefined && r.value !== null && r.status !== 'unavailable' && t - r.timestamp <= this.opts.wallMaxAgeMs;
    const watts = fresh ? r.value : null;
    this.wall = { origin: id, watts, divergenceWatts: watts === null ? null : watts - raplW };
    return watts === null || !(raplW > 0) ? undefined : watts / raplW;
  }

  /** Kepler's split beside vpmd's for each VM, J (tests, bench and docs compare them). */
  comparison(): Array<{ uuid: string; name: string; joules: number; naiveJoules: number }> {
    return [...this.accounts.values()].map((a) => ({
      uuid: a.uuid,
      name: a.name,
      joules: a.raplJoules,
      naiveJoules: a.naiveJoules,
    }));
  }

  /** What to persist. */
  snapshot(): LedgerData {
    const vms: LedgerData['vms'] = {};
    for (const a of this.accounts.values()) {
      vms[a.uuid] = {
        name: a.name,
        zones: { ...a.zones },
        ...(a.novaInstanceId === undefined ? {} : { novaInstanceId: a.novaInstanceId }),
        ...(a.novaProjectId === undefined ? {} : { novaProjectId: a.novaProjectId }),
        ...(a.wallJoules === undefined ? {} : { wallJoules: a.wallJoules }),
      };
    }
    const floors: LedgerData['floors'] = {};
    for (const [k, f] of this.floors) {
      const c = f.current;
      if (c !== undefined) floors[k] = c;
    }
    return { vms, zones: Object.fromEntries([...this.totals].map(([k, v]) => [k, { ...v }])), floors };
  }

  private figure(a: VmAccount): VmEnergy {
    return {
      uuid: a.uuid,
      name: a.name,
      ...(a.novaInstanceId === undefined ? {} : { novaInstanceId: a.novaInstanceId }),
      ...(a.novaProjectId === undefined ? {} : { novaProjectId: a.novaProjectId }),
      running: a.running,
      rapl: { joules: a.raplJoules, watts: a.lastWatts, source: 'rapl', model: RAPL_MODEL, origin: 'host/rapl' },
      zones: { ...a.zones },
      ...(a.wallJoules === undefined || this.opts.wallMetric === undefined
        ? {}
        : {
            wall: {
              joules: a.wallJoules,
              watts: a.lastWallWatts,
              source: 'wall' as const,
              model: WALL_MODEL,
              origin: this.opts.wallMetric,
            },
          }),
    };
  }

  /** @inheritDoc */
  vms(): readonly VmEnergy[] {
    return [...this.accounts.values()].sort((a, b) => a.uuid.localeCompare(b.uuid)).map((a) => this.figure(a));
  }

  /** @inheritDoc */
  vm(uuidOrName: string): VmEnergy | undefined {
    const a =
      this.accounts.get(uuidOrName.toLowerCase()) ??
      [...this.accounts.values()].find((x) => x.name === uuidOrName && x.running) ??
      [...this.accounts.values()].find((x) => x.name === uuidOrName);
    return a === undefined ? undefined : this.figure(a);
  }

  /** @inheritDoc */
  host(): HostEnergy {
    return {
      zones: this.zones.map((z) => ({ zone: z.key, ...(this.totals.get(z.key) as ZoneTotals) })),
      idleFloor: Object.fromEntries([...this.floors].map(([k, f]) => [k, { watts: f.watts, method: f.describe() }])),
      ...(this.wall === undefined ? {} : { wall: this.wall }),
      sampledAt: this.sampledAt,
      intervalMs: this.opts.intervalMs,
    };
  }

  /** @inheritDoc */
  history(uuid: string, sinceMs: number): readonly EnergyPoint[] {
    return this.accounts.get(uuid.toLowerCase())?.history.since(sinceMs) ?? [];
  }
}
