/**
 * The request pipeline every Redfish URI goes through, in the order DSP0266 implies:
 * OData-Version (412) → `$` query options (501) → route (404) → method (405 + Allow) →
 * authentication (401 + WWW-Authenticate) → PasswordChangeRequired (403) → privileges from the
 * DMTF table (403) → body (400 MalformedJSON) → If-Match (412) → handler. Replies carry
 * OData-Version, Cache-Control, ETag, `Link: rel=describedby` and Allow. GET replies of shared
 * resources come from the {@link ResponseCache} when current; any other method retires it.
 */
import type { Principal } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { describe, requiredPrivileges, satisfies } from '../auth/privilege-check.js';
import { allowedMethods, type Reply, type Resource, type Route, type RouteRequest, type Router } from './router.js';
import { RedfishError, baseMessage, fail, toRedfishError } from './redfish-error.js';
import { ResponseCache } from './response-cache.js';
import { applyQuery, isPromise, parseQueryOptions, type QueryOptions } from './query.js';
import { authenticate, getPrivileges, unauthorized, type Authenticated, type Incoming } from './request-auth.js';

export type { Incoming } from './request-auth.js';
import { parseJsonBody } from './json-body.js';
import { BASE_HEADERS, errorOutcome, etagOf, jsonOutcome, type Outcome } from './outcome.js';

export { errorOutcome, type Outcome } from './outcome.js';

const NO_QUERY = new URLSearchParams();
/** The body of a request that has none (GET): shared, so frozen. */
const EMPTY_BODY: Record<string, unknown> = Object.freeze({});

/** The path (without a trailing slash) and query of a request URL. */
function parseQuery(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return {
    path: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path,
    query: q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
  };
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

  /**
   * Handles one request; never throws, and never rejects. Synchronous when nothing on the way
   * waits (a GET with a session token of a resource built in memory): each `await` is a
   * microtask hop, and a poller's request has about ten of them otherwise.
   */
  handle(inc: Incoming): Outcome | Promise<Outcome> {
    try {
      const out = this.run(inc);
      return isPromise(out) ? out.catch((e: unknown) => this.failed(inc, e)) : out;
    } catch (e) {
      return this.failed(inc, e);
    }
  }

  private failed(inc: Incoming, e: unknown): Outcome {
    const err = toRedfishError(e);
    if (err.status >= 500)
      this.deps.ctx.log.error({ err: e, method: inc.method, url: inc.url }, 'redfish request failed');
    return errorOutcome(err);
  }

  private run(inc: Incoming): Outcome | Promise<Outcome> {
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
    const q = options && { options, query };
    const auth = authenticate(this.deps, inc, match?.route, method);
    return isPromise(auth)
      ? auth.then((a) => this.routed(inc, method, path, match, a, q))
      : this.routed(inc, method, path, match, auth, q);
  }

  /** The rest of the pipeline once the requester is known. */
  private routed(
    inc: Incoming,
    method: string,
    path: string,
    match: ReturnType<Router['match']>,
    auth: Authenticated,
    q: { options: QueryOptions; query: URLSearchParams } | undefined,
  ): Outcome | Promise<Outcome> {
    if (!match) {
      if (!auth.principal) throw unauthorized();
      throw fail(404, 'ResourceMissingAtURI', [path]);
    }
    const { route, params } = match;
    const allow = allowedMethods(route);
    const allowHeader = allow.join(', ');
    if (!allow.includes(method)) {
      if (!auth.principal && !auth.open) throw unauthorized();
      throw new RedfishError(405, [baseMessage('OperationNotAllowed')], { Allow: allowHeader });
    }
    if (!auth.open && !auth.principal) throw unauthorized();
    // Refusals on an existing resource still tell the client which methods it has.
    const refused = (e: unknown): never => {
      const err = toRedfishError(e);
      throw new RedfishError(err.status, err.messages, { Allow: allowHeader, ...err.headers });
    };
    if (method === 'GET' || method === 'HEAD') {
      try {
        const out = this.serve(inc, method, path, route, params, auth, allowHeader, q);
        return isPromise(out) ? out.catch(refused) : out;
      } catch (e) {
        return refused(e);
      }
    }
    // After the handler, even a failed one (it may have changed part of the state): a GET that
    // started meanwhile read the old state, and its reply must not be kept.
    return (async () => {
      try {
        return await this.serve(inc, method, path, route, params, auth, allowHeader, q);
      } catch (e) {
        return refused(e);
      } finally {
        this.cache.invalidate();
      }
    })();
  }

  private serve(
    inc: Incoming,
    method: string,
    path: string,
    route: Route,
    params: Record<string, string>,
    auth: Authenticated,
    allow: string,
    q?: { options: QueryOptions; query: URLSearchParams },
  ): Outcome | Promise<Outcome> {
    const body =
      method === 'POST' || method === 'PATCH' ? parseJsonBody(inc.rawBody, this.deps.ctx.config.maxJsonDepth) : {};
    const req: RouteRequest =
      auth.principal === undefined
        ? { method, path, params, headers: inc.headers, address: inc.address, body }
        : auth.sessionId === undefined
          ? { method, path, params, headers: inc.headers, address: inc.address, body, principal: auth.principal }
          : {
              method,
              path,
              params,
              headers: inc.headers,
              address: inc.address,
              body,
              principal: auth.principal,
              sessionId: auth.sessionId,
            };
    if (auth.principal && !auth.open) this.authorize(route, req, auth.principal, auth.mustChangePassword);
    const headers = { Allow: allow };
    if (route.stream && method === 'HEAD')
      return { status: 200, headers: { ...BASE_HEADERS, ...headers, 'Content-Type': 'text/event-stream' } };
    if (route.stream && method === 'GET') return this.toOutcome(route.stream(req), headers);
    if ((method === 'GET' || method === 'HEAD') && route.text) return this.textOutcome(route, req, method, headers);
    if (method === 'GET' || method === 'HEAD') {
      const finish = (out: Outcome): Outcome => {
        const inm = inc.headers['if-none-match'];
        if (inm !== undefined && inm === out.headers.ETag)
          return { status: 304, headers: { ...BASE_HEADERS, ETag: inm, ...headers } };
        return method === 'HEAD' ? { status: out.status, headers: out.headers } : out;
      };
      const out = q ? this.query(route, req, auth, q.options, q.query, headers) : this.read(route, req, headers);
      return isPromise(out) ? out.then(finish) : finish(out);
    }
    return this.change(inc, method, path, route, req, auth, headers);
  }

  private async textOutcome(
    route: Route,
    req: RouteRequest,
    method: string,
    headers: Record<string, string>,
  ): Promise<Outcome> {
    const doc = await (route.text as NonNullable<Route['text']>)(req);
    return {
      status: 200,
      headers: { ...BASE_HEADERS, ...headers, 'Content-Type': doc.contentType },
      ...(method === 'HEAD' ? {} : { body: doc.body }),
    };
  }

  /** PATCH, POST or DELETE: If-Match, the handler, the audit entry. */
  private async change(
    inc: Incoming,
    method: string,
    path: string,
    route: Route,
    req: RouteRequest,
    auth: Authenticated,
    headers: Record<string, string>,
  ): Promise<Outcome> {
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
  private read(route: Route, req: RouteRequest, headers: Record<string, string>): Outcome | Promise<Outcome> {
    const shared = route.shared === true && this.cache.enabled;
    if (shared) {
      const hit = this.cache.get(req.path);
      if (hit) return hit;
    }
    const stamp = shared ? this.cache.begin() : undefined;
    const reply = (body: Resource): Outcome => {
      const out = jsonOutcome(200, body, headers);
      if (stamp) this.cache.put(req.path, out, stamp);
      return out;
    };
    // Called through the route (its handlers may use `this`).
    const body = (route.get as NonNullable<Route['get']>).call(route, req);
    return isPromise(body) ? body.then(reply) : reply(body);
  }

  /**
   * A GET reply with query options applied. Each resource an option reads (an expanded link, a
   * member `$filter` looks at) is read as a GET of the requester would be, privilege-checked,
   * once per request; one they may not read, or that is gone, stays a link.
   */
  private query(
    route: Route,
    req: RouteRequest,
    auth: Authenticated,
    options: QueryOptions,
    query: URLSearchParams,
    headers: Record<string, string>,
  ): Outcome | Promise<Outcome> {
    const seen = new Map<string, Resource | undefined | Promise<Resource | undefined>>();
    const resolve = (uri: string): Resource | undefined | Promise<Resource | undefined> => {
      if (seen.has(uri)) return seen.get(uri);
      let known: Resource | undefined | Promise<Resource | undefined>;
      try {
        known = this.readAs(uri, req, auth);
        if (isPromise(known)) known = known.catch(() => undefined);
      } catch {
        known = undefined;
      }
      seen.set(uri, known);
      return known;
    };
    const reply = (body: Resource): Outcome | Promise<Outcome> => {
      const out = applyQuery(body, options, req.path, query, resolve);
      return isPromise(out) ? out.then((b) => jsonOutcome(200, b, headers)) : jsonOutcome(200, out, headers);
    };
    const body = (route.get as NonNullable<Route['get']>).call(route, req);
    return isPromise(body) ? body.then(reply) : reply(body);
  }

  /**
   * The GET body of `uri` for the requester of `like`, or undefined when they may not read it.
   * May throw (the caller keeps the link).
   */
  private readAs(
    uri: string,
    like: RouteRequest,
    auth: Authenticated,
  ): Resource | undefined | Promise<Resource | undefined> {
    // Member links have no query and no trailing slash: no parsing for them.
    const path = uri.indexOf('?') < 0 && !uri.endsWith('/') ? uri : parseQuery(uri).path;
    const match = this.router.match(path);
    if (!match?.route.get || auth.mustChangePassword) return undefined;
    const { route } = match;
    // Its own request (one per expanded member): one literal, without spreads or properties added
    // afterwards, each of which grew the object again (a tenth of an expansion's garbage).
    const req: RouteRequest = {
      method: 'GET',
      path,
      params: match.params,
      headers: like.headers,
      address: like.address,
      body: EMPTY_BODY,
      principal: like.principal,
      sessionId: like.sessionId,
    };
    const get = getPrivileges(route);
    if (!get.open && !auth.principal) return undefined;
    if (!get.open && !satisfies(auth.principal as Principal, get.alternatives, route.owner?.(req))) return undefined;
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
}

function isReply(v: Resource | Reply): v is Reply {
  return (
    typeof (v as Reply).status === 'number' && ('body' in v || 'headers' in v || 'stream' in v) && !('@odata.id' in v)
  );
}
