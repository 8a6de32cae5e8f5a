/**
 * The request pipeline every Redfish URI goes through, in the order DSP0266 implies:
 * OData-Version (412) → `$` query options (501) → route (404) → method (405 + Allow) →
 * authentication (401 + WWW-Authenticate) → PasswordChangeRequired (403) → privileges from the
 * DMTF table (403) → body (400 MalformedJSON) → If-Match (412) → handler. Replies carry
 * OData-Version, Cache-Control, ETag, `Link: rel=describedby` and Allow. GET replies of shared
 * resources come from the {@link ResponseCache} when current; any other method retires it.
 */
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { allowsNoAuth, describe, requiredPrivileges, satisfies } from '../auth/privilege-check.js';
import { allowedMethods, type Reply, type Resource, type Route, type RouteRequest, type Router } from './router.js';
import { RedfishError, baseMessage, fail, toRedfishError } from './redfish-error.js';
import { ResponseCache, type CachedReply } from './response-cache.js';
import { applyQuery, parseQueryOptions, type QueryOptions } from './query.js';
import { loginRefusal } from '../auth/login-guard.js';
import { parseJsonBody } from './json-body.js';

/** A finished response, ready for the transport; shared between requests, so never modified. */
export interface Outcome extends CachedReply {
  readonly stream?: Reply['stream'];
}

/** The incoming request as the transport hands it over. */
export interface Incoming {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly address: string;
  readonly rawBody: string | undefined;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const BASE_HEADERS = { 'OData-Version': '4.0', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY' } as const;

/**
 * The ETag of a serialized resource body. Hashed every time: remembering the ETags of recent
 * bodies by their text cost more than SHA-1 itself (a map lookup hashes and compares the whole
 * text, 12.5 KB for an expanded sensor collection, where SHA-1 runs on the CPU's SHA extensions).
 */
function etagOfText(text: string): string {
  // One-shot hash: no Hash object per reply.
  return `"${hash('sha1', text, 'base64url')}"`;
}

/** The ETag of a resource body. */
export function etagOf(body: unknown): string {
  return etagOfText(JSON.stringify(body));
}

/** `Link` header for a resource: its JSON schema, by the namespace of `@odata.type`. */
function describedBy(body: Resource): string | undefined {
  const t = body['@odata.type'];
  if (typeof t !== 'string') return undefined;
  let link = describedByType.get(t);
  if (link === undefined) {
    const ns = /^#([A-Za-z0-9]+)\./.exec(t)?.[1];
    link = ns ? `</redfish/v1/JsonSchemas/${ns}>; rel=describedby` : '';
    // The served types are a fixed set; anything beyond is not remembered.
    if (describedByType.size < 512) describedByType.set(t, link);
  }
  return link || undefined;
}

/** `@odata.type` -> its `Link` header value ('' for none). */
const describedByType = new Map<string, string>();

/** Renders a RedfishError as an outcome. */
export function errorOutcome(e: RedfishError, extra: Record<string, string> = {}): Outcome {
  const body = JSON.stringify(e.body());
  return {
    status: e.status,
    headers: {
      ...BASE_HEADERS,
      'Content-Type': JSON_TYPE,
      ...extra,
      ...e.headers,
      'Content-Length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

function jsonOutcome(status: number, body: Resource, headers: Record<string, string>): Outcome {
  const link = describedBy(body);
  const text = JSON.stringify(body);
  // One literal, then plain assignments: on Node 20, adding keys to an object made by spreading
  // another (`{ ...BASE_HEADERS, ETag }`) takes a slow path, several microseconds per reply.
  const h: Record<string, string> = {
    'OData-Version': BASE_HEADERS['OData-Version'],
    'Cache-Control': BASE_HEADERS['Cache-Control'],
    'X-Frame-Options': BASE_HEADERS['X-Frame-Options'],
    'Content-Type': JSON_TYPE,
    ETag: etagOfText(text),
  };
  if (link) h.Link = link;
  for (const k in headers) h[k] = headers[k] as string;
  // The length is the body's also for HEAD, as HTTP wants.
  h['Content-Length'] = String(Buffer.byteLength(text));
  return { status, headers: h, body: text };
}

const NO_QUERY = new URLSearchParams();

function parseQuery(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return {
    path: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path,
    query: q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
  };
}

/** Who a request comes from, and whether its route needs nobody. */
interface Authenticated {
  readonly principal?: Principal;
  readonly sessionId?: string;
  readonly open: boolean;
  readonly mustChangePassword: boolean;
}

/** The request pipeline. */
export class Dispatcher {
  /**
   * @param cache replies of routes marked `shared`; the default keeps nothing. The dispatcher
   *   retires it after every request that may change something (any method but GET and HEAD).
   */
  constructor(
    private readonly deps: ServiceDeps,
    private readonly router: Router,
    private readonly cache: ResponseCache = new ResponseCache(0),
  ) {}

  /** Handles one request; never throws. */
  async handle(inc: Incoming): Promise<Outcome> {
    try {
      return await this.run(inc);
    } catch (e) {
      const err = toRedfishError(e);
      if (err.status >= 500)
        this.deps.ctx.log.error({ err: e, method: inc.method, url: inc.url }, 'redfish request failed');
      return errorOutcome(err);
    }
  }

  private async run(inc: Incoming): Promise<Outcome> {
    const method = inc.method.toUpperCase();
    const ov = inc.headers['odata-version'];
    if (ov !== undefined && ov !== '4.0') throw fail(412, 'HeaderInvalid', [`OData-Version: ${String(ov)}`]);
    const { path, query } = parseQuery(inc.url);
    const options = query === NO_QUERY ? undefined : parseQueryOptions(query);
    if (options && method !== 'GET' && method !== 'HEAD') throw fail(400, 'QueryNotSupportedOnOperation');

    // POST to a collection's /Members is POST to the collection.
    const collection =
      method === 'POST' && path.endsWith('/Members') ? this.router.match(path.slice(0, -'/Members'.length)) : undefined;
    const match = collection?.route.post ? collection : this.router.match(path);
    const auth = await this.authenticate(inc, match?.route, method);
    if (!match) {
      if (!auth.principal) throw this.unauthorized();
      throw fail(404, 'ResourceMissingAtURI', [path]);
    }
    const { route, params } = match;
    const allow = allowedMethods(route);
    const allowHeader = allow.join(', ');
    if (!allow.includes(method)) {
      if (!auth.principal && !auth.open) throw this.unauthorized();
      throw new RedfishError(405, [baseMessage('OperationNotAllowed')], { Allow: allowHeader });
    }
    if (!auth.open && !auth.principal) throw this.unauthorized();
    try {
      return await this.serve(inc, method, path, route, params, auth, allowHeader, options && { options, query });
    } catch (e) {
      // Refusals on an existing resource still tell the client which methods it has.
      const err = toRedfishError(e);
      throw new RedfishError(err.status, err.messages, { Allow: allowHeader, ...err.headers });
    } finally {
      // After the handler, even a failed one (it may have changed part of the state): a GET that
      // started meanwhile read the old state, and its reply must not be kept.
      if (method !== 'GET' && method !== 'HEAD') this.cache.invalidate();
    }
  }

  private async serve(
    inc: Incoming,
    method: string,
    path: string,
    route: Route,
    params: Record<string, string>,
    auth: Authenticated,
    allow: string,
    q?: { options: QueryOptions; query: URLSearchParams },
  ): Promise<Outcome> {
    const body =
      method === 'POST' || method === 'PATCH' ? parseJsonBody(inc.rawBody, this.deps.ctx.config.maxJsonDepth) : {};
    const req: RouteRequest = {
      method,
      path,
      params,
      headers: inc.headers,
      address: inc.address,
      body,
      ...(auth.principal ? { principal: auth.principal } : {}),
      ...(auth.sessionId !== undefined ? { sessionId: auth.sessionId } : {}),
    };
    if (auth.principal && !auth.open) this.authorize(route, req, auth.principal, auth.mustChangePassword);
    const headers = { Allow: allow };
    if (route.stream && method === 'HEAD')
      return { status: 200, headers: { ...BASE_HEADERS, ...headers, 'Content-Type': 'text/event-stream' } };
    if (route.stream && method === 'GET') return this.toOutcome(route.stream(req), headers);
    if ((method === 'GET' || method === 'HEAD') && route.text) {
      const doc = await route.text(req);
      return {
        status: 200,
        headers: { ...BASE_HEADERS, ...headers, 'Content-Type': doc.contentType },
        ...(method === 'HEAD' ? {} : { body: doc.body }),
      };
    }
    if (method === 'GET' || method === 'HEAD') {
      const out = q
        ? jsonOutcome(200, await this.query(route, req, auth, q.options, q.query), headers)
        : await this.read(route, req, headers);
      const inm = inc.headers['if-none-match'];
      if (inm !== undefined && inm === out.headers.ETag)
        return { status: 304, headers: { ...BASE_HEADERS, ETag: inm, ...headers } };
      return method === 'HEAD' ? { status: out.status, headers: out.headers } : out;
    }
    if ((method === 'PATCH' || method === 'DELETE') && inc.headers['if-match'] !== undefined && route.get) {
      const current = etagOf(await route.get(req));
      const wanted = String(inc.headers['if-match'])
        .split(',')
        .map((s) => s.trim());
      if (!wanted.includes('*') && !wanted.includes(current)) throw fail(412, 'PreconditionFailed');
    }
    // Called through the route (its handlers may use `this`); allowedMethods() checked it has one.
    const out = await (method === 'PATCH'
      ? route.patch?.(req)
      : method === 'POST'
        ? route.post?.(req)
        : route.delete?.(req));
    if (out === undefined) throw new RedfishError(405, [baseMessage('OperationNotAllowed')]);
    if (auth.principal) this.deps.ctx.access.audit(auth.principal, `redfish ${method} ${path}`, 'ok');
    return this.toOutcome(out, headers);
  }

  /** The GET reply of a JSON resource: from the cache when the route is shared and it is current. */
  private async read(route: Route, req: RouteRequest, headers: Record<string, string>): Promise<Outcome> {
    const shared = route.shared === true && this.cache.enabled;
    if (shared) {
      const hit = this.cache.get(req.path);
      if (hit) return hit;
    }
    const stamp = shared ? this.cache.begin() : undefined;
    const out = jsonOutcome(200, await (route.get as NonNullable<Route['get']>)(req), headers);
    if (stamp) this.cache.put(req.path, out, stamp);
    return out;
  }

  /**
   * A GET body with query options applied. Each resource an option reads (an expanded link, a
   * member `$filter` looks at) is read as a GET of the requester would be, privilege-checked,
   * once per request; one they may not read, or that is gone, stays a link.
   */
  private async query(
    route: Route,
    req: RouteRequest,
    auth: Authenticated,
    options: QueryOptions,
    query: URLSearchParams,
  ): Promise<Resource> {
    const body = await (route.get as NonNullable<Route['get']>)(req);
    const seen = new Map<string, Promise<Resource | undefined>>();
    const resolve = (uri: string): Promise<Resource | undefined> => {
      let known = seen.get(uri);
      if (!known) {
        known = this.readAs(uri, req, auth).catch(() => undefined);
        seen.set(uri, known);
      }
      return known;
    };
    return applyQuery(body, options, req.path, query, resolve);
  }

  /** The GET body of `uri` for the requester of `like`, or undefined when they may not read it. */
  private async readAs(uri: string, like: RouteRequest, auth: Authenticated): Promise<Resource | undefined> {
    const { path } = parseQuery(uri);
    const match = this.router.match(path);
    if (!match?.route.get || auth.mustChangePassword) return undefined;
    const req: RouteRequest = { ...like, method: 'GET', path, params: match.params, body: {} };
    const { route } = match;
    const open = route.noAuth?.includes('GET') === true || allowsNoAuth(requiredPrivilegesSafe(route.entity, 'GET'));
    if (!open && !auth.principal) return undefined;
    if (!open && !satisfies(auth.principal as Principal, requiredPrivileges(route.entity, 'GET'), route.owner?.(req)))
      return undefined;
    return (route.get as NonNullable<Route['get']>).call(route, req);
  }

  private toOutcome(out: Resource | Reply, headers: Record<string, string>): Outcome {
    if (!isReply(out)) return jsonOutcome(200, out, headers);
    if (out.stream) return { status: out.status, headers: { ...BASE_HEADERS, ...out.headers }, stream: out.stream };
    if (out.body === undefined) return { status: out.status, headers: { ...BASE_HEADERS, ...headers, ...out.headers } };
    if (typeof out.body === 'string')
      return { status: out.status, headers: { ...BASE_HEADERS, ...headers, ...out.headers }, body: out.body };
    return jsonOutcome(out.status, out.body, { ...headers, ...out.headers });
  }

  private unauthorized(): RedfishError {
    return new RedfishError(401, [baseMessage('NoValidSession')], {
      'WWW-Authenticate': 'Basic realm="vpmd Redfish", charset="UTF-8"',
    });
  }

  private authorize(route: Route, req: RouteRequest, principal: Principal, mustChange: boolean): void {
    const owner = route.owner?.(req);
    if (mustChange) {
      // Until the password is changed: own account GET, own Password PATCH, own session logout.
      const keys = Object.keys(req.body);
      const ownAccount = route.entity === 'ManagerAccount' && owner === principal.name;
      const ok =
        (ownAccount && (req.method === 'GET' || req.method === 'HEAD')) ||
        (ownAccount && req.method === 'PATCH' && keys.length > 0 && keys.every((k) => k === 'Password')) ||
        (route.entity === 'Session' && req.method === 'DELETE' && owner === principal.name);
      if (!ok)
        throw fail(403, 'PasswordChangeRequired', [
          `/redfish/v1/AccountService/Accounts/${this.deps.accounts.find(principal.name)?.id ?? ''}`,
        ]);
    }
    const alternatives = requiredPrivileges(
      route.entity,
      req.method,
      req.method === 'PATCH' ? Object.keys(req.body) : [],
    );
    if (satisfies(principal, alternatives, owner)) return;
    this.deps.ctx.access.audit(
      principal,
      `redfish ${req.method} ${req.path}`,
      'denied',
      `needs ${describe(alternatives)}`,
    );
    throw fail(403, 'InsufficientPrivilege');
  }

  private async authenticate(inc: Incoming, route: Route | undefined, method: string): Promise<Authenticated> {
    const open =
      route !== undefined &&
      (route.noAuth?.includes(method) === true || allowsNoAuth(requiredPrivilegesSafe(route.entity, method)));
    const token = inc.headers['x-auth-token'];
    const basic = inc.headers.authorization;
    if (typeof token === 'string') {
      const s = this.deps.sessions.touch(token);
      const a = s && this.deps.accounts.find(s.userName);
      if (!s || !a || !a.enabled) {
        if (open) return { open, mustChangePassword: false };
        throw this.unauthorized();
      }
      return {
        principal: { name: a.userName, role: a.role, origin: 'redfish', address: inc.address },
        sessionId: s.id,
        open,
        mustChangePassword: a.passwordChangeRequired,
      };
    }
    if (typeof basic === 'string' && /^basic /i.test(basic)) {
      const decoded = Buffer.from(basic.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const r = colon < 0 ? undefined : await this.deps.logins.login(user, decoded.slice(colon + 1), inc.address);
      if (!r?.ok) {
        if (r && (r.reason === 'throttled' || r.reason === 'busy')) {
          if (open) return { open, mustChangePassword: false };
          throw loginRefusal(r);
        }
        this.deps.ctx.access.audit(
          { name: user || '(none)', role: 'ReadOnly', origin: 'redfish', address: inc.address },
          'redfish basic login',
          'denied',
          r ? r.reason : 'malformed',
        );
        if (open) return { open, mustChangePassword: false };
        throw this.unauthorized();
      }
      const a = r.account;
      return {
        principal: { name: a.userName, role: a.role, origin: 'redfish', address: inc.address },
        open,
        mustChangePassword: a.passwordChangeRequired,
      };
    }
    return { open, mustChangePassword: false };
  }
}

function requiredPrivilegesSafe(entity: string, method: string): ReturnType<typeof requiredPrivileges> {
  try {
    return requiredPrivileges(entity, method);
  } catch {
    return [];
  }
}

function isReply(v: Resource | Reply): v is Reply {
  return (
    typeof (v as Reply).status === 'number' && ('body' in v || 'headers' in v || 'stream' in v) && !('@odata.id' in v)
  );
}
