/**
 * Reading the SDR repository (Get SDR Repository Info, Reserve, chunked Get SDR with 0xCA
 * "fewer bytes" and 0xC5 "reservation lost" handling) and caching it by the repository's
 * add/erase timestamps. Only read commands are sent: nothing here writes to the BMC.
 */
import { VpmdError } from 'vpmd';
import type { IpmiResponse } from '../codec/message.js';
import type { IpmiSession } from '../session/session.js';
import { commandError } from '../session/session.js';
import {
  convertReading,
  parseSensorRecord,
  previewSensorKey,
  type RawThresholds,
  type SensorKey,
  type SensorRecord,
} from './sdr-record.js';

/** What addresses a sensor's own requests. */
type SensorAddress = Pick<SensorKey, 'number' | 'ownerLun'>;

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
  /** False once the BMC refused a read at offset 0 without a reservation (0000h). */
  private zeroReservation = true;

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

  /**
   * One Get SDR read (at most 5 reservations lost); returns next record id, then the bytes. A
   * read at offset 0 goes out at once with reservation 0000h (IPMI 2.0 section 33.12: a
   * reservation is required only for partial reads at a non-zero offset; ipmi_sim and FreeIPMI's
   * own first read agree); a BMC that refuses it (0xC5) gets the reservation from then on.
   */
  async part(id: number, offset: number, count: number): Promise<Buffer> {
    for (let lost = 0; ; lost++) {
      const zero = offset === 0 && lost === 0 && this.zeroReservation;
      // A granted reservation is used as it is: awaiting its settled promise costs a microtask per read.
      const res = zero ? 0 : (this.granted ?? (await this.reservation));
      if (this.counters !== undefined) this.counters.getSdr++;
      const r = await this.s.request(NETFN_STORAGE, 0x23, [res & 0xff, res >> 8, id & 0xff, id >> 8, offset, count]);
      if (r.cc === 0) return r.data;
      if (zero && r.cc === LOST) {
        this.zeroReservation = false;
        continue;
      }
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
 * size tried. When the first record names the id after its own as the next one (ids numbered in
 * order, as ipmi_sim and many BMCs number them), the first reads of the other `expected - 1`
 * records go out at once, ahead of the walk; the walk still follows the chain and uses a read
 * ahead only for the id the chain names, so a repository numbered otherwise costs at most those
 * `expected - 2` requests more, never a wrong record.
 */
export function readRecords(s: IpmiSession, expected: number, chunk = 32, counters?: SdrCounters): Promise<Buffer[]> {
  return walkRecords(s, new RepositoryReader(s, chunk, counters), expected);
}

/**
 * {@link readRecords} with `reader`; `onRecord` sees each record's first bytes and its body as
 * soon as the body's read starts.
 */
async function walkRecords(
  s: IpmiSession,
  reader: RepositoryReader,
  expected: number,
  onRecord?: (start: Buffer, body: Promise<Buffer>) => void,
  firstHead?: Promise<Buffer>,
): Promise<Buffer[]> {
  const records: Array<Promise<Buffer>> = [];
  let id = 0;
  const seen = new Set<number>();
  const limit = Math.max(expected, 0) + 64;
  /** First reads sent ahead of the walk, by record id. */
  const ahead = new Map<number, Promise<Buffer>>(firstHead === undefined ? [] : [[0, firstHead]]);
  while (id !== 0xffff) {
    if (seen.has(id) || records.length > limit)
      throw new VpmdError('E_IPMI_PROTOCOL', `SDR repository of ${s.target.name} loops at record ${id}`, {
        target: s.target.name,
        record: id,
      });
    seen.add(id);
    const early = ahead.get(id);
    ahead.delete(id);
    // A read ahead that failed is read again in the walk: its error may have been a reservation
    // the walk's own reads would renew, or an id the BMC does not have.
    const head = await (early === undefined ? reader.first(id) : early.catch(() => reader.first(id)));
    if (head.length < 2 + HEADER)
      throw new VpmdError('E_IPMI_PROTOCOL', `SDR ${id} header is truncated`, { target: s.target.name, record: id });
    const start = head.subarray(2);
    const body = reader.body(id, start);
    body.catch(() => undefined); // awaited below with the others; a failure must not go unhandled meanwhile
    records.push(body);
    onRecord?.(start, body);
    const next = head.readUInt16LE(0);
    if (records.length === 1 && next !== 0xffff && next === start.readUInt16LE(0) + 1) {
      for (let k = next; k < next + expected - 1 && k < 0xffff; k++) {
        const read = reader.first(k);
        read.catch(() => undefined); // used, or dropped, by the walk
        ahead.set(k, read);
      }
    }
    id = next;
  }
  return Promise.all(records);
}

/** Get Sensor Thresholds: raw bytes of the readable thresholds, or undefined when refused. */
async function sensorThresholds(s: IpmiSession, rec: SensorAddress): Promise<RawThresholds | undefined> {
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

/** What {@link loadSensors} found: the cache, and with `readings`, an answer per sensor. */
export interface LoadedSensors {
  readonly cache: SdrCache;
  readonly fromCache: boolean;
  /**
   * Get Sensor Reading answers (or each one's error), index for index with `cache.sensors`,
   * when readings were asked for and the repository was read: sent while it was.
   */
  readonly answers?: ReadonlyArray<IpmiResponse | Error>;
}

/**
 * The repository's sensors, from `cached` when its key still matches (one round trip),
 * otherwise read in full. Records owned by another controller than the BMC are skipped (they
 * would need IPMB bridging).
 *
 * Fewer round trips when nothing is cached (a cold poll), with the same requests: Reserve SDR
 * Repository goes out with Get SDR Repository Info (a full read follows whatever it says), the
 * first reads of the records go out together when their ids are numbered in order (see
 * {@link readRecords}), and each sensor's Get Sensor Thresholds (analog ones) and, with
 * `readings`, its Get Sensor Reading go out as soon as the first bytes of its record name the
 * sensor, alongside the read of the rest of the record. Each saved round trip is one wake-up
 * less of the BMC and of the agent.
 */
export async function loadSensors(
  s: IpmiSession,
  cached: SdrCache | undefined,
  counters?: SdrCounters,
  readings = false,
): Promise<LoadedSensors> {
  const early = cached === undefined ? new RepositoryReader(s, 32, counters) : undefined;
  // With nothing cached, the first record's read goes out with the repository info too.
  const firstHead = early?.first(0);
  firstHead?.catch(() => undefined); // used by the walk; the info may fail first
  const info = await repositoryInfo(s);
  if (counters !== undefined) counters.checks++;
  const key = cacheKey(info);
  if (cached !== undefined && cached.key === key) return { cache: cached, fromCache: true };
  if (counters !== undefined) counters.fullReads++;
  type Found = { bytes: Buffer; sensor: CachedSensor; answer: IpmiResponse | Error | undefined };
  const read: Array<Promise<Found | undefined>> = [];
  const readingOf = (k: SensorAddress): Promise<IpmiResponse | Error> =>
    s.request(NETFN_SENSOR, 0x2d, [k.number], k.ownerLun).catch((e: unknown) => toError(e));
  const walk = (start: Buffer, body: Promise<Buffer>): void => {
    // The sensor's own requests go out with the read of the rest of its record.
    const preview = previewSensorKey(start);
    const owned = preview?.ownerId === 0x20 ? preview : undefined;
    const thresholdsEarly = owned?.analog === true ? sensorThresholds(s, owned) : undefined;
    thresholdsEarly?.catch(() => undefined); // awaited below, unless the body fails first
    const readingEarly = owned !== undefined && readings ? readingOf(owned) : undefined;
    const sensor = body.then(async (bytes): Promise<Found | undefined> => {
      const record = parseSensorRecord(bytes);
      if (record === undefined || record.ownerId !== 0x20) return undefined;
      const analog = record.eventReadingType === 0x01 && record.conversion !== undefined;
      const thresholds = analog
        ? ((await (thresholdsEarly ?? sensorThresholds(s, record))) ?? record.thresholds)
        : record.thresholds;
      const answer = readings ? await (readingEarly ?? readingOf(record)) : undefined;
      return { bytes, sensor: { record, thresholds }, answer };
    });
    sensor.catch(() => undefined); // awaited below; the walk may fail first
    read.push(sensor);
  };
  await walkRecords(s, early ?? new RepositoryReader(s, 32, counters), info.count, walk, firstHead);
  const raw: Buffer[] = [];
  const sensors: CachedSensor[] = [];
  const answers: Array<IpmiResponse | Error> = [];
  for (const r of await Promise.all(read)) {
    if (r === undefined) continue;
    raw.push(r.bytes);
    sensors.push(r.sensor);
    if (r.answer !== undefined) answers.push(r.answer);
  }
  return { cache: { key, sensors, raw }, fromCache: false, ...(readings ? { answers } : {}) };
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

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
