/**
 * RMCP+ cryptography with Node's crypto: RAKP key exchange codes, session keys (SIK, K1, K2),
 * HMAC integrity trailers and AES-CBC-128 confidentiality with IPMI's own padding (1, 2 .. N, N;
 * not PKCS#7).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  randomFillSync,
  timingSafeEqual,
  type Cipher,
  type Decipher,
} from 'node:crypto';
import { VpmdError } from 'vpmd';
import type { AuthAlg, IntegrityAlg } from './cipher-suites.js';
import { hmacSha1 } from './hmac-sha1.js';

/** HMAC with the RAKP algorithm of a suite. */
export function rakpHmac(alg: AuthAlg, key: Uint8Array, data: Uint8Array): Buffer {
  if (alg === 'none') return Buffer.alloc(0);
  if (alg === 'hmac-sha1') return hmacSha1(key, data);
  return createHmac('sha256', key).update(data).digest();
}

/** Length of the RAKP4 integrity check value: 12 (SHA-1-96), 16 (SHA-256-128), 0 (none). */
export function rakp4Length(alg: AuthAlg): number {
  return alg === 'hmac-sha1' ? 12 : alg === 'hmac-sha256' ? 16 : 0;
}

/** Constant-time comparison of two byte strings of possibly different length. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether `a[aAt .. aAt+n]` equals `b[bAt .. bAt+n]`, in time that does not depend on where they
 * differ. Makes no views: it checks every received packet's integrity code.
 */
export function sameRange(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= (a[aAt + i] ?? 0) ^ (b[bAt + i] ?? 0);
  return diff === 0;
}

/** Key material of one session. */
export interface SessionKeys {
  readonly sik: Buffer;
  /** Integrity key. */
  readonly k1: Buffer;
  /** Confidentiality key material; AES uses its first 16 bytes. */
  readonly k2: Buffer;
}

/** SIK = HMAC(KG, Rc | Rm | role | ulen | user); K1/K2 = HMAC(SIK, 20 x 0x01 / 0x02). */
export function deriveKeys(alg: AuthAlg, kg: Uint8Array, rakpSikInput: Uint8Array): SessionKeys {
  const sik = rakpHmac(alg, kg, rakpSikInput);
  return { sik, k1: rakpHmac(alg, sik, Buffer.alloc(20, 0x01)), k2: rakpHmac(alg, sik, Buffer.alloc(20, 0x02)) };
}

/** Length of the integrity trailer's auth code. */
export function authCodeLength(alg: IntegrityAlg): number {
  return alg === 'hmac-sha1-96' ? 12 : alg === 'hmac-sha256-128' ? 16 : 0;
}

/** The truncated HMAC of a packet's AuthType..NextHeader span. */
export function integrityCode(alg: IntegrityAlg, k1: Uint8Array, span: Uint8Array): Buffer {
  if (alg === 'none') return Buffer.alloc(0);
  const full = createHmac(alg === 'hmac-sha1-96' ? 'sha1' : 'sha256', k1)
    .update(span)
    .digest();
  return full.subarray(0, authCodeLength(alg));
}

/** Encrypts a payload: IV | AES-CBC-128(payload | 01 02 .. N | N), (len+1+N) % 16 = 0. */
export function encryptPayload(k2: Uint8Array, payload: Uint8Array, iv: Buffer = randomBytes(16)): Buffer {
  const n = (16 - ((payload.length + 1) % 16)) % 16;
  const padded = Buffer.alloc(payload.length + n + 1);
  Buffer.from(payload).copy(padded);
  for (let i = 1; i <= n; i++) padded[payload.length + i - 1] = i;
  padded[padded.length - 1] = n;
  const cipher = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv).setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(padded), cipher.final()]);
}

/**
 * Decrypts `IV | ciphertext` and strips IPMI's confidentiality trailer after checking it.
 * @throws E_IPMI_PROTOCOL for a bad length or a pad that is not 1, 2 .. N, N
 */
export function decryptPayload(k2: Uint8Array, data: Uint8Array): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) {
    throw new VpmdError(
      'E_IPMI_PROTOCOL',
      `encrypted payload of ${data.length} bytes is not an IV plus whole AES blocks`,
      { length: data.length },
    );
  }
  const decipher = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), data.subarray(0, 16)).setAutoPadding(false);
  return stripPad(Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]));
}

/** IVs are taken from a pool refilled 256 at a time: one randomBytes call per packet costs more than the AES. */
const IV_POOL = Buffer.alloc(16 * 256);
let ivOffset = IV_POOL.length;

/** Writes a fresh random 16-byte IV into `out` at `at`. */
export function writeRandomIv(out: Buffer, at: number): void {
  if (ivOffset >= IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  IV_POOL.copy(out, at, ivOffset, ivOffset + 16);
  ivOffset += 16;
}

/** Size of `payload` once encrypted: IV plus the payload with IPMI's pad, in whole blocks. */
export function encryptedLength(payloadLength: number): number {
  return 16 + (Math.floor(payloadLength / 16) + 1) * 16;
}

/**
 * AES-CBC-128 with IPMI's padding for one session's K2. CBC is done on one long-lived AES-ECB
 * context per direction (IPMI sends a fresh IV with each packet, and Node cannot re-key a CBC
 * context with a new IV): creating a cipher per packet cost more than encrypting.
 * Produces the same bytes as {@link encryptPayload} / {@link decryptPayload}.
 */
export class AesCbc128 {
  private readonly ecb: Cipher;
  private readonly ecbInverse: Decipher;
  private readonly block = Buffer.alloc(16);

  constructor(k2: Uint8Array) {
    const key = k2.subarray(0, 16);
    this.ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    this.ecbInverse = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  /**
   * Writes `IV | AES-CBC(payload | 01 02 .. N | N)` into `out` at `at` (see {@link encryptedLength})
   * with a random IV, or `iv` when given (tests).
   */
  encryptInto(payload: Uint8Array, out: Buffer, at: number, iv?: Uint8Array): void {
    if (iv === undefined) writeRandomIv(out, at);
    else out.set(iv.subarray(0, 16), at);
    const n = (16 - ((payload.length + 1) % 16)) % 16;
    const total = payload.length + n + 1;
    const block = this.block;
    let prev = at;
    for (let off = 0; off < total; off += 16) {
      for (let i = 0; i < 16; i++) {
        const k = off + i;
        // plain byte: payload, then the pad 1, 2 .. N, then N
        const plain = k < payload.length ? (payload[k] ?? 0) : k === total - 1 ? n : k - payload.length + 1;
        block[i] = plain ^ (out[prev + i] ?? 0);
      }
      const enc = this.ecb.update(block);
      enc.copy(out, at + 16 + off);
      prev = at + 16 + off;
    }
  }

  /** Encrypts into a new buffer. */
  encrypt(payload: Uint8Array, iv?: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(encryptedLength(payload.length));
    this.encryptInto(payload, out, 0, iv);
    return out;
  }

  /**
   * Decrypts `IV | ciphertext` and strips IPMI's confidentiality trailer after checking it.
   * @throws E_IPMI_PROTOCOL for a bad length or a pad that is not 1, 2 .. N, N
   */
  decrypt(data: Uint8Array): Buffer {
    if (data.length < 32 || data.length % 16 !== 0) {
      throw new VpmdError(
        'E_IPMI_PROTOCOL',
        `encrypted payload of ${data.length} bytes is not an IV plus whole AES blocks`,
        { length: data.length },
      );
    }
    // ECB-decrypt every block at once, then XOR each with the previous ciphertext block (or IV).
    const plain = this.ecbInverse.update(data.subarray(16));
    for (let i = 0; i < plain.length; i++) plain[i] = (plain[i] ?? 0) ^ (data[i] ?? 0);
    return stripPad(plain);
  }
}

function stripPad(plain: Buffer): Buffer {
  const n = plain[plain.length - 1] ?? 0;
  if (n > 15 || n + 1 > plain.length)
    throw new VpmdError('E_IPMI_PROTOCOL', `confidentiality pad length ${n} is invalid`, { pad: n });
  for (let i = 1; i <= n; i++) {
    if (plain[plain.length - 1 - n + i - 1] !== i)
      throw new VpmdError('E_IPMI_PROTOCOL', 'confidentiality pad bytes are not 1, 2 .. N', {});
  }
  return plain.subarray(0, plain.length - 1 - n);
}
