/**
 * The history of one metric, kept as columns in one ArrayBuffer instead of one object per
 * reading: a value (Float32 while every value round-trips exactly, else Float64; NaN = null,
 * which record() never stores as a number), a timestamp (a Uint32 offset in ms from a base while
 * every timestamp fits, else Float64) and a status code (Uint8). That is 9 to 17 bytes a reading
 * against about 90 for a frozen object with boxed numbers (bench/telemetry measures both).
 * The buffer is allocated at the first reading and doubles up to the capacity, so memory follows
 * the readings held. Readings become objects again only when asked for; the newest stays the
 * object that was pushed, so newest() allocates nothing (Redfish and SNMP read it per request).
 */
import type { Reading, ReadingStatus } from '../contracts/telemetry.js';
import { VpmdError } from '../errors.js';

/** Status codes as stored: the index in this list. */
const STATUS_OF_CODE: readonly ReadingStatus[] = ['ok', 'warning', 'critical', 'unavailable'];
const CODE_OF_STATUS: Readonly<Record<ReadingStatus, number>> = { ok: 0, warning: 1, critical: 2, unavailable: 3 };

/** Slots of the first buffer: a few readings, before any doubling. */
const FIRST_LENGTH = 8;
const MAX_OFFSET = 0xffff_ffff;
/**
 * A rebase of the Uint32 offsets must leave this much room ahead (about 24.8 days in ms), so
 * timestamps spread wider than that go to Float64 instead of rebasing over and over.
 */
const REBASE_ROOM = 2 ** 31;
const EMPTY = new DataView(new ArrayBuffer(0));

/** Bounded history of readings, oldest dropped first, stored column-wise. */
export class ReadingRing {
  /** Maximum number of readings kept. */
  readonly capacity: number;
  #view: DataView = EMPTY;
  /** Slots allocated: 0 before the first reading, then doubling up to {@link capacity}. */
  #length = 0;
  #wideValues = false;
  #wideTimes = false;
  /** Byte offsets of the timestamp and status columns in the buffer. */
  #timesAt = 0;
  #statusAt = 0;
  /** What the Uint32 offsets count from (unused once timestamps are wide). */
  #base = 0;
  /** Slot of the oldest reading. */
  #start = 0;
  #size = 0;
  #newest: Reading | undefined;

  /**
   * @param capacity an integer >= 1.
   * @throws VpmdError E_INTERNAL for any other capacity.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new VpmdError('E_INTERNAL', `reading ring capacity must be an integer >= 1, got ${capacity}`, { capacity });
    }
    this.capacity = capacity;
  }

  /** Number of readings held (at most {@link capacity}). */
  get size(): number {
    return this.#size;
  }

  /** Slots allocated now; grows by doubling up to {@link capacity} as readings arrive. */
  get allocated(): number {
    return this.#length;
  }

  /** Bytes per reading in the current layout (9, 13 or 17). */
  get bytesPerReading(): number {
    return (this.#wideValues ? 8 : 4) + (this.#wideTimes ? 8 : 4) + 1;
  }

  /**
   * Appends `reading`, dropping the oldest one when full. The caller has validated it: a finite
   * number or null (then status `unavailable`), a finite timestamp, a known status.
   */
  push(reading: Reading): void {
    this.#makeRoomFor(reading);
    let slot: number;
    if (this.#size < this.#length) {
      slot = this.#start + this.#size;
      if (slot >= this.#length) slot -= this.#length;
      this.#size++;
    } else {
      slot = this.#start;
      this.#start = slot + 1 === this.#length ? 0 : slot + 1;
    }
    this.#write(slot, reading.value ?? Number.NaN, reading.timestamp, CODE_OF_STATUS[reading.status]);
    this.#newest = reading;
  }

  /** The newest reading (the very object pushed), or undefined when empty. */
  newest(): Reading | undefined {
    return this.#newest;
  }

  /** New reading objects, oldest first. */
  toArray(): Reading[] {
    const out = new Array<Reading>(this.#size);
    for (let k = 0; k < this.#size; k++) out[k] = this.#readingAt(k);
    return out;
  }

  /**
   * The newest readings with `timestamp >= since` (all when `since` is undefined), at most
   * `limit` of them, oldest first. Walks back from the newest, so a small limit touches only a
   * few slots; timestamps need not be ordered (a source may give its own).
   */
  recent(since: number | undefined, limit: number): Reading[] {
    const picked: Reading[] = [];
    for (let k = this.#size - 1; k >= 0 && picked.length < limit; k--) {
      if (since === undefined || this.#timeAt(this.#slotOf(k)) >= since) picked.push(this.#readingAt(k));
    }
    return picked.reverse();
  }

  /** Slot of the k-th reading, 0 being the oldest. */
  #slotOf(k: number): number {
    const slot = this.#start + k;
    return slot >= this.#length ? slot - this.#length : slot;
  }

  #readingAt(k: number): Reading {
    if (k === this.#size - 1) return this.#newest as Reading;
    const slot = this.#slotOf(k);
    const value = this.#wideValues ? this.#view.getFloat64(slot * 8, true) : this.#view.getFloat32(slot * 4, true);
    return Object.freeze({
      value: Number.isNaN(value) ? null : value,
      status: STATUS_OF_CODE[this.#view.getUint8(this.#statusAt + slot)] as ReadingStatus,
      timestamp: this.#timeAt(slot),
    });
  }

  #timeAt(slot: number): number {
    return this.#wideTimes
      ? this.#view.getFloat64(this.#timesAt + slot * 8, true)
      : this.#base + this.#view.getUint32(this.#timesAt + slot * 4, true);
  }

  #write(slot: number, value: number, timestamp: number, code: number): void {
    const view = this.#view;
    if (this.#wideValues) view.setFloat64(slot * 8, value, true);
    else view.setFloat32(slot * 4, value, true);
    if (this.#wideTimes) view.setFloat64(this.#timesAt + slot * 8, timestamp, true);
    else view.setUint32(this.#timesAt + slot * 4, timestamp - this.#base, true);
    view.setUint8(this.#statusAt + slot, code);
  }

  /** Grows, widens a column or rebases the offsets when `reading` would not fit as things are. */
  #makeRoomFor(reading: Reading): void {
    const { value, timestamp } = reading;
    let length = this.#length;
    if (this.#size === length && length < this.capacity)
      length = Math.min(this.capacity, Math.max(FIRST_LENGTH, length * 2));
    const wideValues = this.#wideValues || (value !== null && Math.fround(value) !== value);
    let wideTimes = this.#wideTimes;
    let base = this.#base;
    if (!wideTimes) {
      if (this.#size === 0) base = timestamp;
      else if (!fitsOffset(timestamp, base)) base = this.#rebaseFor(timestamp);
      if (Number.isNaN(base)) {
        wideTimes = true;
        base = this.#base;
      }
    }
    if (
      length !== this.#length ||
      wideValues !== this.#wideValues ||
      wideTimes !== this.#wideTimes ||
      base !== this.#base
    ) {
      this.#relayout(length, wideValues, wideTimes, base);
    }
  }

  /**
   * A base from which every held timestamp and `extra` are Uint32 offsets with room to spare,
   * or NaN when there is none (the timestamps must then be stored wide).
   */
  #rebaseFor(extra: number): number {
    let min = extra;
    let max = extra;
    for (let k = 0; k < this.#size; k++) {
      const t = this.#timeAt(this.#slotOf(k));
      if (t < min) min = t;
      if (t > max) max = t;
    }
    if (max - min > MAX_OFFSET - REBASE_ROOM || !fitsOffset(extra, min)) return Number.NaN;
    for (let k = 0; k < this.#size; k++) if (!fitsOffset(this.#timeAt(this.#slotOf(k)), min)) return Number.NaN;
    return min;
  }

  /**
   * Copies the readings, oldest first from slot 0, into a new buffer of the given layout. Reads
   * the old buffer directly (no temporary arrays): this runs at every doubling.
   */
  #relayout(length: number, wideValues: boolean, wideTimes: boolean, base: number): void {
    const from = this.#view;
    const fromWideValues = this.#wideValues;
    const fromWideTimes = this.#wideTimes;
    const fromTimesAt = this.#timesAt;
    const fromStatusAt = this.#statusAt;
    const fromBase = this.#base;
    const fromStart = this.#start;
    const fromLength = this.#length;
    const valueBytes = wideValues ? 8 : 4;
    const timeBytes = wideTimes ? 8 : 4;
    this.#view = new DataView(new ArrayBuffer(length * (valueBytes + timeBytes + 1)));
    this.#length = length;
    this.#wideValues = wideValues;
    this.#wideTimes = wideTimes;
    this.#timesAt = length * valueBytes;
    this.#statusAt = length * (valueBytes + timeBytes);
    this.#base = base;
    this.#start = 0;
    for (let k = 0; k < this.#size; k++) {
      const slot = fromStart + k < fromLength ? fromStart + k : fromStart + k - fromLength;
      const value = fromWideValues ? from.getFloat64(slot * 8, true) : from.getFloat32(slot * 4, true);
      const time = fromWideTimes
        ? from.getFloat64(fromTimesAt + slot * 8, true)
        : fromBase + from.getUint32(fromTimesAt + slot * 4, true);
      this.#write(k, value, time, from.getUint8(fromStatusAt + slot));
    }
  }
}

/** Whether `timestamp` is stored exactly as a Uint32 offset from `base`. */
function fitsOffset(timestamp: number, base: number): boolean {
  const offset = timestamp - base;
  return Number.isInteger(offset) && offset >= 0 && offset <= MAX_OFFSET && base + offset === timestamp;
}
