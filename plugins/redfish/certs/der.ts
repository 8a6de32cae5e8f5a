/**
 * The little ASN.1 DER the certificate service needs: an encoder for PKCS#10 requests and a
 * reader for the two certificate fields Node's `X509Certificate` does not expose (the key usage
 * bits and the signature algorithm). Only definite lengths, as DER requires.
 */

/** One encoded element (tag, length, value). */
export type Der = Buffer;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** An element with tag `tag` around `content`. */
export function tlv(tag: number, content: Buffer): Der {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const sequence = (...items: Der[]): Der => tlv(0x30, Buffer.concat(items));
export const set = (...items: Der[]): Der => tlv(0x31, Buffer.concat(items));
export const utf8 = (s: string): Der => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Der => tlv(0x13, Buffer.from(s, 'ascii'));
export const ia5 = (s: string): Der => tlv(0x16, Buffer.from(s, 'ascii'));
export const octets = (b: Buffer): Der => tlv(0x04, b);
export const nullValue = (): Der => Buffer.from([0x05, 0x00]);
/** A BIT STRING with no unused bits. */
export const bits = (b: Buffer): Der => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
export const integer = (n: number): Der => tlv(0x02, Buffer.from([n]));
/** Context-specific `[n]`, constructed or primitive. */
export const context = (n: number, content: Buffer, constructed = true): Der =>
  tlv((constructed ? 0xa0 : 0x80) | n, content);

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Der {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const group: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** The dotted form of an OBJECT IDENTIFIER's content bytes. */
export function oidText(content: Buffer): string {
  const first = content[0] ?? 0;
  const parts = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let v = 0;
  for (const b of content.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** A decoded element: its tag, content, and where the next element starts. */
export interface Element {
  readonly tag: number;
  readonly content: Buffer;
  readonly end: number;
}

/** Reads the element at `at`. @throws Error on a truncated or indefinite-length element. */
export function read(buf: Buffer, at = 0): Element {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  if (start + len > buf.length) throw new Error('truncated DER');
  return { tag, content: buf.subarray(start, start + len), end: start + len };
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < content.length;) {
    const e = read(content, at);
    out.push(e);
    at = e.end;
  }
  return out;
}
