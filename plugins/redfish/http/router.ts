/**
 * Route table of the Redfish service: URI templates (`/redfish/v1/Systems/{id}`), the privilege
 * registry entity each one is, and its method handlers. Matching is by path segments; the
 * methods a route has make its `Allow` header and its 405s.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from 'vpmd';

/** A JSON resource body. */
export type Resource = Record<string, unknown>;

/** What a handler is given. */
export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly address: string;
  readonly principal?: Principal;
  /** The session the request came in on, if any. */
  readonly sessionId?: string;
  /** Parsed JSON body of POST/PATCH (always an object there). */
  readonly body: Record<string, unknown>;
}

/** A non-default reply (201 with Location, 204, an SSE stream, XML). */
export interface Reply {
  readonly status: number;
  readonly body?: Resource | string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Set for replies that take over the raw response (SSE). */
  readonly stream?: (res: import('node:http').ServerResponse) => void;
}

/** Handlers of one route. */
export interface Route {
  /** URI template; `{name}` matches one segment. */
  readonly pattern: string;
  /** The privilege-registry entity (`ComputerSystem`, `ManagerAccount`, ...). */
  readonly entity: string;
  /** Methods that need no authentication (only Sessions POST has one). */
  readonly noAuth?: readonly string[];
  /**
   * The GET body is the same for every reader and changes only with host state: its reply may
   * be served from the response cache (see `response-cache.ts`). Not for bodies that depend
   * on who asks (sessions, accounts) or that must be exact to the moment (logs).
   */
  readonly shared?: boolean;
  /** The account owning this resource: ConfigureSelf applies only to its owner. */
  owner?(req: RouteRequest): string | undefined;
  get?(req: RouteRequest): Promise<Resource> | Resource;
  /** A GET answered with a non-JSON document (`$metadata`, the libvirt capabilities XML). */
  text?(req: RouteRequest): Promise<{ contentType: string; body: string }> | { contentType: string; body: string };
  /** A GET that becomes a stream (the SSE endpoint). */
  stream?(req: RouteRequest): Reply;
  patch?(req: RouteRequest): Promise<Resource | Reply> | Resource | Reply;
  post?(req: RouteRequest): Promise<Reply> | Reply;
  delete?(req: RouteRequest): Promise<Reply> | Reply;
}

interface Compiled {
  readonly route: Route;
  readonly parts: readonly string[];
}

type Match = { route: Route; params: Record<string, string> };

/** How many matched paths are remembered (a management client polls the same few URIs). */
const MATCH_CACHE_SIZE = 2048;

/** Routes matched by path. */
export class Router {
  private readonly routes: Compiled[] = [];
  /** path -> match (or null), valid until the next add(); oldest entry evicted first. */
  private readonly cache = new Map<string, Match | null>();

  /** Registers routes. */
  add(...routes: Route[]): void {
    for (const route of routes) this.routes.push({ route, parts: route.pattern.split('/').filter(Boolean) });
    this.cache.clear();
  }

  /** Every registered route. */
  list(): readonly Route[] {
    return this.routes.map((c) => c.route);
  }

  /**
   * The route for `path` with its parameters; literal routes win over templates. Callers get a
   * shared result: they must not modify it.
   */
  match(path: string): Match | undefined {
    const hit = this.cache.get(path);
    if (hit !== undefined) return hit ?? undefined;
    const found = this.search(path);
    if (this.cache.size >= MATCH_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(path, found ?? null);
    return found;
  }

  private search(path: string): Match | undefined {
    const segs = path.split('/').filter(Boolean);
    let best: { route: Route; params: Record<string, string>; literals: number } | undefined;
    for (const c of this.routes) {
      if (c.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = c.parts[i] as string;
        const s = segs[i] as string;
        if (p.startsWith('{')) params[p.slice(1, -1)] = decodeURIComponent(s);
        else if (p === s) literals++;
        else ok = false;
      }
      if (ok && (!best || literals > best.literals)) best = { route: c.route, params, literals };
    }
    return best && { route: best.route, params: best.params };
  }
}

const allowed = new WeakMap<Route, readonly string[]>();

/** The methods a route allows, for `Allow` and 405 (computed once per route). */
export function allowedMethods(route: Route): readonly string[] {
  const known = allowed.get(route);
  if (known) return known;
  const m: string[] = [];
  if (route.get || route.text || route.stream) m.push('GET', 'HEAD');
  if (route.post) m.push('POST');
  if (route.patch) m.push('PATCH');
  if (route.delete) m.push('DELETE');
  allowed.set(route, m);
  return m;
}
