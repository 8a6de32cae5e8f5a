/**
 * RMCP+ cryptography with Node's crypto: RAKP key exchange codes, session keys (SIK, K1, K2),
 * HMAC integrity trailers and AES-CBC-128 confidentiality with IPMI's own padding (1, 2 .. N, N;
 * not PKCS#7).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VpmdError } from '../../../core/index.js';
import type { AuthAlg, IntegrityAlg } from './cipher-suites.js';

/** HMAC with the RAKP algorithm of a suite. */
export function rakpHmac(alg: AuthAlg, key: Uint8Array, data: Uint8Array): Buffer {
  if (alg === 'none') return Buffer.alloc(0);
  return createHmac(alg === 'hmac-sha1' ? 'sha1' : 'sha256', key).update(data).digest();
}

/** Length of the RAKP4 integrity check value: 12 (SHA-1-96), 16 (SHA-256-128), 0 (none). */
export function rakp4Length(alg: AuthAlg): number {
  return alg === 'hmac-sha1' ? 12 : alg === 'hmac-sha256' ? 16 : 0;
}

/** Constant-time comparison of two byte strings of possibly different length. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
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
  const full = createHmac(alg === 'hmac-sha1-96' ? 'sha1' : 'sha256', k1).update(span).digest();
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
    throw new VpmdError('E_IPMI_PROTOCOL', `encrypted payload of ${data.length} bytes is not an IV plus whole AES blocks`, { length: data.length });
  }
  const decipher = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), data.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  const n = plain[plain.length - 1] ?? 0;
  if (n > 15 || n + 1 > plain.length) throw new VpmdError('E_IPMI_PROTOCOL', `confidentiality pad length ${n} is invalid`, { pad: n });
  for (let i = 1; i <= n; i++) {
    if (plain[plain.length - 1 - n + i - 1] !== i) throw new VpmdError('E_IPMI_PROTOCOL', 'confidentiality pad bytes are not 1, 2 .. N', {});
  }
  return plain.subarray(0, plain.length - 1 - n);
}
