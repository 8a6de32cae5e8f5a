/**
 * Redfish sessions: an unguessable 256-bit X-Auth-Token per login, an idle timeout (the
 * SessionService's SessionTimeout), and a limit on how many are open. Tokens are compared by
 * their SHA-256, so a timing difference reveals nothing about a stored token.
 */
import { hash, randomBytes, randomUUID } from 'node:crypto';

/** One open session. */
export interface Session {
  readonly id: string;
  readonly userName: string;
  readonly createdAt: number;
  lastUsed: number;
  readonly address: string;
  readonly context?: string;
}

function digest(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** Open sessions. */
export class SessionStore {
  private readonly byDigest = new Map<string, Session>();
  private readonly byId = new Map<string, { session: Session; digest: string }>();
  private readonly enders: Array<(s: Session) => void> = [];

  constructor(
    private readonly timeoutSeconds: () => number,
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session; undefined when the limit is reached. */
  create(userName: string, address: string, context?: string): { session: Session; token: string } | undefined {
    this.expire();
    if (this.byId.size >= this.limit) return undefined;
    const token = randomBytes(32).toString('base64url');
    const t = this.now();
    const session: Session = {
      id: randomUUID(),
      userName,
      createdAt: t,
      lastUsed: t,
      address,
      ...(context !== undefined ? { context } : {}),
    };
    const d = digest(token);
    this.byDigest.set(d, session);
    this.byId.set(session.id, { session, digest: d });
    return { session, token };
  }

  /** The live session of a token (its idle clock restarts), or undefined. */
  touch(token: string): Session | undefined {
    const s = this.byDigest.get(digest(token));
    if (!s) return undefined;
    const t = this.now();
    if (t - s.lastUsed > this.timeoutSeconds() * 1000) {
      this.remove(s.id);
      return undefined;
    }
    s.lastUsed = t;
    return s;
  }

  /** A live session by id. */
  get(id: string): Session | undefined {
    this.expire();
    return this.byId.get(id)?.session;
  }

  /** Every live session. */
  list(): Session[] {
    this.expire();
    return [...this.byId.values()].map((e) => e.session);
  }

  /** Calls `fn` whenever a session ends (logout, expiry, account change). */
  onEnd(fn: (s: Session) => void): void {
    this.enders.push(fn);
  }

  /** Closes a session; true when it existed. */
  remove(id: string): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.byId.delete(id);
    this.byDigest.delete(e.digest);
    for (const fn of this.enders) fn(e.session);
    return true;
  }

  /** Closes every session of a user (deleted account, new password, role change). */
  removeUser(userName: string): number {
    let n = 0;
    for (const s of this.list()) if (s.userName === userName && this.remove(s.id)) n++;
    return n;
  }

  /** Drops idle sessions. */
  expire(): void {
    const t = this.now();
    const max = this.timeoutSeconds() * 1000;
    for (const { session } of [...this.byId.values()]) if (t - session.lastUsed > max) this.remove(session.id);
  }
}
