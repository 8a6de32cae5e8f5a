/**
 * HMAC-SHA1 for one fixed key (a session's K1), with the key's inner and outer pad blocks
 * hashed once. A packet's MAC then costs two SHA-1 block compressions in JavaScript; Node's
 * createHmac sets up a new OpenSSL context per call, which cost three times as much. Tested
 * against createHmac and RFC 2202. Also the RAKP codes and session keys of SHA-1 suites
 * ({@link hmacSha1}): six per login, a createHmac each before.
 */
import { createHash } from 'node:crypto';

const INITIAL = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/** One SHA-1 block compression of `block[off .. off+64]` into `state`; the four rounds in their own loops (no branch per step). */
function compress(state: Int32Array, w: Int32Array, block: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    w[i] = ((block[j] ?? 0) << 24) | ((block[j + 1] ?? 0) << 16) | ((block[j + 2] ?? 0) << 8) | (block[j + 3] ?? 0);
  }
  for (let i = 16; i < 80; i++) {
    const x = (w[i - 3] ?? 0) ^ (w[i - 8] ?? 0) ^ (w[i - 14] ?? 0) ^ (w[i - 16] ?? 0);
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  let e = state[4] ?? 0;
  let t: number;
  for (let i = 0; i < 20; i++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + (w[i] ?? 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 20; i < 40; i++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + (w[i] ?? 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 40; i < 60; i++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + (w[i] ?? 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 60; i < 80; i++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0xca62c1d6 + (w[i] ?? 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
  state[4] = ((state[4] ?? 0) + e) | 0;
}

/** HMAC-SHA1 under one key. Not re-entrant (scratch buffers are shared), which JavaScript never needs. */
export class HmacSha1 {
  private readonly inner = new Int32Array(INITIAL);
  private readonly outer = new Int32Array(INITIAL);
  private readonly state = new Int32Array(5);
  private readonly w = new Int32Array(80);
  private readonly tail = new Uint8Array(128);
  private readonly innerDigest = new Uint8Array(20);

  constructor(key: Uint8Array) {
    this.rekey(key);
  }

  /** Makes this the HMAC of `key`: its pad blocks hashed anew. */
  rekey(key: Uint8Array): void {
    const k = key.length > 64 ? createHash('sha1').update(key).digest() : key;
    const pad = this.tail; // scratch: finish() clears it before use
    for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ 0x36;
    this.inner.set(INITIAL);
    compress(this.inner, this.w, pad, 0);
    for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ 0x5c;
    this.outer.set(INITIAL);
    compress(this.outer, this.w, pad, 0);
  }

  /**
   * SHA-1 of (the 64-byte block behind `start`) ‖ data[from .. to], as bytes into `out` at `at`
   * (at most `length`). Works on the range in place: a view per call was most of a packet's garbage.
   */
  private finish(
    start: Int32Array,
    data: Uint8Array,
    from: number,
    to: number,
    out: Uint8Array,
    at: number,
    length: number,
  ): void {
    const st = this.state;
    st.set(start);
    let off = from;
    for (; to - off >= 64; off += 64) compress(st, this.w, data, off);
    const rest = to - off;
    const tail = this.tail;
    tail.fill(0);
    for (let i = 0; i < rest; i++) tail[i] = data[off + i] ?? 0;
    tail[rest] = 0x80;
    const blocks = rest + 9 > 64 ? 2 : 1;
    const bits = (64 + to - from) * 8; // the key block counts
    const end = blocks * 64;
    tail[end - 5] = Math.floor(bits / 2 ** 32) & 0xff;
    tail[end - 4] = (bits >>> 24) & 0xff;
    tail[end - 3] = (bits >>> 16) & 0xff;
    tail[end - 2] = (bits >>> 8) & 0xff;
    tail[end - 1] = bits & 0xff;
    for (let b = 0; b < blocks; b++) compress(st, this.w, tail, b * 64);
    for (let i = 0; i < length; i++) out[at + i] = ((st[i >> 2] ?? 0) >>> (24 - 8 * (i & 3))) & 0xff;
  }

  /** Writes the first `length` (<= 20) bytes of HMAC-SHA1(key, data) into `out` at `at`. */
  macInto(data: Uint8Array, out: Uint8Array, at: number, length = 20): void {
    this.macRangeInto(data, 0, data.length, out, at, length);
  }

  /** {@link macInto} of `data[from .. to]`, without making a view of it. */
  macRangeInto(data: Uint8Array, from: number, to: number, out: Uint8Array, at: number, length = 20): void {
    this.finish(this.inner, data, from, to, this.innerDigest, 0, 20);
    this.finish(this.outer, this.innerDigest, 0, 20, out, at, Math.min(20, length));
  }

  /** HMAC-SHA1(key, data), 20 bytes. */
  mac(data: Uint8Array): Buffer {
    const out = Buffer.alloc(20);
    this.macInto(data, out, 0);
    return out;
  }
}

let oneShot: HmacSha1 | undefined;

/**
 * HMAC-SHA1(key, data), 20 bytes, for a key used once or twice (the RAKP exchange): one shared
 * instance re-keyed per call, so no OpenSSL context and no scratch arrays per call.
 */
export function hmacSha1(key: Uint8Array, data: Uint8Array): Buffer {
  if (oneShot === undefined) oneShot = new HmacSha1(key);
  else oneShot.rekey(key);
  return oneShot.mac(data);
}
