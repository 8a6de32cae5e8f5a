/**
 * A deliberately plain SHA-1 / SHA-256 and HMAC (RFC 2104), independent of Node's crypto and
 * OpenSSL, to compute known-answer values for the RMCP+ tests (cipher suite 17 has no local peer).
 */

const K256 = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

function pad(msg: Uint8Array): Uint8Array {
  const len = msg.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const out = new Uint8Array(total);
  out.set(msg);
  out[len] = 0x80;
  const bits = len * 8;
  for (let i = 0; i < 4; i++) out[total - 1 - i] = (bits >>> (8 * i)) & 0xff;
  return out;
}

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));
const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

function words(block: Uint8Array, off: number): number[] {
  const w: number[] = [];
  for (let i = 0; i < 16; i++)
    w.push(
      (((block[off + 4 * i] ?? 0) << 24) |
        ((block[off + 4 * i + 1] ?? 0) << 16) |
        ((block[off + 4 * i + 2] ?? 0) << 8) |
        (block[off + 4 * i + 3] ?? 0)) >>>
        0,
    );
  return w;
}

function out(h: number[]): Uint8Array {
  const r = new Uint8Array(h.length * 4);
  h.forEach((v, i) => {
    r[4 * i] = v >>> 24;
    r[4 * i + 1] = (v >>> 16) & 0xff;
    r[4 * i + 2] = (v >>> 8) & 0xff;
    r[4 * i + 3] = v & 0xff;
  });
  return r;
}

/** SHA-256 (FIPS 180-4). */
export function sha256(msg: Uint8Array): Uint8Array {
  const m = pad(msg);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  for (let off = 0; off < m.length; off += 64) {
    const w = words(m, off);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15] ?? 0;
      const b = w[i - 2] ?? 0;
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w.push(((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) >>> 0);
    }
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 =
        (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + (K256[i] ?? 0) + (w[i] ?? 0)) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, hh].forEach((v, i) => (h[i] = ((h[i] ?? 0) + v) >>> 0));
  }
  return out(h);
}

/** SHA-1 (FIPS 180-4). */
export function sha1(msg: Uint8Array): Uint8Array {
  const m = pad(msg);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  for (let off = 0; off < m.length; off += 64) {
    const w = words(m, off);
    for (let i = 16; i < 80; i++)
      w.push(rotl((w[i - 3] ?? 0) ^ (w[i - 8] ?? 0) ^ (w[i - 14] ?? 0) ^ (w[i - 16] ?? 0), 1) >>> 0);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let i = 0; i < 80; i++) {
      const [f, k] =
        i < 20
          ? [(b & c) | (~b & d), 0x5a827999]
          : i < 40
            ? [b ^ c ^ d, 0x6ed9eba1]
            : i < 60
              ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
              : [b ^ c ^ d, 0xca62c1d6];
      const t = (rotl(a, 5) + f + e + k + (w[i] ?? 0)) >>> 0;
      e = d;
      d = c;
      c = rotl(b, 30) >>> 0;
      b = a;
      a = t;
    }
    [a, b, c, d, e].forEach((v, i) => (h[i] = ((h[i] ?? 0) + v) >>> 0));
  }
  return out(h);
}

/** HMAC over `hash` with a 64-byte block. */
export function hmac(hash: (m: Uint8Array) => Uint8Array, key: Uint8Array, data: Uint8Array): Buffer {
  let k = key.length > 64 ? hash(key) : key;
  const block = new Uint8Array(64);
  block.set(k);
  k = block;
  const ipad = k.map((b) => b ^ 0x36);
  const opad = k.map((b) => b ^ 0x5c);
  const inner = hash(Uint8Array.from([...ipad, ...data]));
  return Buffer.from(hash(Uint8Array.from([...opad, ...inner])));
}
