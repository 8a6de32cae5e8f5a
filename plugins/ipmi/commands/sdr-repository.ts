/**
 * Reading the SDR repository (Get SDR Repository Info, Reserve, chunked Get SDR with 0xCA
 * "fewer bytes" and 0xC5 "reservation lost" handling) and caching it by the repository's
 * add/erase timestamps. Only read commands are sent: nothing here writes to the BMC.
 */
import { VpmdError } from 'vpmd';
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
  /** Each sensor's record as read from the BMC, index for index (what is kept on disk). */
  readonly raw: readonly Buffer[];
}

/** What reading the repository cost: checks of its timestamps, full reads, Get SDR requests. */
export interface SdrCounters {
  checks: number;
  fullReads: number;
  getSdr: number;
}

/** A sensor record plus thresholds read from the BMC (Get Sensor Thresholds) when it has them. */
export interface CachedSensor {
  readonly record: SensorRecord;
  readonly thresholds: RawThresholds;
}

/** Reads Get SDR Repository Info. */
export async function repositoryInfo(s: IpmiSession): Promise<RepositoryInfo> {
  const d = await s.call(NETFN_STORAGE, 0x20);
  if (d.length < 13)
    throw new VpmdError('E_IPMI_PROTOCOL', `SDR repository info of ${d.length} bytes is too short`, {
      target: s.target.name,
    });
  return {
    version: d[0] ?? 0,
    count: d.readUInt16LE(1),
    addTimestamp: d.readUInt32LE(5),
    eraseTimestamp: d.readUInt32LE(9),
  };
}

/** Cache key of a repository. */
export function cacheKey(info: RepositoryInfo): string {
  return `${info.count}:${info.addTimestamp}:${info.eraseTimestamp}`;
}

const LOST = 0xc5;
/** Bytes of a record header: id, version, type, length. */
const HEADER = 5;
const TOO_MANY_BYTES = new Set([0xca, 0xc7, 0xc8]);

/**
 * Reads records of one repository with one reservation shared by the reads in flight. When the
 * BMC cancels it (0xC5: someone changed or reserved the repository), the first read to notice
 * reserves again and the others reuse that. 0xCA ("cannot return that many bytes") halves the
 * chunk size for every later read.
 */
class RepositoryReader {
  private reservation: Promise<number>;
  /** The reservation once granted; undefined while a Reserve is under way. */
  private granted: number | undefined;

  constructor(
    private readonly s: IpmiSession,
    private size: number,
    private readonly counters: SdrCounters | undefined,
  ) {
    this.reservation = this.reserve();
  }

  private reserve(): Promise<number> {
    this.granted = undefined;
    const r = this.s.call(NETFN_STORAGE, 0x22).then((d) => (this.granted = d.readUInt16LE(0)));
    // Awaited by the reads; a Reserve sent ahead of them (see loadSensors) may have none if the
    // repository info failed meanwhile, and its failure must not go unhandled.
    r.catch(() => undefined);
    return r;
  }

  /** One Get SDR read (at most 5 reservations lost); returns next record id, then the bytes. */
  async part(id: number, offset: number, count: number): Promise<Buffer> {
    for (let lost = 0; ; lost++) {
      const res = await this.reservation;
      if (this.counters !== undefined) this.counters.getSdr++;
      const r = await this.s.request(NETFN_STORAGE, 0x23, [res & 0xff, res >> 8, id & 0xff, id >> 8, offset, count]);
      if (r.cc === 0) return r.data;
      if (r.cc === LOST && lost < 5) {
        // Checked at once: the reads in flight fail together and must share one new reservation.
        if (this.granted === res) this.reservation = this.reserve();
        continue;
      }
      throw commandError(this.s.target.name, NETFN_STORAGE, 0x23, r.cc);
    }
  }

  /**
   * The first read of record `id`: `size` bytes from offset 0 (at least the 5-byte header), so a
   * record that fits is read in one request, as FreeIPMI's whole-record read does. A BMC clips a
   * read at the record's end; one that refuses the size (0xCA) gets a smaller one, down to the
   * header alone. Returns the next record id, then the bytes.
   */
  async first(id: number): Promise<Buffer> {
    for (;;) {
      const count = Math.max(HEADER, this.size);
      try {
        return await this.part(id, 0, count);
      } catch (e) {
        const cc = e instanceof VpmdError ? e.details.completionCode : undefined;
        if (typeof cc !== 'number' || !TOO_MANY_BYTES.has(cc) || count <= HEADER) throw e;
        this.size = Math.min(this.size, Math.max(HEADER, count >> 1));
      }
    }
  }

  /** The whole record from its first `start` bytes (header included): the rest read in chunks at once. */
  async body(id: number, start: Buffer): Promise<Buffer> {
    const total = HEADER + (start[4] ?? 0);
    // Some BMCs return more than the record (FreeIPMI notes the HP DL585G7): the length byte rules.
    if (start.length >= total) return Buffer.from(start.subarray(0, total));
    const out = Buffer.alloc(total);
    start.copy(out, 0);
    const chunks: Array<Promise<void>> = [];
    for (let offset = start.length; offset < total; offset += this.size)
      chunks.push(this.chunk(id, out, offset, Math.min(this.size, total - offset)));
    await Promise.all(chunks);
    return out;
  }

  /** Fills `out[offset .. offset+want]`, in smaller reads after 0xCA. */
  private async chunk(id: number, out: Buffer, offset: number, want: number): Promise<void> {
    const end = offset + want;
    while (offset < end) {
      const count = Math.min(this.size, end - offset);
      let data: Buffer;
      try {
        data = await this.part(id, offset, count);
      } catch (e) {
        const cc = e instanceof VpmdError ? e.details.completionCode : undefined;
        if (typeof cc !== 'number' || !TOO_MANY_BYTES.has(cc) || count <= 4) throw e;
        this.size = Math.min(this.size, Math.max(4, count >> 1));
        continue;
      }
      const got = data.subarray(2, 2 + Math.min(count, end - offset));
      if (got.length === 0)
        throw new VpmdError('E_IPMI_PROTOCOL', `SDR ${id} read returned no data at offset ${offset}`, {
          target: this.s.target.name,
          record: id,
        });
      got.copy(out, offset);
      offset += got.length;
    }
  }
}

/**
 * Reads every record's raw bytes. The chain of records is walked one after another (each first
 * read names the next record and brings the header and as much of the body as `chunk` allows)
 * while the rest of each body is read in parallel chunks, so a repository costs about one round
 * trip per record, and records up to `chunk` bytes one request each. `chunk` is the first read
 * size tried.
 */
export function readRecords(s: IpmiSession, expected: number, chunk = 32, counters?: SdrCounters): Promise<Buffer[]> {
  return walkRecords(s, new RepositoryReader(s, chunk, counters), expected);
}

/** {@link readRecords} with `reader`; `onRecord` sees each record's body as soon as its read starts. */
async function walkRecords(
  s: IpmiSession,
  reader: RepositoryReader,
  expected: number,
  onRecord?: (body: Promise<Buffer>) => void,
): Promise<Buffer[]> {
  const records: Array<Promise<Buffer>> = [];
  let id = 0;
  const seen = new Set<number>();
  const limit = Math.max(expected, 0) + 64;
  while (id !== 0xffff) {
    if (seen.has(id) || records.length > limit)
      throw new VpmdError('E_IPMI_PROTOCOL', `SDR repository of ${s.target.name} loops at record ${id}`, {
        target: s.target.name,
        record: id,
      });
    seen.add(id);
    const head = await reader.first(id);
    if (head.length < 2 + HEADER)
      throw new VpmdError('E_IPMI_PROTOCOL', `SDR ${id} header is truncated`, { target: s.target.name, record: id });
    const body = reader.body(id, head.subarray(2));
    body.catch(() => undefined); // awaited below with the others; a failure must not go unhandled meanwhile
    records.push(body);
    onRecord?.(body);
    id = head.readUInt16LE(0);
  }
  return Promise.all(records);
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
 *
 * Fewer round trips when nothing is cached (a cold poll), with the same requests: Reserve SDR
 * Repository goes out with Get SDR Repository Info (a full read follows whatever it says), and
 * each analog sensor's Get Sensor Thresholds goes out as soon as its record is read, alongside
 * the next header, rather than after the whole walk. Each saved round trip is one wake-up less
 * of the BMC and of the agent, which is what a cold sweep of 1,000 BMCs spends its CPU on.
 */
export async function loadSensors(
  s: IpmiSession,
  cached: SdrCache | undefined,
  counters?: SdrCounters,
): Promise<{ cache: SdrCache; fromCache: boolean }> {
  const early = cached === undefined ? new RepositoryReader(s, 32, counters) : undefined;
  const info = await repositoryInfo(s);
  if (counters !== undefined) counters.checks++;
  const key = cacheKey(info);
  if (cached !== undefined && cached.key === key) return { cache: cached, fromCache: true };
  if (counters !== undefined) counters.fullReads++;
  const read: Array<Promise<{ bytes: Buffer; sensor: CachedSensor } | undefined>> = [];
  await walkRecords(s, early ?? new RepositoryReader(s, 32, counters), info.count, (body) => {
    const sensor = body.then(async (bytes) => {
      const record = parseSensorRecord(bytes);
      if (record === undefined || record.ownerId !== 0x20) return undefined;
      const analog = record.eventReadingType === 0x01 && record.conversion !== undefined;
      const thresholds = analog ? ((await sensorThresholds(s, record)) ?? record.thresholds) : record.thresholds;
      return { bytes, sensor: { record, thresholds } };
    });
    sensor.catch(() => undefined); // awaited below; the walk may fail first
    read.push(sensor);
  });
  const raw: Buffer[] = [];
  const sensors: CachedSensor[] = [];
  for (const r of await Promise.all(read)) {
    if (r === undefined) continue;
    raw.push(r.bytes);
    sensors.push(r.sensor);
  }
  return { cache: { key, sensors, raw }, fromCache: false };
}

/** A cache from records' raw bytes and their thresholds (as read, or as kept on disk); unparsable records are left out. */
export function restoreCache(key: string, raw: readonly Buffer[], thresholds: readonly RawThresholds[]): SdrCache {
  const sensors: CachedSensor[] = [];
  const kept: Buffer[] = [];
  raw.forEach((bytes, i) => {
    const record = parseSensorRecord(bytes);
    if (record === undefined) return;
    sensors.push({ record, thresholds: thresholds[i] ?? record.thresholds });
    kept.push(bytes);
  });
  return { key, sensors, raw: kept };
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
