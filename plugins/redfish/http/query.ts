/**
 * The query parameters of DSP0266 this service supports on GET and HEAD: `only`, `$filter`,
 * `$skip`, `$top`, `$expand` (`*`, `.`, `~`, each with `($levels=N)`) and `$select`, applied in
 * that order (DSP0266's). Another `$` parameter is 501 QueryParameterUnsupported; a bad value is
 * 400 with the Base message that names it; other parameters are ignored. `ProtocolFeaturesSupported`
 * of the service root is built from {@link QUERY_FEATURES}, so it says exactly this.
 */
import { baseMessage, fail, RedfishError } from './redfish-error.js';
import { FilterSyntaxError, matchesFilter, parseFilter, type FilterExpr } from './filter.js';
import type { Resource } from './router.js';
import { Built } from './json-text.js';

/** Deepest `$levels` accepted. */
export const MAX_EXPAND_LEVELS = 6;
/** Most resources one request may expand; links beyond it stay links. */
export const MAX_EXPANDED = 5000;

/** `ProtocolFeaturesSupported` of the service root: what this module implements. */
export const QUERY_FEATURES = {
  ExpandQuery: { ExpandAll: true, Levels: true, Links: true, NoLinks: true, MaxLevels: MAX_EXPAND_LEVELS },
  FilterQuery: true,
  FilterQueryComparisonOperations: true,
  FilterQueryCompoundOperations: true,
  SelectQuery: true,
  TopSkipQuery: true,
  OnlyMemberQuery: true,
  ExcerptQuery: false,
  DeepOperations: { DeepPATCH: false, DeepPOST: false },
  MultipleHTTPRequests: false,
} as const;

/** Parsed query options of one request. */
export interface QueryOptions {
  readonly only?: true;
  readonly filter?: FilterExpr;
  readonly skip?: number;
  readonly top?: number;
  readonly expand?: { readonly mode: '*' | '.' | '~'; readonly levels: number };
  readonly select?: readonly (readonly string[])[];
}

const KNOWN = new Set(['$filter', '$skip', '$top', '$expand', '$select']);

function integer(name: string, v: string): number {
  if (!/^\d{1,9}$/.test(v)) throw fail(400, 'QueryParameterValueTypeError', [v, name]);
  return Number(v);
}

/**
 * The options of a query string, or undefined when it has none this service acts on.
 * @throws RedfishError 501 for an unknown `$` parameter, 400 for a bad value or combination
 */
export function parseQueryOptions(query: URLSearchParams): QueryOptions | undefined {
  let any = false;
  const out: { -readonly [K in keyof QueryOptions]: QueryOptions[K] } = {};
  for (const [key, value] of query) {
    if (key.startsWith('$') && !KNOWN.has(key)) throw fail(501, 'QueryParameterUnsupported', [key]);
    if (key === 'only') {
      if (value !== '') throw fail(400, 'QueryParameterValueFormatError', [value, 'only']);
      out.only = true;
    } else if (key === '$filter') {
      try {
        out.filter = parseFilter(value);
      } catch (e) {
        if (!(e instanceof FilterSyntaxError)) throw e;
        const m = baseMessage('QueryParameterValueFormatError', [value, '$filter']);
        throw new RedfishError(400, [{ ...m, Message: `${m.Message} (${e.message})` }]);
      }
    } else if (key === '$skip') out.skip = integer(key, value);
    else if (key === '$top') out.top = integer(key, value);
    else if (key === '$expand') {
      const m = /^([*.~])(?:\(\$levels=(\d{1,3})\))?$/.exec(value);
      if (!m) throw fail(400, 'QueryParameterValueFormatError', [value, '$expand']);
      const levels = m[2] === undefined ? 1 : Number(m[2]);
      if (levels < 1 || levels > MAX_EXPAND_LEVELS)
        throw fail(400, 'QueryParameterOutOfRange', [String(levels), '$levels', `1-${MAX_EXPAND_LEVELS}`]);
      out.expand = { mode: m[1] as '*', levels };
    } else if (key === '$select') {
      const paths = value.split(',').map((p) => p.trim());
      if (paths.some((p) => !/^[A-Za-z_@#][\w@.#]*(\/[A-Za-z_@#][\w@.#]*)*$/.test(p)))
        throw fail(400, 'QueryParameterValueFormatError', [value, '$select']);
      out.select = paths.map((p) => p.split('/'));
    } else continue;
    any = true;
  }
  if (out.only && Object.keys(out).length > 1) throw fail(400, 'QueryCombinationInvalid');
  return any ? out : undefined;
}

/**
 * Reads another resource for the requester; undefined when it is absent or not theirs to read.
 * Synchronous when the resource's handler is: `$expand` then makes no promise per member.
 */
export type Resolver = (uri: string) => Resource | undefined | Promise<Resource | undefined>;

function isCollection(body: Resource): boolean {
  return Array.isArray(body.Members) && typeof body['Members@odata.count'] === 'number';
}

function isReference(v: unknown): v is { '@odata.id': string } {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof (v as Record<string, unknown>)['@odata.id'] === 'string' &&
    Object.keys(v).length === 1
  );
}

/** Keeps the `$select`ed properties (and the OData annotations of every object kept). */
function select(body: Resource, paths: readonly (readonly string[])[]): Resource {
  const out: Resource = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.startsWith('@odata.')) {
      out[k] = v;
      continue;
    }
    const under = paths.filter((p) => p[0] === k);
    if (under.length === 0) continue;
    const deeper = under.filter((p) => p.length > 1).map((p) => p.slice(1));
    out[k] =
      deeper.length === under.length && v !== null && typeof v === 'object' && !Array.isArray(v)
        ? select(v as Resource, deeper)
        : v;
  }
  return out;
}

/**
 * Applies the options to a GET body. `path` is the request path (for `Members@odata.nextLink`).
 * Synchronous when nothing it resolves is a promise (an expanded collection of sensors).
 */
export function applyQuery(
  body: Resource,
  q: QueryOptions,
  path: string,
  query: URLSearchParams,
  resolve: Resolver,
): Resource | Promise<Resource> {
  const collection = isCollection(body);
  if (q.only) {
    if (!collection) throw fail(400, 'QueryNotSupportedOnResource');
    const members = body.Members as unknown[];
    if (members.length !== 1) return body;
    const only = members[0];
    if (!isReference(only)) return only as Resource;
    const got = resolve(only['@odata.id']);
    return isPromise(got) ? got.then((r) => r ?? body) : (got ?? body);
  }
  if (collection && q.filter) {
    const f = q.filter;
    const members = body.Members as unknown[];
    return Promise.all(members.map((m) => (isReference(m) ? resolve(m['@odata.id']) : m))).then((bodies) =>
      expandSelect(
        page(
          body,
          members.filter((_m, i) => bodies[i] !== undefined && matchesFilter(f, bodies[i])),
          q,
          path,
          query,
        ),
        q,
        collection,
        resolve,
      ),
    );
  }
  const paged =
    collection && (q.skip !== undefined || q.top !== undefined)
      ? page(body, body.Members as unknown[], q, path, query)
      : body;
  return expandSelect(paged, q, collection, resolve);
}

/** Whether a value that may or may not be a promise is one (the pipeline stays synchronous when it can). */
export const isPromise = (x: unknown): x is Promise<unknown> => x instanceof Promise;

/** `$skip` and `$top` of the (filtered) `members` of a collection, with its nextLink. */
function page(body: Resource, members: unknown[], q: QueryOptions, path: string, query: URLSearchParams): Resource {
  const count = members.length;
  const skip = q.skip ?? 0;
  const kept = members.slice(skip, q.top === undefined ? undefined : skip + q.top);
  const out: Resource = { ...body, Members: kept, 'Members@odata.count': count };
  delete out['Members@odata.nextLink'];
  if (q.top !== undefined && skip + kept.length < count) {
    const next = new URLSearchParams(query);
    next.set('$skip', String(skip + kept.length));
    out['Members@odata.nextLink'] = `${path}?${next.toString().replace(/%24/g, '$')}`;
  }
  return out;
}

/** `$expand`, then `$select`. */
function expandSelect(
  body: Resource,
  q: QueryOptions,
  collection: boolean,
  resolve: Resolver,
): Resource | Promise<Resource> {
  const expanded = q.expand ? expand(body, q.expand.mode, q.expand.levels, resolve) : body;
  const paths = q.select;
  if (!paths) return expanded;
  const selected = (out: Resource): Resource =>
    collection && Array.isArray(out.Members)
      ? {
          ...out,
          Members: out.Members.map((m: unknown) => (isReference(m) ? m : select(m as Resource, paths))),
        }
      : select(out, paths);
  return isPromise(expanded) ? expanded.then(selected) : selected(expanded);
}

/**
 * Replaces references by the resources they name: `.` those outside `Links`, `~` those inside,
 * `*` all, down `levels` levels. Builds new objects; the resolved bodies are not changed.
 */
function expand(
  body: Resource,
  mode: '*' | '.' | '~',
  levels: number,
  resolve: Resolver,
): Resource | Promise<Resource> {
  let budget = MAX_EXPANDED;
  // Synchronous where nothing resolved is a promise: a promise per property cost more than the
  // expansion itself on a collection of 24 sensors (profile of the uncached $expand benchmark).
  // Resolved bodies may carry their JSON text (json-text.ts): the objects built around them are
  // Built, so that the reply splices their texts in rather than stringifying them again.
  const walk = (v: unknown, inLinks: boolean, level: number): unknown => {
    if (Array.isArray(v)) {
      const items = v.map((x) => walk(x, inLinks, level));
      return items.some(isPromise) ? Promise.all(items) : items;
    }
    if (v === null || typeof v !== 'object') return v;
    if (isReference(v)) {
      const wanted = mode === '*' || (mode === '.' ? !inLinks : inLinks);
      if (!wanted || budget <= 0) return v;
      budget--;
      const got = resolve(v['@odata.id']);
      return isPromise(got) ? got.then((r) => resolved(v, r, level)) : resolved(v, got, level);
    }
    return walkObject(v as Resource, inLinks, level);
  };
  const resolved = (link: unknown, got: Resource | undefined, level: number): unknown => {
    if (!got) return link;
    return level < levels ? walkObject(got, false, level + 1) : got;
  };
  const walkObject = (o: Resource, inLinks: boolean, level: number): Resource | Promise<Resource> => {
    const keys = Object.keys(o);
    const values = keys.map((k) => walk(o[k], inLinks || k === 'Links', level));
    return values.some(isPromise) ? Promise.all(values).then((xs) => built(keys, xs)) : built(keys, values);
  };
  return walkObject(body, false, 1);
}

/** An object of `keys` and `values`, as `$expand` makes them (json-text.ts). */
function built(keys: readonly string[], values: readonly unknown[]): Resource {
  const out = new Built();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    // An own `__proto__` key stays a property (assignment would set the prototype).
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: values[i], enumerable: true, writable: true, configurable: true });
    else out[k] = values[i];
  }
  return out;
}
