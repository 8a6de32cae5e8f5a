/**
 * The physical entities we serve (ENTITY-MIB entPhysicalTable) and their sensors
 * (ENTITY-SENSOR-MIB entPhySensorTable). entPhysicalIndex values are allocated once and
 * persisted, as RFC 6933 asks: a sensor keeps its index across restarts and re-orderings.
 * Index 1 is the host chassis; CPUs are 1000 + cpu; targets (BMCs, PDUs) and sensors get
 * indexes from the persisted allocation (targets from 100, sensors from 10000).
 */
import { Type, type MetricKind, type MetricSnapshot, type StateStore } from 'vpmd';
import { V, type SnmpValue } from '../../codec/pdu.js';
import type { MibEntry, MibSource } from '../mib-index.js';

const Alloc = Type.Object({ indexes: Type.Record(Type.String(), Type.Integer({ minimum: 1 })) });
const ALLOC_SPEC = { version: 1, schema: Alloc } as const;

/** ENTITY-MIB entPhysicalEntry. */
export const ENT_PHYSICAL_ENTRY = [1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
/** ENTITY-SENSOR-MIB entPhySensorEntry. */
export const ENT_SENSOR_ENTRY = [1, 3, 6, 1, 2, 1, 99, 1, 1, 1];
/** entPhysicalIndex of the host chassis. */
export const HOST_INDEX = 1;
/** entPhysicalIndex of CPU n is this plus n. */
export const CPU_INDEX_BASE = 1000;

/** entPhysicalClass values. */
export const ENT_CLASS = { other: 1, chassis: 3, powerSupply: 6, fan: 7, sensor: 8, module: 9, cpu: 12 } as const;

/** A physical entity row. */
export interface PhysicalEntity {
  readonly index: number;
  readonly descr: string;
  readonly containedIn: number;
  readonly cls: number;
  readonly name: string;
  readonly relPos: number;
  readonly mfgName?: string;
  readonly modelName?: string;
}

/** How a metric kind is served in entPhySensorTable: type, scale (9 = units), precision. */
export function sensorEncoding(
  kind: MetricKind,
  unit: string,
): { type: number; scale: number; precision: number; units: string } {
  switch (kind) {
    case 'power':
      return { type: 6, scale: 9, precision: 1, units: 'W' };
    case 'temperature':
      return { type: 8, scale: 9, precision: 1, units: 'C' };
    case 'fan':
      return { type: 10, scale: 9, precision: 0, units: 'RPM' };
    case 'voltage':
      return { type: 4, scale: 9, precision: 3, units: 'V' };
    case 'current':
      return { type: 5, scale: 9, precision: 3, units: 'A' };
    case 'frequency':
      return { type: 7, scale: 11, precision: 0, units: 'MHz' }; // mega: GHz values overflow Integer32 in Hz
    case 'energy':
      return { type: 1, scale: 10, precision: 3, units: 'kJ' };
    default:
      return { type: 1, scale: 9, precision: 2, units: unit === 'unspecified' ? '' : unit };
  }
}

/** The entPhySensorValue of a reading: value / 10^(3*(scale-9)) * 10^precision, clamped to ±1e9. */
export function sensorValue(value: number, scale: number, precision: number): number {
  const v = Math.round((value / 10 ** (3 * (scale - 9))) * 10 ** precision);
  return Math.max(-1e9, Math.min(1e9, v));
}

/** Persisted entPhysicalIndex allocation. */
export class EntityIndexes {
  private indexes: Record<string, number> = {};
  private used = new Set<number>();
  private nextFree = { target: 100, metric: 10000 };
  private dirty = false;

  constructor(private readonly state: StateStore) {}

  /** Loads the allocation. */
  async load(): Promise<void> {
    this.indexes = { ...((await this.state.read('entities', ALLOC_SPEC))?.indexes ?? {}) };
    this.used = new Set(Object.values(this.indexes));
  }

  /** The index for `key` (`metric:ID` or `target:NAME`), allocating a new one when unseen. */
  indexOf(key: string): number {
    const known = this.indexes[key];
    if (known !== undefined) return known;
    const kind = key.startsWith('target:') ? 'target' : 'metric';
    let i = this.nextFree[kind];
    while (this.used.has(i)) i++;
    this.nextFree[kind] = i + 1;
    this.used.add(i);
    this.indexes[key] = i;
    this.dirty = true;
    return i;
  }

  /** Writes new allocations (called after each index build; a no-op when nothing changed). */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await this.state.write('entities', ALLOC_SPEC, { indexes: { ...this.indexes } });
  }
}

/** What the entity sources read. */
export interface EntityInputs {
  readonly hostName: string;
  readonly cpus: () => Promise<readonly { cpu: number; model: string }[]>;
  readonly metrics: () => readonly MetricSnapshot[];
  /** Names of the BMCs and PDUs we poll (entities of class chassis). */
  readonly targets: () => readonly { name: string; descr: string }[];
  readonly indexes: EntityIndexes;
  /** TimeTicks since the agent started, for a reading's timestamp. */
  readonly ticksAt: (ms: number) => number;
}

/** Every entity row, in index order. */
export async function physicalEntities(inp: EntityInputs): Promise<PhysicalEntity[]> {
  const rows: PhysicalEntity[] = [
    {
      index: HOST_INDEX,
      descr: `KVM host ${inp.hostName}`,
      containedIn: 0,
      cls: ENT_CLASS.chassis,
      name: inp.hostName,
      relPos: -1,
    },
  ];
  for (const c of await inp.cpus()) {
    rows.push({
      index: CPU_INDEX_BASE + c.cpu,
      descr: c.model,
      containedIn: HOST_INDEX,
      cls: ENT_CLASS.cpu,
      name: `cpu${c.cpu}`,
      relPos: c.cpu,
    });
  }
  const targetIndex = new Map<string, number>([['host', HOST_INDEX]]);
  for (const t of inp.targets()) {
    const index = inp.indexes.indexOf(`target:${t.name}`);
    targetIndex.set(t.name, index);
    rows.push({ index, descr: t.descr, containedIn: 0, cls: ENT_CLASS.chassis, name: t.name, relPos: -1 });
  }
  for (const m of inp.metrics()) {
    const index = inp.indexes.indexOf(`metric:${m.id}`);
    const parent = targetIndex.get(m.source.target) ?? HOST_INDEX;
    rows.push({
      index,
      descr: m.name,
      containedIn: parent,
      cls: /psu|power supply/i.test(m.name) ? ENT_CLASS.powerSupply : ENT_CLASS.sensor,
      name: m.id,
      relPos: -1,
    });
  }
  return rows;
}

/** ENTITY-MIB entPhysicalTable. */
export function entPhysicalSource(inp: EntityInputs): MibSource {
  const col = (n: number): number[] => [...ENT_PHYSICAL_ENTRY, n];
  return {
    name: 'ENTITY-MIB',
    objects: [2, 3, 4, 5, 6, 7, 11, 12, 13, 16].map(col),
    async entries(): Promise<MibEntry[]> {
      const rows = (await physicalEntities(inp)).sort((a, b) => a.index - b.index);
      await inp.indexes.flush();
      // Column by column, rows in index order: the index build then sorts an already sorted list.
      const columns: [number, (r: PhysicalEntity) => SnmpValue][] = [
        [2, (r) => V.str(r.descr)],
        [3, () => V.oid([0, 0])],
        [4, (r) => V.int(r.containedIn)],
        [5, (r) => V.int(r.cls)],
        [6, (r) => V.int(r.relPos)],
        [7, (r) => V.str(r.name)],
        [11, () => V.str('')],
        [12, (r) => V.str(r.mfgName ?? '')],
        [13, (r) => V.str(r.modelName ?? '')],
        [16, () => V.int(2)],
      ];
      const out: MibEntry[] = [];
      for (const [n, f] of columns) for (const r of rows) out.push({ oid: [...col(n), r.index], value: f(r) });
      return out;
    },
  };
}

/** ENTITY-SENSOR-MIB entPhySensorTable: one row per telemetry metric. */
export function entSensorSource(inp: EntityInputs): MibSource {
  const col = (n: number): number[] => [...ENT_SENSOR_ENTRY, n];
  return {
    name: 'ENTITY-SENSOR-MIB',
    objects: [1, 2, 3, 4, 5, 6, 7, 8].map(col),
    entries(): MibEntry[] {
      const rows = inp.metrics().map((m) => {
        const enc = sensorEncoding(m.kind, m.unit);
        const r = m.latest;
        const ok = r !== undefined && r.value !== null && r.status !== 'unavailable';
        return {
          i: inp.indexes.indexOf(`metric:${m.id}`),
          enc,
          r,
          ok,
          value: ok && r?.value != null ? sensorValue(r.value, enc.scale, enc.precision) : 0,
        };
      });
      rows.sort((a, b) => a.i - b.i);
      type Row = (typeof rows)[number];
      const columns: [number, (x: Row) => SnmpValue][] = [
        [1, (x) => V.int(x.enc.type)],
        [2, (x) => V.int(x.enc.scale)],
        [3, (x) => V.int(x.enc.precision)],
        [4, (x) => V.int(x.value)],
        [5, (x) => V.int(x.ok ? 1 : 2)],
        [6, (x) => V.str(x.enc.units)],
        [7, (x) => V.ticks(x.r ? inp.ticksAt(x.r.timestamp) : 0)],
        [8, () => V.gauge(0)],
      ];
      const out: MibEntry[] = [];
      for (const [n, f] of columns) for (const x of rows) out.push({ oid: [...col(n), x.i], value: f(x) });
      return out;
    },
  };
}
