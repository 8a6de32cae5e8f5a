/**
 * Scrape authentication: none (the allow-list alone), HTTP basic, or a bearer token. Secrets
 * are read from files at start (never from the config text, never logged) and compared in
 * constant time: both sides are hashed to fixed-length digests first, so neither the content
 * nor the length of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { VpmdError, describeSecretProblem, readSecretLine } from 'vpmd';
import type { PrometheusConfig } from '../config.js';

/** Checks one request's Authorization header. */
export interface ScrapeAuth {
  /** The scheme for WWW-Authenticate, or undefined when no auth is configured. */
  readonly scheme: 'Basic' | 'Bearer' | undefined;
  allows(authorization: string | undefined): boolean;
}

function configError(field: string, message: string): VpmdError {
  return new VpmdError('E_PROMETHEUS_CONFIG', `plugins.prometheus.auth.${field}: ${message}`, { field });
}

/** The first line of a secret file. @throws E_PROMETHEUS_CONFIG naming the field and the problem. */
export async function readSecretFile(field: string, path: string): Promise<string> {
  const r = await readSecretLine(path);
  if ('problem' in r) throw configError(field, describeSecretProblem(path, r.problem));
  return r.line;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time equality of two strings (through their SHA-256 digests). */
export function secretEquals(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/**
 * Builds the checker from the section, reading the secret files.
 * @throws E_PROMETHEUS_CONFIG for a missing field, a field of the other scheme, or an unusable file.
 */
export async function loadScrapeAuth(auth: PrometheusConfig['auth']): Promise<ScrapeAuth> {
  const unexpected = (field: keyof typeof auth, scheme: string): void => {
    if (auth[field] !== undefined) throw configError(field, `not used with type '${scheme}'; remove it`);
  };
  if (auth.type === 'none') {
    for (const f of ['username', 'passwordFile', 'tokenFile'] as const) unexpected(f, 'none');
    return { scheme: undefined, allows: () => true };
  }
  if (auth.type === 'bearer') {
    unexpected('username', 'bearer');
    unexpected('passwordFile', 'bearer');
    if (auth.tokenFile === undefined) throw configError('tokenFile', "required with type 'bearer'");
    const expected = digest(await readSecretFile('tokenFile', auth.tokenFile));
    return {
      scheme: 'Bearer',
      allows: (h) => {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(h ?? '');
        return m?.[1] !== undefined && secretEquals(m[1], expected);
      },
    };
  }
  unexpected('tokenFile', 'basic');
  if (auth.username === undefined) throw configError('username', "required with type 'basic'");
  if (auth.username.includes(':')) throw configError('username', "must not contain ':' (HTTP basic auth)");
  if (auth.passwordFile === undefined) throw configError('passwordFile', "required with type 'basic'");
  const password = await readSecretFile('passwordFile', auth.passwordFile);
  const expected = digest(`${auth.username}:${password}`);
  return {
    scheme: 'Basic',
    allows: (h) => {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h ?? '');
      return m?.[1] !== undefined && secretEquals(Buffer.from(m[1], 'base64').toString('utf8'), expected);
    },
  };
}
