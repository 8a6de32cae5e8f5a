/**
 * Sensor Data Records (IPMI v2.0 section 43): full (01h) and compact (02h) sensor records,
 * ID strings in all four encodings, and the reading conversion
 * y = L[(M·x + B·10^K1)·10^K2] with the analog formats and linearizations of table 43-1.
 */
import { UNIT_NAMES } from './sensor-text.js';

/** Analog data format of a full record: how the raw byte is signed. */
export type AnalogFormat = 'unsigned' | 'ones-complement' | 'twos-complement' | 'none';

/** The conversion factors of a full sensor record. */
export interface Conversion {
  readonly m: number;
  readonly b: number;
  /** B exponent (K1). */
  readonly bExp: number;
  /** Result exponent (K2). */
  readonly rExp: number;
  /** Linearization code 0..11 (0x70-0x7F: non-linear, treated as linear). */
  readonly linearization: number;
  readonly format: AnalogFormat;
}

/** Raw threshold bytes present in the record (readable ones only). */
export interface RawThresholds {
  lnr?: number;
  lc?: number;
  lnc?: number;
  unc?: number;
  uc?: number;
  unr?: number;
}

/** A parsed sensor record. */
export interface SensorRecord {
  readonly recordId: number;
  readonly recordType: 0x01 | 0x02;
  readonly ownerId: number;
  readonly ownerLun: number;
  readonly number: number;
  readonly entityId: number;
  readonly entityInstance: number;
  readonly sensorType: number;
  readonly eventReadingType: number;
  /** Base unit code and its name. */
  readonly unitCode: number;
  readonly unit: string;
  readonly percentage: boolean;
  readonly name: string;
  /** Present for full records with an analog reading. */
  readonly conversion?: Conversion;
  /** Readable thresholds from the record (raw). */
  readonly thresholds: RawThresholds;
  /** Bits 0-5 of the readable-threshold mask. */
  readonly thresholdMask: number;
}

const signed = (v: number, bits: number): number => (v & (1 << (bits - 1)) ? v - (1 << bits) : v);

/**
 * Decodes an SDR ID string (type/length byte, then bytes): 00 Unicode (taken as UCS-2 LE),
 * 01 BCD plus, 10 6-bit packed ASCII, 11 8-bit ASCII + Latin 1.
 */
export function decodeIdString(typeLen: number, bytes: Uint8Array): string {
  const type = typeLen >> 6;
  const len = Math.min(typeLen & 0x1f, bytes.length);
  const b = bytes.subarray(0, len);
  if (type === 3) {
    // Latin 1 without a copy of the bytes, trailing NULs dropped.
    let end = b.length;
    while (end > 0 && b[end - 1] === 0) end--;
    let text = '';
    for (let i = 0; i < end; i++) text += String.fromCharCode(b[i] ?? 0);
    return text;
  }
  if (type === 1) {
    const bcd = '0123456789 -.:,_';
    return [...b]
      .map((x) => (bcd[x >> 4] ?? '') + (bcd[x & 0x0f] ?? ''))
      .join('')
      .trimEnd();
  }
  if (type === 2) {
    // 6-bit packed: four characters in three bytes, LS bits first; 0x20 + code.
    let out = '';
    let acc = 0;
    let bits = 0;
    for (const x of b) {
      acc |= x << bits;
      bits += 8;
      while (bits >= 6) {
        out += String.fromCharCode(0x20 + (acc & 0x3f));
        acc >>= 6;
        bits -= 6;
      }
    }
    return out.trimEnd();
  }
  return Buffer.from(b).toString('utf16le').replace(/\0+$/, '');
}

/** What a sensor's requests need, known from the first bytes of its record. */
export interface SensorKey {
  readonly ownerId: number;
  readonly ownerLun: number;
  readonly number: number;
  /** A threshold sensor with an analog reading: it has Get Sensor Thresholds. */
  readonly analog: boolean;
}

/**
 * The key fields of a full or compact sensor record from its first bytes (at least 21: the
 * analog format byte), before the rest is read; undefined for other types or fewer bytes. It
 * agrees with {@link parseSensorRecord} on every record that one accepts.
 */
export function previewSensorKey(start: Uint8Array): SensorKey | undefined {
  const type = start[3];
  if ((type !== 0x01 && type !== 0x02) || start.length < 21) return undefined;
  const analog = type === 0x01 && start[13] === 0x01 && (start[20] ?? 0) >> 6 !== 3;
  return { ownerId: start[5] ?? 0, ownerLun: (start[6] ?? 0) & 0x03, number: start[7] ?? 0, analog };
}

/** Parses a full or compact sensor record; returns undefined for other record types. */
export function parseSensorRecord(rec: Uint8Array): SensorRecord | undefined {
  const type = rec[3];
  if ((type !== 0x01 && type !== 0x02) || rec.length < 32) return undefined;
  const at = (i: number): number => rec[i] ?? 0;
  const units1 = at(20);
  const mask = at(18) & 0x3f;
  const common = {
    recordId: at(0) | (at(1) << 8),
    recordType: type,
    ownerId: at(5),
    ownerLun: at(6) & 0x03,
    number: at(7),
    entityId: at(8),
    entityInstance: at(9),
    sensorType: at(12),
    eventReadingType: at(13),
    unitCode: at(21),
    unit: UNIT_NAMES[at(21)] ?? 'unspecified',
    percentage: (units1 & 0x01) !== 0,
    thresholdMask: at(13) === 0x01 ? mask : 0,
  } as const;
  if (type === 0x02) {
    return { ...common, name: decodeIdString(at(31), rec.subarray(32)), thresholds: {} };
  }
  if (rec.length < 48) return undefined;
  const formatBits = units1 >> 6;
  const format: AnalogFormat =
    (['unsigned', 'ones-complement', 'twos-complement', 'none'] as const)[formatBits] ?? 'none';
  const conversion: Conversion = {
    m: signed(at(24) | ((at(25) & 0xc0) << 2), 10),
    b: signed(at(26) | ((at(27) & 0xc0) << 2), 10),
    rExp: signed(at(29) >> 4, 4),
    bExp: signed(at(29) & 0x0f, 4),
    linearization: at(23) & 0x7f,
    format,
  };
  const thresholds: RawThresholds = {};
  if (common.thresholdMask & 0x01) thresholds.lnc = at(41);
  if (common.thresholdMask & 0x02) thresholds.lc = at(40);
  if (common.thresholdMask & 0x04) thresholds.lnr = at(39);
  if (common.thresholdMask & 0x08) thresholds.unc = at(38);
  if (common.thresholdMask & 0x10) thresholds.uc = at(37);
  if (common.thresholdMask & 0x20) thresholds.unr = at(36);
  return {
    ...common,
    name: decodeIdString(at(47), rec.subarray(48)),
    ...(format === 'none' ? {} : { conversion }),
    thresholds,
  };
}

/** The raw byte as a number under the record's analog format. */
export function rawValue(raw: number, format: AnalogFormat): number {
  if (format === 'twos-complement') return signed(raw & 0xff, 8);
  if (format === 'ones-complement') return raw & 0x80 ? -(~raw & 0x7f) : raw;
  return raw & 0xff;
}

const LINEARIZE: readonly ((y: number) => number)[] = [
  (y) => y,
  Math.log,
  Math.log10,
  Math.log2,
  Math.exp,
  (y) => 10 ** y,
  (y) => 2 ** y,
  (y) => 1 / y,
  (y) => y * y,
  (y) => y * y * y,
  Math.sqrt,
  Math.cbrt,
];

/** 10^e computed so that small decimals stay exact (1197 / 100 rather than 1197 * 0.01). */
function scale(v: number, e: number): number {
  return e >= 0 ? v * 10 ** e : v / 10 ** -e;
}

/**
 * Converts a raw reading: y = L[(M·x + B·10^K1)·10^K2]. Returns null when the result is not a
 * finite number (1/0, log of 0 or less).
 */
export function convertReading(raw: number, c: Conversion): number | null {
  const x = rawValue(raw, c.format);
  const linear = scale(c.m * x + scale(c.b, c.bExp), c.rExp);
  const fn = c.linearization >= 0x70 ? LINEARIZE[0] : LINEARIZE[c.linearization];
  if (fn === undefined) return null;
  const y = fn(linear);
  if (!Number.isFinite(y)) return null;
  return Number(y.toPrecision(12));
}
