/**
 * One Redfish session per BMC: login with POST SessionService/Sessions (X-Auth-Token), a new
 * login when the BMC answers 401 mid-session (it expired or was deleted), DELETE of the session
 * on stop, HTTP Basic only when the BMC has no session service. GETs carry If-None-Match with
 * the last ETag of that URI and reuse the kept body on 304; a GET that timed out, could not
 * connect or got a 5xx is retried with doubling waits. Bodies that are not JSON objects fail
 * the request with E_REDFISH_BMC_REPLY.
 */
import { ConcurrencyLimiter, VpmdError } from 'vpmd';
import type { ResolvedRedfishTarget } from './config.js';
import { BmcTransport, type BmcReply } from './transport.js';

/** A JSON object as a BMC sends it. */
export type RfObject = { readonly [property: string]: unknown };

/** Request counters of one BMC. */
export interface SessionCounters {
  requests: number;
  notModified: number;
  retries: number;
  logins: number;
}

/** Timing of requests. */
export interface SessionTiming {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly requestsPerBmc: number;
  /** First wait before a retry, ms (doubles each time). */
  readonly retryBaseMs?: number;
}

const SESSIONS = '/redfish/v1/SessionService/Sessions';

/**
 * How many URIs of one BMC keep their last ETag and body. A poll re-reads a few dozen; a BMC's
 * log read entry by entry would otherwise keep a reply per entry for the agent's lifetime. The
 * least recently read go first.
 */
export const ETAG_PATHS_KEPT = 512;
/**
 * The reply text one BMC's kept bodies may hold in all (parsed, they take about twice that), and
 * the largest reply kept at all. A poll re-reads sensor and system bodies of a few KiB; an
 * expanded log collection runs to hundreds of KiB (1,000 entries: 0.9 MiB parsed), and keeping it
 * only spares re-reading entries the log marks skip anyway. Bounded by count alone, a soak's agent
 * gained such a body 40 minutes in (docs/running-for-real.md, "The step found").
 */
export const ETAG_TEXT_KEPT = 1 << 20;
export const ETAG_TEXT_KEPT_PER_REPLY = 1 << 18;
const RETRYABLE = new Set([500, 502, 503, 504]);

function redfishMessage(r: BmcReply): string {
  try {
    const j = JSON.parse(r.text) as { error?: { message?: string; '@Message.ExtendedInfo'?: { Message?: string }[] } };
    const info = j.error?.['@Message.ExtendedInfo']?.[0]?.Message;
    return info ?? j.error?.message ?? `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status}`;
  }
}

/** The error of a non-2xx answer. */
export function statusError(target: string, what: string, r: BmcReply): VpmdError {
  const message = `BMC ${target}: ${what}: HTTP ${r.status}: ${redfishMessage(r)}`;
  const details = { target, status: r.status };
  if (r.status === 401 || r.status === 403) return new VpmdError('E_REDFISH_BMC_AUTH', message, details);
  if (r.status === 404) return new VpmdError('E_REDFISH_BMC_NOT_FOUND', message, details);
  if (r.status >= 500) return new VpmdError('E_REDFISH_BMC_UNREACHABLE', message, { ...details, fault: 'server' });
  return new VpmdError('E_REDFISH_BMC_REFUSED', message, details);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A reply kept for `If-None-Match`: its ETag, parsed body and text length. */
interface KeptReply {
  readonly etag: string;
  readonly body: RfObject;
  readonly text: number;
}

/** The session with one BMC. */
export class BmcSession {
  readonly transport: BmcTransport;
  readonly counters: SessionCounters = { requests: 0, notModified: 0, retries: 0, logins: 0 };
  private token: string | undefined;
  private location: string | undefined;
  private basic = false;
  private login: Promise<void> | undefined;
  private readonly etags = new Map<string, KeptReply>();
  /** Sum of the kept replies' text lengths. */
  private keptText = 0;
  private closed = false;
  private readonly limiter: ConcurrencyLimiter;

  constructor(
    readonly target: ResolvedRedfishTarget,
    private readonly timing: SessionTiming,
    localAddress?: string,
  ) {
    this.transport = new BmcTransport(target, timing.timeoutMs, timing.requestsPerBmc, localAddress);
    this.limiter = new ConcurrencyLimiter(timing.requestsPerBmc);
  }

  /** True while a session token is held. */
  get loggedIn(): boolean {
    return this.token !== undefined || this.basic;
  }

  /** Headers that authenticate a request (logging in first when needed). */
  async authHeaders(): Promise<Record<string, string>> {
    if (this.closed) throw new VpmdError('E_REDFISH_BMC_UNREACHABLE', `BMC ${this.target.name}: session closed`, {});
    if (!this.loggedIn) {
      this.login ??= this.open().finally(() => {
        this.login = undefined;
      });
      await this.login;
    }
    if (this.basic)
      return {
        Authorization: `Basic ${Buffer.from(`${this.target.username}:${this.target.password}`).toString('base64')}`,
      };
    return { 'X-Auth-Token': this.token ?? '' };
  }

  private async open(): Promise<void> {
    this.counters.logins++;
    const body = JSON.stringify({ UserName: this.target.username, Password: this.target.password });
    const r = await this.transport.send('POST', SESSIONS, {}, body);
    this.counters.requests++;
    if (r.status === 404 || r.status === 405 || r.status === 501) {
      this.basic = true; // no session service: Basic on every request
      return;
    }
    if (r.status < 200 || r.status > 299) throw statusError(this.target.name, 'login', r);
    const token = r.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '')
      throw new VpmdError('E_REDFISH_BMC_REPLY', `BMC ${this.target.name}: login answer has no X-Auth-Token`, {
        target: this.target.name,
      });
    this.token = token;
    let location = r.headers.location;
    if (location === undefined) {
      try {
        location = (JSON.parse(r.text) as { '@odata.id'?: string })['@odata.id'];
      } catch {
        location = undefined;
      }
    }
    this.location = location === undefined ? undefined : new URL(location, this.target.origin).pathname;
  }

  /** Forgets the token (the BMC said 401) so the next request logs in again. */
  private dropToken(): void {
    this.token = undefined;
    this.location = undefined;
  }

  /**
   * One request with authentication; a 401 on a session token logs in again and repeats once;
   * `retry` repeats after transport faults and 5xx with doubling waits.
   */
  async request(
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; retry?: boolean } = {},
  ): Promise<BmcReply> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const attempts = opts.retry ? this.timing.retries + 1 : 1;
    let relogged = false;
    for (let attempt = 1; ; attempt++) {
      let r: BmcReply;
      try {
        const auth = await this.authHeaders();
        this.counters.requests++;
        r = await this.limiter.run(() => this.transport.send(method, path, { ...auth, ...opts.headers }, body));
      } catch (e) {
        if (attempt >= attempts || this.closed || (e as VpmdError).code !== 'E_REDFISH_BMC_UNREACHABLE') throw e;
        await this.backoff(attempt);
        continue;
      }
      if (r.status === 401 && !this.basic && !relogged) {
        relogged = true;
        attempt--;
        this.dropToken();
        continue;
      }
      if (RETRYABLE.has(r.status) && attempt < attempts) {
        await this.backoff(attempt);
        continue;
      }
      return r;
    }
  }

  private async backoff(attempt: number): Promise<void> {
    this.counters.retries++;
    await sleep((this.timing.retryBaseMs ?? 200) * 2 ** (attempt - 1));
  }

  /** GETs a resource as JSON (ETag-aware, retried). @throws E_REDFISH_BMC_* */
  async get(path: string): Promise<RfObject> {
    const kept = this.etags.get(path);
    const r = await this.request('GET', path, {
      retry: true,
      ...(kept ? { headers: { 'If-None-Match': kept.etag } } : {}),
    });
    if (r.status === 304 && kept) {
      this.counters.notModified++;
      this.keep(path, kept);
      return kept.body;
    }
    if (r.status !== 200) throw statusError(this.target.name, `GET ${path}`, r);
    const body = this.parse(`GET ${path}`, r);
    const etag = r.headers.etag;
    if (typeof etag === 'string' && etag !== '') this.keep(path, { etag, body, text: r.text.length });
    else this.forget(path);
    return body;
  }

  /**
   * Keeps `path`'s ETag and body as the most recently read; the least recently read go while more
   * than {@link ETAG_PATHS_KEPT} paths or {@link ETAG_TEXT_KEPT} of text are kept. A reply over
   * {@link ETAG_TEXT_KEPT_PER_REPLY} is not kept.
   */
  private keep(path: string, entry: KeptReply): void {
    this.forget(path);
    if (entry.text > ETAG_TEXT_KEPT_PER_REPLY) return;
    this.etags.set(path, entry);
    this.keptText += entry.text;
    // A Map iterates in insertion order: the first key is the least recently read.
    while (this.etags.size > ETAG_PATHS_KEPT || this.keptText > ETAG_TEXT_KEPT)
      this.forget(this.etags.keys().next().value as string);
  }

  private forget(path: string): void {
    const kept = this.etags.get(path);
    if (kept === undefined) return;
    this.etags.delete(path);
    this.keptText -= kept.text;
  }

  /**
   * GETs a resource every client may read without a session (the service root, DSP0266); a BMC
   * that wants credentials for it anyway is asked again with them. @throws E_REDFISH_BMC_*
   */
  async getPublic(path: string): Promise<RfObject> {
    const r = await this.limiter.run(() => this.transport.send('GET', path, {}));
    this.counters.requests++;
    if (r.status === 401 || r.status === 403) return this.get(path);
    if (r.status !== 200) throw statusError(this.target.name, `GET ${path}`, r);
    return this.parse(`GET ${path}`, r);
  }

  /** Parses an answer's JSON object. @throws E_REDFISH_BMC_REPLY */
  parse(what: string, r: BmcReply): RfObject {
    let v: unknown;
    try {
      v = JSON.parse(r.text);
    } catch (e) {
      throw new VpmdError(
        'E_REDFISH_BMC_REPLY',
        `BMC ${this.target.name}: ${what}: answer is not JSON (${(e as Error).message})`,
        { target: this.target.name },
      );
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new VpmdError('E_REDFISH_BMC_REPLY', `BMC ${this.target.name}: ${what}: answer is not a JSON object`, {
        target: this.target.name,
      });
    return v as RfObject;
  }

  /** PATCHes a resource, with If-Match when its ETag is known. @throws E_REDFISH_BMC_* */
  async patch(path: string, body: RfObject): Promise<void> {
    const etag = this.etags.get(path)?.etag;
    const r = await this.request('PATCH', path, { body, ...(etag ? { headers: { 'If-Match': etag } } : {}) });
    this.forget(path);
    if (r.status === 412) {
      // Changed since we read it: write what we mean once more without the stale precondition.
      const again = await this.request('PATCH', path, { body });
      if (again.status < 200 || again.status > 299) throw statusError(this.target.name, `PATCH ${path}`, again);
      return;
    }
    if (r.status < 200 || r.status > 299) throw statusError(this.target.name, `PATCH ${path}`, r);
  }

  /** POSTs an action. @throws E_REDFISH_BMC_* */
  async post(path: string, body: RfObject): Promise<BmcReply> {
    const r = await this.request('POST', path, { body });
    if (r.status < 200 || r.status > 299) throw statusError(this.target.name, `POST ${path}`, r);
    return r;
  }

  /** Logs out (DELETE of the session, best effort, bounded by the timeout) and closes connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    const location = this.location;
    const token = this.token;
    this.closed = true;
    this.dropToken();
    if (location !== undefined && token !== undefined) {
      await this.transport.send('DELETE', location, { 'X-Auth-Token': token }).catch(() => undefined);
    }
    this.transport.close();
  }
}
