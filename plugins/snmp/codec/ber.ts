/**
 * The BER subset SNMP uses (RFC 3416 / X.690): tag-length-value encoding of integers, strings,
 * OIDs, sequences and the SMIv2 application types. Our own codec rather than the npm package's
 * so the agent can pre-encode OIDs once per index build and decode a message without copies.
 */

/** BER and SNMP tags. */
export const TAG = Object.freeze({
  Integer: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Sequence: 0x30,
  IpAddress: 0x40,
  Counter32: 0x41,
  Gauge32: 0x42,
  TimeTicks: 0x43,
  Opaque: 0x44,
  Counter64: 0x46,
  NoSuchObject: 0x80,
  NoSuchInstance: 0x81,
  EndOfMibView: 0x82,
  GetRequest: 0xa0,
  GetNextRequest: 0xa1,
  Response: 0xa2,
  SetRequest: 0xa3,
  GetBulkRequest: 0xa5,
  InformRequest: 0xa6,
  TrapV2: 0xa7,
  Report: 0xa8,
});

/** A decoding failure: the message is malformed (counted as snmpInASNParseErrs). */
export class BerError extends Error {}

/** The BER length octets for a content of `n` bytes. */
export function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** Encodes one TLV around `content` (a buffer or a list of buffers, concatenated). */
export function tlv(tag: number, content: Buffer | readonly Buffer[]): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.concat(content as Buffer[]);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** Encodes a signed integer (INTEGER, two's complement, minimal length). */
export function encInt(value: number, tag: number = TAG.Integer): Buffer {
  let v = BigInt(Math.trunc(value));
  const bytes: number[] = [];
  for (;;) {
    const b = Number(v & 0xffn);
    bytes.unshift(b);
    v >>= 8n;
    if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
  }
  return tlv(tag, Buffer.from(bytes));
}

/** Encodes an unsigned integer (Counter32, Gauge32, TimeTicks, Counter64). */
export function encUnsigned(value: number | bigint, tag: number): Buffer {
  let v = BigInt(value);
  if (v < 0n) v = 0n;
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

/** Encodes an OCTET STRING. */
export function encString(value: Buffer | string, tag: number = TAG.OctetString): Buffer {
  return tlv(tag, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
}

/** Encodes NULL-like empty values (NULL, noSuchObject, noSuchInstance, endOfMibView). */
export function encEmpty(tag: number = TAG.Null): Buffer {
  return Buffer.from([tag, 0]);
}

/** Encodes an OBJECT IDENTIFIER from its arcs. */
export function encOid(arcs: readonly number[]): Buffer {
  const out: number[] = [];
  const first = arcs[0] ?? 0;
  const second = arcs[1] ?? 0;
  const push = (n: number): void => {
    const tmp = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      tmp.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...tmp);
  };
  push(first * 40 + second);
  for (let i = 2; i < arcs.length; i++) push(arcs[i] ?? 0);
  return tlv(TAG.Oid, Buffer.from(out));
}

/** One decoded TLV: its tag and where its content lies in the buffer. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
  /** Offset of the tag byte. */
  readonly at: number;
}

/** A forward-only BER reader over one buffer region. */
export class BerReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly limit = buf.length,
  ) {}

  /** True when bytes remain. */
  more(): boolean {
    return this.pos < this.limit;
  }

  /** Reads the next TLV header and skips over its content. */
  next(expect?: number): Tlv {
    const at = this.pos;
    if (at + 2 > this.limit) throw new BerError(`truncated TLV at byte ${at}`);
    const tag = this.buf[at] as number;
    if (expect !== undefined && tag !== expect)
      throw new BerError(`expected tag 0x${expect.toString(16)} at byte ${at}, found 0x${tag.toString(16)}`);
    let len = this.buf[at + 1] as number;
    let p = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || p + n > this.limit) throw new BerError(`bad length at byte ${at}`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (this.buf[p + i] as number);
      p += n;
    }
    if (p + len > this.limit) throw new BerError(`TLV at byte ${at} overruns its container`);
    this.pos = p + len;
    return { tag, start: p, end: p + len, at };
  }

  /** A reader over the content of the next constructed TLV. */
  enter(expect?: number): BerReader {
    const t = this.next(expect);
    return new BerReader(this.buf, t.start, t.end);
  }

  /** Reads an INTEGER. */
  int(): number {
    return decInt(this.buf, this.next(TAG.Integer));
  }

  /** Reads an OCTET STRING (a view, not a copy). */
  octets(): Buffer {
    const t = this.next(TAG.OctetString);
    return this.buf.subarray(t.start, t.end);
  }
}

/** Decodes a signed INTEGER's content. */
export function decInt(buf: Buffer, t: Tlv): number {
  if (t.end === t.start || t.end - t.start > 9) throw new BerError(`bad integer length at byte ${t.at}`);
  let v = BigInt.asIntN(8, BigInt(buf[t.start] as number));
  for (let i = t.start + 1; i < t.end; i++) v = (v << 8n) | BigInt(buf[i] as number);
  return Number(v);
}

/** Decodes an unsigned integer's content (Counter, Gauge, TimeTicks, Counter64). */
export function decUnsigned(buf: Buffer, t: Tlv): bigint {
  let v = 0n;
  for (let i = t.start; i < t.end; i++) v = (v << 8n) | BigInt(buf[i] as number);
  return v;
}

/** Decodes an OBJECT IDENTIFIER's content into arcs. */
export function decOid(buf: Buffer, t: Tlv): number[] {
  if (t.end === t.start) throw new BerError(`empty OID at byte ${t.at}`);
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i] as number;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) {
        const first = v < 40 ? 0 : v < 80 ? 1 : 2;
        arcs.push(first, v - first * 40);
      } else arcs.push(v);
      v = 0;
    }
  }
  return arcs;
}
