/**
 * SNMP values, varbinds and PDUs (RFC 3416), and OID helpers. Values are tagged with their BER
 * type so a MIB provider states exactly what goes on the wire (Gauge32 vs Integer32 matters to
 * managers that graph counters).
 */
import {
  BerError,
  BerReader,
  TAG,
  decInt,
  decOid,
  decUnsigned,
  encEmpty,
  encInt,
  encOid,
  encString,
  encUnsigned,
  tlv,
  type Tlv,
} from './ber.js';

/** A typed SNMP value. */
export type SnmpValue =
  | { readonly tag: typeof TAG.Integer; readonly value: number }
  | { readonly tag: typeof TAG.OctetString | typeof TAG.Opaque; readonly value: Buffer | string }
  | { readonly tag: typeof TAG.Oid; readonly value: readonly number[] }
  | { readonly tag: typeof TAG.IpAddress; readonly value: string }
  | { readonly tag: typeof TAG.Counter32 | typeof TAG.Gauge32 | typeof TAG.TimeTicks; readonly value: number }
  | { readonly tag: typeof TAG.Counter64; readonly value: bigint }
  | {
      readonly tag: typeof TAG.Null | typeof TAG.NoSuchObject | typeof TAG.NoSuchInstance | typeof TAG.EndOfMibView;
      readonly value: null;
    };

/** Value constructors. */
export const V = Object.freeze({
  int: (value: number): SnmpValue => ({
    tag: TAG.Integer,
    value: Math.max(-2147483648, Math.min(2147483647, Math.round(value))),
  }),
  str: (value: string | Buffer): SnmpValue => ({ tag: TAG.OctetString, value }),
  oid: (value: readonly number[]): SnmpValue => ({ tag: TAG.Oid, value }),
  gauge: (value: number): SnmpValue => ({ tag: TAG.Gauge32, value: clampU32(value) }),
  counter32: (value: number): SnmpValue => ({ tag: TAG.Counter32, value: clampU32(value) % 4294967296 }),
  ticks: (value: number): SnmpValue => ({ tag: TAG.TimeTicks, value: clampU32(value) % 4294967296 }),
  counter64: (value: bigint): SnmpValue => ({ tag: TAG.Counter64, value }),
  null: (): SnmpValue => ({ tag: TAG.Null, value: null }),
  noSuchObject: (): SnmpValue => ({ tag: TAG.NoSuchObject, value: null }),
  noSuchInstance: (): SnmpValue => ({ tag: TAG.NoSuchInstance, value: null }),
  endOfMibView: (): SnmpValue => ({ tag: TAG.EndOfMibView, value: null }),
});

function clampU32(v: number): number {
  return Math.max(0, Math.round(v));
}

/** One variable binding. */
export interface Varbind {
  readonly oid: readonly number[];
  readonly value: SnmpValue;
}

/** A decoded PDU. For GetBulk, `errorStatus` is non-repeaters and `errorIndex` max-repetitions. */
export interface Pdu {
  readonly type: number;
  readonly requestId: number;
  readonly errorStatus: number;
  readonly errorIndex: number;
  readonly varbinds: readonly Varbind[];
}

/** SNMPv2 error-status values (RFC 3416). */
export const ERR = Object.freeze({
  noError: 0,
  tooBig: 1,
  genErr: 5,
  noAccess: 6,
  wrongType: 7,
  wrongLength: 8,
  wrongValue: 10,
  noCreation: 11,
  inconsistentValue: 12,
  resourceUnavailable: 13,
  commitFailed: 14,
  authorizationError: 16,
  notWritable: 17,
});

/** Parses a dotted OID (`1.3.6.1` or `.1.3.6.1`). @throws Error naming the bad text. */
export function parseOid(text: string): number[] {
  const t = text.startsWith('.') ? text.slice(1) : text;
  if (!/^\d+(\.\d+)+$/.test(t)) throw new Error(`'${text}' is not a numeric OID (expected e.g. 1.3.6.1.2.1)`);
  return t.split('.').map(Number);
}

/** Dotted form of an OID. */
export function oidText(arcs: readonly number[]): string {
  return arcs.join('.');
}

/** Lexicographic OID order: negative when a < b. */
export function compareOid(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when `oid` lies in the subtree rooted at `root` (or is `root`). */
export function inSubtree(root: readonly number[], oid: readonly number[]): boolean {
  if (oid.length < root.length) return false;
  for (let i = 0; i < root.length; i++) if (root[i] !== oid[i]) return false;
  return true;
}

/** Encodes a value. */
export function encValue(v: SnmpValue): Buffer {
  switch (v.tag) {
    case TAG.Integer:
      return encInt(v.value);
    case TAG.OctetString:
    case TAG.Opaque:
      return encString(v.value, v.tag);
    case TAG.Oid:
      return encOid(v.value);
    case TAG.IpAddress:
      return tlv(TAG.IpAddress, Buffer.from(v.value.split('.').map(Number)));
    case TAG.Counter32:
    case TAG.Gauge32:
    case TAG.TimeTicks:
    case TAG.Counter64:
      return encUnsigned(v.value, v.tag);
    default:
      return encEmpty(v.tag);
  }
}

/** Encodes one varbind, reusing a pre-encoded OID when given. */
export function encVarbind(oid: readonly number[] | Buffer, value: SnmpValue): Buffer {
  return tlv(TAG.Sequence, [Buffer.isBuffer(oid) ? oid : encOid(oid), encValue(value)]);
}

/** Encodes a PDU whose varbinds are already encoded. */
export function encPdu(
  type: number,
  requestId: number,
  errorStatus: number,
  errorIndex: number,
  encodedVarbinds: readonly Buffer[],
): Buffer {
  return tlv(type, [encInt(requestId), encInt(errorStatus), encInt(errorIndex), tlv(TAG.Sequence, encodedVarbinds)]);
}

/** Decodes a value TLV. */
export function decValue(buf: Buffer, t: Tlv): SnmpValue {
  switch (t.tag) {
    case TAG.Integer:
      return { tag: TAG.Integer, value: decInt(buf, t) };
    case TAG.OctetString:
    case TAG.Opaque:
      return { tag: t.tag, value: Buffer.from(buf.subarray(t.start, t.end)) };
    case TAG.Oid:
      return { tag: TAG.Oid, value: decOid(buf, t) };
    case TAG.IpAddress:
      return { tag: TAG.IpAddress, value: [...buf.subarray(t.start, t.end)].join('.') };
    case TAG.Counter32:
    case TAG.Gauge32:
    case TAG.TimeTicks:
      return { tag: t.tag, value: Number(decUnsigned(buf, t)) };
    case TAG.Counter64:
      return { tag: TAG.Counter64, value: decUnsigned(buf, t) };
    case TAG.Null:
    case TAG.NoSuchObject:
    case TAG.NoSuchInstance:
    case TAG.EndOfMibView:
      return { tag: t.tag, value: null };
    default:
      throw new BerError(`unknown value type 0x${t.tag.toString(16)} at byte ${t.at}`);
  }
}

/** Decodes a PDU at the reader's position. */
export function decPdu(r: BerReader): Pdu {
  const head = r.next();
  if ((head.tag & 0xe0) !== 0xa0)
    throw new BerError(`expected a PDU at byte ${head.at}, found tag 0x${head.tag.toString(16)}`);
  const p = new BerReader(r.buf, head.start, head.end);
  const requestId = p.int();
  const errorStatus = p.int();
  const errorIndex = p.int();
  const list = p.enter(TAG.Sequence);
  const varbinds: Varbind[] = [];
  while (list.more()) {
    const vb = list.enter(TAG.Sequence);
    const oid = decOid(vb.buf, vb.next(TAG.Oid));
    varbinds.push({ oid, value: decValue(vb.buf, vb.next()) });
  }
  return { type: head.tag, requestId, errorStatus, errorIndex, varbinds };
}

/** Human text of a value (for vpmctl and logs). */
export function valueText(v: SnmpValue): string {
  switch (v.tag) {
    case TAG.OctetString:
    case TAG.Opaque: {
      const b = Buffer.isBuffer(v.value) ? v.value : Buffer.from(v.value);
      return /^[\x20-\x7e\t\r\n]*$/.test(b.toString('latin1')) ? b.toString('utf8') : `0x${b.toString('hex')}`;
    }
    case TAG.Oid:
      return oidText(v.value);
    case TAG.NoSuchObject:
      return 'noSuchObject';
    case TAG.NoSuchInstance:
      return 'noSuchInstance';
    case TAG.EndOfMibView:
      return 'endOfMibView';
    case TAG.Null:
      return 'null';
    default:
      return String(v.value);
  }
}
