/**
 * RMCP+ session establishment payloads (IPMI v2.0 section 13.17-13.23): Open Session and
 * RAKP messages 1-4, with the key-exchange codes each side computes. Pure functions: the
 * session module does the I/O, tests feed fixed vectors.
 */
import { VpmdError } from 'vpmd';
import { AUTH_CODES, CONF_CODES, INTEGRITY_CODES, type CipherSuite } from './cipher-suites.js';
import { deriveKeys, rakp4Length, rakpHmac, sameBytes, type SessionKeys } from './crypto.js';

/** RAKP / Open Session status codes (table 13-15). */
export const RAKP_STATUS: Readonly<Record<number, string>> = {
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session ID',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session ID',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter',
};

/** IPMI privilege levels. */
export const PRIVILEGE = { callback: 1, user: 2, operator: 3, administrator: 4 } as const;
/** A privilege level name. */
export type PrivilegeName = keyof typeof PRIVILEGE;

function algRecord(type: number, alg: number): number[] {
  return [type, 0, 0, 0x08, alg, 0, 0, 0];
}

/** Open Session Request payload. Privilege 0 asks for the highest the user may have. */
export function encodeOpenSession(tag: number, consoleSid: number, suite: CipherSuite, privilege: number): Buffer {
  const out = Buffer.alloc(8);
  out[0] = tag;
  out[1] = privilege & 0x0f;
  out.writeUInt32LE(consoleSid >>> 0, 4);
  return Buffer.concat([
    out,
    Buffer.from([
      ...algRecord(0, AUTH_CODES[suite.auth]),
      ...algRecord(1, INTEGRITY_CODES[suite.integrity]),
      ...algRecord(2, CONF_CODES[suite.conf]),
    ]),
  ]);
}

/** What the BMC granted in its Open Session Response. */
export interface OpenSessionResult {
  readonly tag: number;
  readonly privilege: number;
  readonly consoleSid: number;
  readonly bmcSid: number;
}

/** Names a non-zero RAKP status. */
export function rakpStatusError(step: string, status: number): VpmdError {
  const text = RAKP_STATUS[status] ?? `status 0x${status.toString(16)}`;
  if (status === 0x01 || status === 0x0b)
    return new VpmdError('E_IPMI_SESSION', `${step}: BMC has no free session (${text})`, { step, status });
  if (status === 0x0d || status === 0x0c)
    return new VpmdError('E_IPMI_AUTH', `${step}: BMC does not know this user name (${text})`, {
      step,
      status,
      check: 'user',
    });
  if (status === 0x09 || status === 0x0a)
    return new VpmdError('E_IPMI_AUTH', `${step}: privilege level refused (${text})`, {
      step,
      status,
      check: 'privilege',
    });
  if (status === 0x0f)
    return new VpmdError('E_IPMI_AUTH', `${step}: BMC rejected our key exchange code: wrong password (${text})`, {
      step,
      status,
      check: 'password',
    });
  if (status >= 0x04 && status <= 0x07)
    return new VpmdError('E_IPMI_CIPHER', `${step}: BMC refused the cipher suite (${text})`, { step, status });
  if (status === 0x10 || status === 0x11)
    return new VpmdError('E_IPMI_CIPHER', `${step}: BMC refused the cipher suite (${text})`, { step, status });
  return new VpmdError('E_IPMI_SESSION', `${step} failed: ${text}`, { step, status });
}

function need(buf: Buffer, n: number, what: string): void {
  if (buf.length < n)
    throw new VpmdError('E_IPMI_PROTOCOL', `${what} of ${buf.length} bytes is shorter than ${n}`, {
      length: buf.length,
    });
}

/** Decodes an Open Session Response. @throws per status, E_IPMI_PROTOCOL when short */
export function decodeOpenSession(p: Buffer): OpenSessionResult {
  need(p, 2, 'Open Session Response');
  if (p[1] !== 0) throw rakpStatusError('Open Session', p[1] ?? 0);
  need(p, 12, 'Open Session Response');
  return { tag: p[0] ?? 0, privilege: (p[2] ?? 0) & 0x0f, consoleSid: p.readUInt32LE(4), bmcSid: p.readUInt32LE(8) };
}

/** Everything both sides hash during RAKP. */
export interface RakpContext {
  readonly suite: CipherSuite;
  readonly consoleSid: number;
  readonly bmcSid: number;
  readonly consoleRandom: Buffer;
  /** Role byte sent in RAKP1: privilege | 0x10 (name-only lookup). */
  readonly role: number;
  readonly username: Buffer;
  readonly password: Buffer;
  /** KG (BMC key); the password when the BMC has none. */
  readonly kg: Buffer;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** RAKP message 1. */
export function encodeRakp1(tag: number, c: RakpContext): Buffer {
  const head = Buffer.alloc(28);
  head[0] = tag;
  head.writeUInt32LE(c.bmcSid >>> 0, 4);
  c.consoleRandom.copy(head, 8);
  head[24] = c.role;
  head[27] = c.username.length;
  return Buffer.concat([head, c.username]);
}

/** The fields of RAKP message 2. */
export interface Rakp2 {
  readonly bmcRandom: Buffer;
  readonly bmcGuid: Buffer;
  readonly authCode: Buffer;
}

/** Decodes RAKP message 2. */
export function decodeRakp2(p: Buffer): Rakp2 {
  need(p, 2, 'RAKP 2');
  if (p[1] !== 0) throw rakpStatusError('RAKP 2', p[1] ?? 0);
  need(p, 40, 'RAKP 2');
  return { bmcRandom: p.subarray(8, 24), bmcGuid: p.subarray(24, 40), authCode: p.subarray(40) };
}

/** RAKP2 code: HMAC(password, SIDm | SIDc | Rm | Rc | GUIDc | role | ulen | user). */
export function rakp2Code(c: RakpContext, r2: Pick<Rakp2, 'bmcRandom' | 'bmcGuid'>): Buffer {
  const input = Buffer.concat([
    u32(c.consoleSid),
    u32(c.bmcSid),
    c.consoleRandom,
    r2.bmcRandom,
    r2.bmcGuid,
    Buffer.from([c.role, c.username.length]),
    c.username,
  ]);
  return rakpHmac(c.suite.auth, c.password, input);
}

/** Session keys: SIK = HMAC(KG, Rm | Rc | role | ulen | user). */
export function sessionKeys(c: RakpContext, bmcRandom: Buffer): SessionKeys {
  return deriveKeys(
    c.suite.auth,
    c.kg,
    Buffer.concat([c.consoleRandom, bmcRandom, Buffer.from([c.role, c.username.length]), c.username]),
  );
}

/** RAKP message 3 with HMAC(password, Rc | SIDm | role | ulen | user). */
export function encodeRakp3(tag: number, c: RakpContext, bmcRandom: Buffer): Buffer {
  const code = rakpHmac(
    c.suite.auth,
    c.password,
    Buffer.concat([bmcRandom, u32(c.consoleSid), Buffer.from([c.role, c.username.length]), c.username]),
  );
  const head = Buffer.alloc(8);
  head[0] = tag;
  head.writeUInt32LE(c.bmcSid >>> 0, 4);
  return Buffer.concat([head, code]);
}

/** RAKP4 integrity check value: HMAC(SIK, Rm | SIDc | GUIDc), truncated. */
export function rakp4Code(c: RakpContext, sik: Buffer, bmcGuid: Buffer): Buffer {
  return rakpHmac(c.suite.auth, sik, Buffer.concat([c.consoleRandom, u32(c.bmcSid), bmcGuid])).subarray(
    0,
    rakp4Length(c.suite.auth),
  );
}

/**
 * Checks RAKP2's code. A mismatch means the BMC derived it from another password.
 * @throws E_IPMI_AUTH with details.check = 'password'
 */
export function verifyRakp2(c: RakpContext, r2: Rakp2): void {
  if (c.suite.auth === 'none') return;
  if (!sameBytes(rakp2Code(c, r2), r2.authCode)) {
    throw new VpmdError('E_IPMI_AUTH', 'RAKP 2 key exchange code does not match: wrong password for this user', {
      step: 'RAKP 2',
      check: 'password',
    });
  }
}

/**
 * Checks RAKP4. The password was already proven by RAKP2 and 3, so a mismatch here means the
 * SIK differs: a wrong KG (BMC key).
 * @throws E_IPMI_AUTH with details.check = 'kg'
 */
export function verifyRakp4(c: RakpContext, sik: Buffer, bmcGuid: Buffer, p: Buffer): void {
  need(p, 2, 'RAKP 4');
  if (p[1] !== 0) throw rakpStatusError('RAKP 4', p[1] ?? 0);
  need(p, 8, 'RAKP 4');
  if (c.suite.auth === 'none') return;
  if (!sameBytes(rakp4Code(c, sik, bmcGuid), p.subarray(8))) {
    throw new VpmdError('E_IPMI_AUTH', 'RAKP 4 integrity check value does not match: wrong KG (BMC key) for this BMC', {
      step: 'RAKP 4',
      check: 'kg',
    });
  }
}
