/**
 * USM cryptography (RFC 3414, RFC 7860, RFC 3826): password-to-key, key localisation, HMAC-SHA-2
 * authentication and AES-CFB privacy. Only SHA-2 authentication and AES privacy are offered:
 * MD5/SHA-1 and DES are not (DES needs OpenSSL's legacy provider on Node >= 17 anyway).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** Authentication protocols we accept (usmHMAC128SHA224AuthProtocol ... usmHMAC384SHA512AuthProtocol). */
export type AuthProtocol = 'sha224' | 'sha256' | 'sha384' | 'sha512';
/** Privacy protocols we accept: AES-128 (RFC 3826) and AES-256 with Blumenthal key extension (Net-SNMP's `AES-256`). */
export type PrivProtocol = 'aes' | 'aes256';

/** Every accepted authentication protocol. */
export const AUTH_PROTOCOLS: readonly AuthProtocol[] = ['sha224', 'sha256', 'sha384', 'sha512'];
/** Every accepted privacy protocol. */
export const PRIV_PROTOCOLS: readonly PrivProtocol[] = ['aes', 'aes256'];

const AUTH = {
  sha224: { hash: 'sha224', macLen: 16 },
  sha256: { hash: 'sha256', macLen: 24 },
  sha384: { hash: 'sha384', macLen: 32 },
  sha512: { hash: 'sha512', macLen: 48 },
} as const;

/** Length of the truncated HMAC in msgAuthenticationParameters. */
export function macLength(p: AuthProtocol): number {
  return AUTH[p].macLen;
}

/** The net-snmp command-line name of a protocol (`-a SHA-256`, `-x AES-256`). */
export function toolName(p: AuthProtocol | PrivProtocol): string {
  return { sha224: 'SHA-224', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512', aes: 'AES', aes256: 'AES-256' }[
    p
  ];
}

/** RFC 3414 A.2 password-to-key (1 MiB of the repeated passphrase), then localised to `engineId`. */
export function localizeKey(p: AuthProtocol, passphrase: string, engineId: Buffer): Buffer {
  const pw = Buffer.from(passphrase, 'utf8');
  if (pw.length === 0) throw new Error('empty passphrase');
  const h = createHash(AUTH[p].hash);
  h.update(Buffer.alloc(1024 * 1024, pw));
  const ku = h.digest();
  return createHash(AUTH[p].hash)
    .update(Buffer.concat([ku, engineId, ku]))
    .digest();
}

/** HMAC over the whole message (with the authentication parameters zeroed), truncated. */
export function computeMac(p: AuthProtocol, authKey: Buffer, message: Buffer): Buffer {
  return createHmac(AUTH[p].hash, authKey).update(message).digest().subarray(0, AUTH[p].macLen);
}

/** Extends a localised privacy key to `len` bytes (Blumenthal draft, as Net-SNMP's AES-256). */
function privKeyBytes(p: AuthProtocol, privKul: Buffer, len: number): Buffer {
  let k = privKul;
  while (k.length < len) k = Buffer.concat([k, createHash(AUTH[p].hash).update(k).digest()]);
  return k.subarray(0, len);
}

function ivFor(boots: number, time: number, salt: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(boots >>> 0, 0);
  iv.writeUInt32BE(time >>> 0, 4);
  salt.copy(iv, 8, 0, 8);
  return iv;
}

function cipherName(p: PrivProtocol): { name: string; len: number } {
  return p === 'aes' ? { name: 'aes-128-cfb', len: 16 } : { name: 'aes-256-cfb', len: 32 };
}

/** Source of unique 64-bit salts (RFC 3826 3.1.2.1: an incrementing integer, random start). */
export class SaltCounter {
  private value = randomBytes(8).readBigUInt64BE();
  /** The next salt. */
  next(): Buffer {
    this.value = (this.value + 1n) & 0xffffffffffffffffn;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.value);
    return b;
  }
}

/** Encrypts a scoped PDU; returns the ciphertext and msgPrivacyParameters (the salt). */
export function encryptScopedPdu(
  priv: PrivProtocol,
  auth: AuthProtocol,
  privKul: Buffer,
  boots: number,
  time: number,
  salt: Buffer,
  plain: Buffer,
): { data: Buffer; privParams: Buffer } {
  const c = cipherName(priv);
  const cipher = createCipheriv(c.name, privKeyBytes(auth, privKul, c.len), ivFor(boots, time, salt));
  return { data: Buffer.concat([cipher.update(plain), cipher.final()]), privParams: salt };
}

/** Decrypts a scoped PDU. @throws Error when the privacy parameters are not an 8-byte salt. */
export function decryptScopedPdu(
  priv: PrivProtocol,
  auth: AuthProtocol,
  privKul: Buffer,
  boots: number,
  time: number,
  privParams: Buffer,
  data: Buffer,
): Buffer {
  if (privParams.length !== 8) throw new Error(`privacy parameters are ${privParams.length} bytes, AES needs 8`);
  const c = cipherName(priv);
  const d = createDecipheriv(c.name, privKeyBytes(auth, privKul, c.len), ivFor(boots, time, privParams));
  return Buffer.concat([d.update(data), d.final()]);
}
