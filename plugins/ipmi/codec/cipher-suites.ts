/**
 * RMCP+ cipher suites (IPMI v2.0 table 22-20) and the security floor a target accepts. Only
 * the SHA-1 and SHA-256 families are implemented: MD5-based suites (5-14) are refused.
 */

/** RAKP authentication algorithm. */
export type AuthAlg = 'none' | 'hmac-sha1' | 'hmac-sha256';
/** Session integrity algorithm. */
export type IntegrityAlg = 'none' | 'hmac-sha1-96' | 'hmac-sha256-128';
/** Session confidentiality algorithm. */
export type ConfAlg = 'none' | 'aes-cbc-128';

/** One cipher suite. */
export interface CipherSuite {
  readonly id: number;
  readonly auth: AuthAlg;
  readonly integrity: IntegrityAlg;
  readonly conf: ConfAlg;
}

/** Algorithm numbers on the wire (Open Session payload, Get Channel Cipher Suites). */
export const AUTH_CODES: Readonly<Record<AuthAlg, number>> = { none: 0, 'hmac-sha1': 1, 'hmac-sha256': 3 };
/** Integrity algorithm numbers on the wire. */
export const INTEGRITY_CODES: Readonly<Record<IntegrityAlg, number>> = {
  none: 0,
  'hmac-sha1-96': 1,
  'hmac-sha256-128': 4,
};
/** Confidentiality algorithm numbers on the wire. */
export const CONF_CODES: Readonly<Record<ConfAlg, number>> = { none: 0, 'aes-cbc-128': 1 };

/** The suites this client speaks, by id. */
export const CIPHER_SUITES: Readonly<Record<number, CipherSuite>> = {
  0: { id: 0, auth: 'none', integrity: 'none', conf: 'none' },
  1: { id: 1, auth: 'hmac-sha1', integrity: 'none', conf: 'none' },
  2: { id: 2, auth: 'hmac-sha1', integrity: 'hmac-sha1-96', conf: 'none' },
  3: { id: 3, auth: 'hmac-sha1', integrity: 'hmac-sha1-96', conf: 'aes-cbc-128' },
  15: { id: 15, auth: 'hmac-sha256', integrity: 'none', conf: 'none' },
  16: { id: 16, auth: 'hmac-sha256', integrity: 'hmac-sha256-128', conf: 'none' },
  17: { id: 17, auth: 'hmac-sha256', integrity: 'hmac-sha256-128', conf: 'aes-cbc-128' },
};

/** Preference order: strongest first. */
export const SUITE_PREFERENCE: readonly number[] = [17, 3, 16, 2, 15, 1, 0];

/**
 * The weakest protection a target accepts: `confidentiality` (default: integrity and AES, suites
 * 3 and 17), `integrity` (also 2 and 16), `none` (also 0, 1 and 15: plain-text sessions).
 */
export type CipherFloor = 'confidentiality' | 'integrity' | 'none';

/** True when `suite` meets `floor`. */
export function meetsFloor(suite: CipherSuite, floor: CipherFloor): boolean {
  if (floor === 'none') return true;
  if (suite.integrity === 'none') return false;
  return floor === 'integrity' || suite.conf !== 'none';
}

/**
 * Picks the strongest suite both sides speak that meets the floor. `offered` is the BMC's list
 * from Get Channel Cipher Suites (undefined when the BMC does not implement it: then 17 and 3
 * are tried in that order by the caller). `pinned` forces one suite.
 */
export function chooseSuites(
  offered: readonly number[] | undefined,
  floor: CipherFloor,
  pinned?: number,
): CipherSuite[] {
  const ids = pinned !== undefined ? [pinned] : SUITE_PREFERENCE;
  return ids
    .map((id) => CIPHER_SUITES[id])
    .filter(
      (s): s is CipherSuite =>
        s !== undefined && meetsFloor(s, floor) && (offered === undefined || offered.includes(s.id)),
    );
}

/**
 * Parses the cipher suite records of Get Channel Cipher Suites ("list algorithms by cipher
 * suite"): `C0 id auth integ conf` (standard) or `C1 id iana(3) auth integ conf` (OEM, skipped).
 */
export function parseCipherSuiteRecords(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i];
    if (tag === 0xc0) {
      const id = bytes[i + 1];
      if (id !== undefined) ids.push(id);
      i += 2;
      while (i < bytes.length && (bytes[i] ?? 0) < 0xc0) i++;
    } else if (tag === 0xc1) {
      i += 5;
      while (i < bytes.length && (bytes[i] ?? 0) < 0xc0) i++;
    } else i++;
  }
  return ids;
}
