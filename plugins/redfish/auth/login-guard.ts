/**
 * The gate every password check goes through (session login and HTTP Basic), so that a flood
 * of bogus logins costs the attacker's address, not the service:
 *
 * - **Per-source budget**: at most `failuresPerSource` failed logins per `windowSeconds` from one
 *   address; past it the address is refused at once (429, Retry-After) without hashing anything,
 *   until its oldest counted failure ages out. The refusal does not depend on the user name, so
 *   it reveals nothing about accounts.
 * - **Bounded hashing**: scrypt runs at most `concurrency` at a time (default: one core less
 *   than the machine has) with a short queue; an address may hold at most
 *   {@link PER_SOURCE_PENDING} checks in it. A full queue answers 503 with Retry-After.
 * - **Same cost for every failure**: unknown, locked, disabled and wrong-password logins all run
 *   one scrypt (see AccountStore.login), so response time does not reveal a lock.
 * - **Verified-credential cache**: a Basic-auth client sends its password with every request;
 *   a credential that verified in the last {@link CACHE_MS} is recognized by its keyed digest
 *   and not hashed again (and still passes while its address is over budget). An entry holds
 *   the account's hash, so a changed password, role or lock retires it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { RedfishError, baseMessage } from '../http/redfish-error.js';
import type { Account, AccountStore, LoginResult } from './accounts.js';

/** The policy knobs (the `plugins.redfish.loginLimits` config section). */
export interface LoginLimits {
  /** Failed logins one address may make per window before it is refused at once. */
  readonly failuresPerSource: number;
  readonly windowSeconds: number;
  /** Password checks at once; 0: one less than the CPUs (at least 1). */
  readonly concurrency: number;
  /** How long a refusal unchecked is held before it is sent (default {@link TARPIT_MS}; tests: 0). */
  readonly tarpitMs?: number;
}

/**
 * A refused login is answered after this long. A flooder that retries at once would otherwise
 * get thousands of cheap 429s a second and keep the event loop busy with them; held, 16
 * connections make 16 attempts a second. Holding costs a timer (the socket is the client's).
 */
export const TARPIT_MS = 1000;

/** Default policy. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { failuresPerSource: 10, windowSeconds: 60, concurrency: 0 };

/** Password checks one address may have running or queued. */
export const PER_SOURCE_PENDING = 4;
/** Password checks queued behind the running ones, all addresses together. */
const QUEUE_LIMIT = 64;
/** How long a verified Basic credential is recognized without hashing. */
export const CACHE_MS = 60_000;
const CACHE_ENTRIES = 256;
/** Addresses tracked at most (the oldest are forgotten first: a spoofed-address flood cannot grow memory). */
const SOURCES_TRACKED = 4096;

/** The guard's answer. */
export type GuardedLogin =
  | LoginResult
  | { ok: false; reason: 'throttled'; retryAfter: number }
  | { ok: false; reason: 'busy'; retryAfter: number };

interface Source {
  failures: number[];
  pending: number;
  /** Refused until this time (the last-Administrator lockout policy blocks the address instead). */
  blockedUntil: number;
}

/** Rate and concurrency limits in front of {@link AccountStore.login}. */
export class LoginGuard {
  private readonly sources = new Map<string, Source>();
  private readonly verified = new Map<string, { accountId: string; hash: string; at: number }>();
  private readonly cacheKey = randomBytes(32);
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly slots: number;

  constructor(
    private readonly accounts: AccountStore,
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    /** Called when the last Administrator reached the lockout threshold and its address was blocked instead. */
    private readonly onExempt: (userName: string, address: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = limits.concurrency > 0 ? limits.concurrency : Math.max(1, availableParallelism() - 1);
  }

  /** Checks a user name and password from `address` under the limits. */
  async login(userName: string, password: string, address: string): Promise<GuardedLogin> {
    const key = this.digest(userName, password);
    const cached = this.fromCache(key, userName);
    if (cached) return { ok: true, account: cached };
    const src = this.source(address);
    const t = this.now();
    const wait = this.retryAfter(src, t);
    if (wait > 0) return this.held({ ok: false, reason: 'throttled', retryAfter: wait });
    // Checks under way count against the budget too: a burst cannot overrun it while they run.
    if (src.pending >= PER_SOURCE_PENDING || src.failures.length + src.pending >= this.limits.failuresPerSource)
      return this.held({ ok: false, reason: 'throttled', retryAfter: 1 });
    if (this.running >= this.slots && this.waiting.length >= QUEUE_LIMIT)
      return this.held({ ok: false, reason: 'busy', retryAfter: 1 });
    src.pending++;
    try {
      await this.acquire();
      let r: LoginResult;
      try {
        r = await this.accounts.login(userName, password);
      } finally {
        this.release();
      }
      // A success does not clear the address's failures: one valid account must not buy another guess.
      if (r.ok) this.remember(key, r.account);
      else {
        if (r.reason === 'bad-password' && r.lockoutExempt) {
          const s = this.accounts.settings;
          this.blockSource(address, s.lockoutDuration > 0 ? s.lockoutDuration : this.limits.windowSeconds);
          this.onExempt(userName, address);
        }
        src.failures.push(this.now());
        if (src.failures.length > this.limits.failuresPerSource) src.failures.shift();
      }
      return r;
    } finally {
      src.pending--;
    }
  }

  /** Resolves with `r` after the tarpit delay. */
  private held<T>(r: T): Promise<T> {
    const ms = this.limits.tarpitMs ?? TARPIT_MS;
    return ms > 0 ? new Promise((resolve) => setTimeout(() => resolve(r), ms)) : Promise.resolve(r);
  }

  /** Refuses every password check from `address` for `seconds` (the last-Administrator policy). */
  blockSource(address: string, seconds: number): void {
    this.source(address).blockedUntil = this.now() + seconds * 1000;
  }

  /** Seconds until `address` may try again (0: now). */
  private retryAfter(src: Source, t: number): number {
    const windowMs = this.limits.windowSeconds * 1000;
    src.failures = src.failures.filter((f) => t - f < windowMs);
    let until = src.blockedUntil;
    if (src.failures.length >= this.limits.failuresPerSource)
      until = Math.max(until, (src.failures[0] ?? t) + windowMs);
    return until > t ? Math.ceil((until - t) / 1000) : 0;
  }

  private source(address: string): Source {
    let s = this.sources.get(address);
    if (s) {
      // Re-inserted: the map's order is least recently used first.
      this.sources.delete(address);
    } else {
      s = { failures: [], pending: 0, blockedUntil: 0 };
      if (this.sources.size >= SOURCES_TRACKED) {
        for (const [k, v] of this.sources) {
          if (v.pending === 0) {
            this.sources.delete(k);
            break;
          }
        }
      }
    }
    this.sources.set(address, s);
    return s;
  }

  private digest(userName: string, password: string): string {
    return createHmac('sha256', this.cacheKey).update(userName).update('\0').update(password).digest('base64url');
  }

  private fromCache(key: string, userName: string): Account | undefined {
    const hit = this.verified.get(key);
    if (!hit) return undefined;
    const a = this.accounts.list().find((x) => x.id === hit.accountId);
    if (
      !a ||
      a.userName !== userName ||
      this.now() - hit.at > CACHE_MS ||
      a.password.hash !== hit.hash ||
      !a.enabled ||
      this.accounts.isLocked(a)
    ) {
      this.verified.delete(key);
      return undefined;
    }
    return a;
  }

  private remember(key: string, a: Account): void {
    if (this.verified.size >= CACHE_ENTRIES) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, { accountId: a.id, hash: a.password.hash, at: this.now() });
  }

  private acquire(): Promise<void> {
    if (this.running < this.slots) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/**
 * The reply to a login the guard did not check: 429 for an address over its budget, 503 when
 * the service's password checks are all taken; both say when to retry.
 */
export function loginRefusal(r: { reason: 'throttled' | 'busy'; retryAfter: number }): RedfishError {
  const wait = String(r.retryAfter);
  const m = baseMessage('ServiceTemporarilyUnavailable', [wait]);
  const detail =
    r.reason === 'throttled'
      ? `too many failed logins from this address: retry in ${wait} s`
      : `too many logins being checked: retry in ${wait} s`;
  return new RedfishError(r.reason === 'throttled' ? 429 : 503, [{ ...m, Message: `${m.Message} (${detail})` }], {
    'Retry-After': wait,
  });
}
