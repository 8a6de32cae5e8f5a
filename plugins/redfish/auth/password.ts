/**
 * Password hashing: scrypt with a random 16-byte salt per password, parameters stored with the
 * hash so they can be raised later without invalidating existing accounts. Comparison is
 * constant-time. Clear passwords are never stored or logged.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { COMMON_PASSWORDS } from './common-passwords.js';

/** A stored password hash. */
export interface PasswordHash {
  readonly alg: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** base64 */
  readonly salt: string;
  /** base64 */
  readonly hash: string;
}

const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEYLEN = 32;

function derive(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEYLEN, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password with a fresh salt. */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return { alg: 'scrypt', ...PARAMS, salt: salt.toString('base64'), hash: key.toString('base64') };
}

/** True when `password` matches `stored`. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const key = await derive(password, Buffer.from(stored.salt, 'base64'), { N: stored.N, r: stored.r, p: stored.p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Shortest password accepted (AccountService MinPasswordLength). */
export const PASSWORD_MIN = 8;
/** Longest password accepted (AccountService MaxPasswordLength). */
export const PASSWORD_MAX = 128;

/** Character classes a password must mix (lower, upper, digit, other); {@link LONG_PASSWORD} and longer: two. */
export const PASSWORD_CLASSES = 3;
/** From this length a passphrase needs only two classes (length beats variety). */
export const LONG_PASSWORD = 16;

/** The policy in one sentence, served as AccountService PasswordGuidanceMessage. */
export const PASSWORD_GUIDANCE =
  `${PASSWORD_MIN} to ${PASSWORD_MAX} characters mixing at least ${PASSWORD_CLASSES} of lower case, upper case, ` +
  `digits and other characters (2 from ${LONG_PASSWORD} characters on); not the user name (nor reversed) ` +
  'and not a common password, also with digits or symbols around it; no control characters';

/** Why a password is refused: its length, or its content. */
export interface PasswordProblem {
  readonly kind: 'length' | 'complexity';
  readonly text: string;
}

function classes(password: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
}

/**
 * Returns why `password` is refused for `userName`, or undefined when the policy accepts it.
 * The reasons never repeat the password.
 */
export function passwordProblem(password: string, userName = ''): PasswordProblem | undefined {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    return {
      kind: 'length',
      text: `a password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters (got ${password.length})`,
    };
  }
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(password))
    return { kind: 'complexity', text: 'a password must not contain control characters' };
  const lower = password.toLowerCase();
  const core = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  const name = userName.toLowerCase();
  const reversed = [...name].reverse().join('');
  if (name !== '' && [lower, core].some((p) => p === name || p === reversed))
    return { kind: 'complexity', text: 'a password must not be the user name (nor the user name reversed)' };
  if (COMMON_PASSWORDS.has(lower) || (core.length >= 3 && COMMON_PASSWORDS.has(core)))
    return { kind: 'complexity', text: 'this is a common password (in the deny-list shipped with vpmd)' };
  const need = password.length >= LONG_PASSWORD ? 2 : PASSWORD_CLASSES;
  if (classes(password) < need)
    return {
      kind: 'complexity',
      text: `a password of ${password.length} characters must mix at least ${need} of lower case, upper case, digits and other characters`,
    };
  return undefined;
}
