/**
 * Reading the SDR repository (Get SDR Repository Info, Reserve, chunked Get SDR with 0xCA
 * "fewer bytes" and 0xC5 "reservation lost" handling) and caching it by the repository's
 * add/erase timestamps. Only read commands are sent: nothing here writes to the BMC.
 */
import { VpmdError } from '../../../core/index.js';
import type { IpmiSession } from '../session/session.js';
import { commandError } from '../session/session.js';
import { convertReading, parseSensorRecord, type RawThresholds, type SensorRecord } from './sdr-record.js';

const NETFN_STORAGE = 0x0a;
const NETFN_SENSOR = 0x04;

/** Get SDR Repository Info. */
export interface RepositoryInfo {
  readonly version: number;
  readonly count: number;
  readonly addTimestamp: number;
  readonly eraseTimestamp: number;
}

/** A cached repository: its key and parsed sensor records with their thresholds. */
export interface SdrCache {
  /** `count:add:erase`: changes whenever a record is added or the repository erased. */
  readonly key: string;
  readonly sensors: readonly CachedSensor[];
}

/** A sensor record plus thresholds read from the BMC (Get Sensor Thresholds) when it has them. */
export interface CachedSensor {
  readonly record: SensorRecord;
  readonly thresholds: RawThresholds;
}

/** Reads Get SDR Repository Info. */
export async function repositoryInfo(s: IpmiSession): Promise<RepositoryInfo> {
  const d = await s.call(NETFN_STORAGE, 0x20);
  if (d.length < 13) throw new VpmdError('E_IPMI_PROTOCOL', `SDR repository info of ${d.length} bytes is too short`, { target: s.target.name });
  return { version: d[0] ?? 0, count: d.readUInt16LE(1), addTimestamp: d.readUInt32LE(5), eraseTimestamp: d.readUInt32LE(9) };
}

/** Cache key of a repository. */
export function cacheKey(info: RepositoryInfo): string {
  return `${info.count}:${info.addTimestamp}:${info.eraseTimestamp}`;
}

async function reserve(s: IpmiSession): Promise<number> {
  const d = await s.call(NETFN_STORAGE, 0x22);
  return d.readUInt16LE(0);
}

/** Reads every record's raw bytes. `chunk` is the first body chunk size tried. */
export async function readRecords(s: IpmiSession, expected: number, chunk = 32): Promise<Buffer[]> {
  const records: Buffer[] = [];
  let reservation = await reserve(s);
  let id = 0;
  let size = chunk;
  const seen = new Set<number>();
  const limit = Math.max(expected, 0) + 64;
  while (id !== 0xffff) {
    if (seen.has(id) || records.length > limit) throw new VpmdError('E_IPMI_PROTOCOL', `SDR repository of ${s.target.name} loops at record ${id}`, { target: s.target.name, record: id });
    seen.add(id);
    let lost = 0;
    for (;;) {
      try {
        const { next, record, size: used } = await readRecord(s, reservation, id, size);
        size = used;
        records.push(record);
        id = next;
        break;
      } catch (e) {
        if (e instanceof VpmdError && e.code === 'E_IPMI_COMMAND' && e.details.completionCode === 0xc5 && lost++ < 5) {
          reservation = await reserve(s); // someone changed the repository or reserved it: start the record again
          continue;
        }
        throw e;
      }
    }
  }
  return records;
}

async function getSdr(s: IpmiSession, reservation: number, id: number, offset: number, count: number): Promise<{ cc: number; data: Buffer }> {
  const r = await s.request(NETFN_STORAGE, 0x23, [reservation & 0xff, reservation >> 8, id & 0xff, id >> 8, offset, count]);
  return { cc: r.cc, data: r.data };
}

async function readRecord(s: IpmiSession, reservation: number, id: number, size: number): Promise<{ next: number; record: Buffer; size: number }> {
  const head = await getSdr(s, reservation, id, 0, 5);
  if (head.cc !== 0) throw commandError(s.target.name, NETFN_STORAGE, 0x23, head.cc);
  if (head.data.length < 7) throw new VpmdError('E_IPMI_PROTOCOL', `SDR ${id} header is truncated`, { target: s.target.name, record: id });
  const next = head.data.readUInt16LE(0);
  const header = head.data.subarray(2, 7);
  const length = header[4] ?? 0;
  const parts: Buffer[] = [header];
  let offset = 5;
  while (offset < 5 + length) {
    const want = Math.min(size, 5 + length - offset);
    const r = await getSdr(s, reservation, id, offset, want);
    if (r.cc === 0xca || r.cc === 0xc7 || r.cc === 0xc8) {
      if (size <= 4) throw commandError(s.target.name, NETFN_STORAGE, 0x23, r.cc);
      size = Math.max(4, size >> 1); // the BMC cannot return that many bytes: ask for fewer
      continue;
    }
    if (r.cc !== 0) throw commandError(s.target.name, NETFN_STORAGE, 0x23, r.cc);
    const got = r.data.subarray(2);
    if (got.length === 0) throw new VpmdError('E_IPMI_PROTOCOL', `SDR ${id} read returned no data at offset ${offset}`, { target: s.target.name, record: id });
    parts.push(got);
    offset += got.length;
  }
  return { next, record: Buffer.concat(parts).subarray(0, 5 + length), size };
}

/** Get Sensor Thresholds: raw bytes of the readable thresholds, or undefined when refused. */
async function sensorThresholds(s: IpmiSession, rec: SensorRecord): Promise<RawThresholds | undefined> {
  const r = await s.request(NETFN_SENSOR, 0x27, [rec.number], rec.ownerLun);
  if (r.cc !== 0 || r.data.length < 7) return undefined;
  const mask = r.data[0] ?? 0;
  const names = ['lnc', 'lc', 'lnr', 'unc', 'uc', 'unr'] as const;
  const out: RawThresholds = {};
  names.forEach((n, i) => {
    if (mask & (1 << i)) out[n] = r.data[i + 1] ?? 0;
  });
  return out;
}

/**
 * The repository's sensors, from `cached` when its key still matches (one round trip),
 * otherwise read in full. Records owned by another controller than the BMC are skipped (they
 * would need IPMB bridging).
 */
export async function loadSensors(s: IpmiSession, cached: SdrCache | undefined): Promise<{ cache: SdrCache; fromCache: boolean }> {
  const info = await repositoryInfo(s);
  const key = cacheKey(info);
  if (cached !== undefined && cached.key === key) return { cache: cached, fromCache: true };
  const raw = await readRecords(s, info.count);
  const sensors: CachedSensor[] = [];
  for (const bytes of raw) {
    const record = parseSensorRecord(bytes);
    if (record === undefined || record.ownerId !== 0x20) continue;
    const thresholds = record.eventReadingType === 0x01 && record.conversion !== undefined ? ((await sensorThresholds(s, record)) ?? record.thresholds) : record.thresholds;
    sensors.push({ record, thresholds });
  }
  return { cache: { key, sensors }, fromCache: false };
}

/** Converts raw thresholds with the record's conversion. */
export function convertThresholds(rec: SensorRecord, t: RawThresholds): Partial<Record<keyof RawThresholds, number>> {
  const out: Partial<Record<keyof RawThresholds, number>> = {};
  if (rec.conversion === undefined) return out;
  for (const [k, v] of Object.entries(t) as [keyof RawThresholds, number | undefined][]) {
    if (v === undefined) continue;
    const c = convertReading(v, rec.conversion);
    if (c !== null) out[k] = c;
  }
  return out;
}
