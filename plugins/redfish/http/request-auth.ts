/**
 * Who a request comes from: a session token (a digest looked up in the session store, no
 * password work), or Basic credentials through the login guard; and whether the route needs
 * anyone at all. Part of the pipeline in dispatch.ts.
 */
import type { Principal } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { allowsNoAuth, requiredPrivileges } from '../auth/privilege-check.js';
import { loginRefusal } from '../auth/login-guard.js';
import { RedfishError, baseMessage } from './redfish-error.js';
import type { Route } from './router.js';
import type { IncomingHttpHeaders } from 'node:http';

/** The incoming request as the transport hands it over. */
export interface Incoming {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly address: string;
  readonly rawBody: string | undefined;
}

/** Who a request comes from, and whether its route needs nobody. */
export interface Authenticated {
  readonly principal?: Principal;
  readonly sessionId?: string;
  readonly open: boolean;
  readonly mustChangePassword: boolean;
}

/** 401 with the Basic challenge. */
export function unauthorized(): RedfishError {
  return new RedfishError(401, [baseMessage('NoValidSession')], {
    'WWW-Authenticate': 'Basic realm="vpmd Redfish", charset="UTF-8"',
  });
}

/** Synchronous for a session token; basic authentication checks the password (asynchronous). */
export function authenticate(
  deps: ServiceDeps,
  inc: Incoming,
  route: Route | undefined,
  method: string,
): Authenticated | Promise<Authenticated> {
  const open = route !== undefined && isOpen(route, method);
  const token = inc.headers['x-auth-token'];
  const header = inc.headers.authorization;
  if (typeof token === 'string') {
    const s = deps.sessions.touch(token);
    const a = s && deps.accounts.find(s.userName);
    if (!s || !a || !a.enabled) {
      if (open) return { open, mustChangePassword: false };
      throw unauthorized();
    }
    return {
      principal: { name: a.userName, role: a.role, origin: 'redfish', address: inc.address },
      sessionId: s.id,
      open,
      mustChangePassword: a.passwordChangeRequired,
    };
  }
  if (typeof header === 'string' && /^basic /i.test(header)) return basic(deps, inc, header, open);
  return { open, mustChangePassword: false };
}

/** Basic authentication: the password is checked by the login guard (cached, throttled). */
async function basic(deps: ServiceDeps, inc: Incoming, header: string, open: boolean): Promise<Authenticated> {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const r = colon < 0 ? undefined : await deps.logins.login(user, decoded.slice(colon + 1), inc.address);
  if (!r?.ok) {
    if (r && (r.reason === 'throttled' || r.reason === 'busy')) {
      if (open) return { open, mustChangePassword: false };
      throw loginRefusal(r);
    }
    deps.ctx.access.audit(
      { name: user || '(none)', role: 'ReadOnly', origin: 'redfish', address: inc.address },
      'redfish basic login',
      'denied',
      r ? r.reason : 'malformed',
    );
    if (open) return { open, mustChangePassword: false };
    throw unauthorized();
  }
  const a = r.account;
  return {
    principal: { name: a.userName, role: a.role, origin: 'redfish', address: inc.address },
    open,
    mustChangePassword: a.passwordChangeRequired,
  };
}

/** Route -> method -> whether it needs no authentication (from the static table). */
const openOf = new WeakMap<Route, Map<string, boolean>>();

/** True when `method` on `route` needs no authentication; computed once per route and method. */
function isOpen(route: Route, method: string): boolean {
  let methods = openOf.get(route);
  if (methods === undefined) {
    methods = new Map();
    openOf.set(route, methods);
  }
  let open = methods.get(method);
  if (open === undefined) {
    open = route.noAuth?.includes(method) === true || allowsNoAuth(requiredPrivilegesSafe(route.entity, method));
    // Only the methods Node parses reach here, a bounded set.
    methods.set(method, open);
  }
  return open;
}

/** Whether a route's GET needs authentication, and the privileges it needs (from the static table). */
const getPrivilegesOf = new WeakMap<Route, { open: boolean; alternatives: ReturnType<typeof requiredPrivileges> }>();

/** {@link getPrivilegesOf}, computed once per route: `$expand` asks it for every member. */
export function getPrivileges(route: Route): { open: boolean; alternatives: ReturnType<typeof requiredPrivileges> } {
  let p = getPrivilegesOf.get(route);
  if (p === undefined) {
    const alternatives = requiredPrivilegesSafe(route.entity, 'GET');
    p = { open: route.noAuth?.includes('GET') === true || allowsNoAuth(alternatives), alternatives };
    getPrivilegesOf.set(route, p);
  }
  return p;
}

function requiredPrivilegesSafe(entity: string, method: string): ReturnType<typeof requiredPrivileges> {
  try {
    return requiredPrivileges(entity, method);
  } catch {
    return [];
  }
}
