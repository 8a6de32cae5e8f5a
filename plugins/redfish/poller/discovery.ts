/**
 * Discovery of a Redfish BMC: the service root, then its Systems, Chassis and Managers
 * collections (and the EventService when events are wanted) at once, then every LogServices
 * collection at once. Where the root says `$expand` works, each collection comes with its
 * members in the same answer: a cold poll then needs no GET of the system or chassis bodies
 * (they are handed over as `prefetched`), which cuts a cold poll from ~19 requests to ~12 on
 * DMTF's public-rackmount1 mockup. Requests to one BMC stay bounded by its session limiter.
 */
import { linkOf, members, prop } from './readings.js';
import type { BmcSession, RfObject } from './session.js';

/** What discovery found on the BMC. */
export interface Discovery {
  readonly expand: '.' | '*' | undefined;
  readonly select: boolean;
  readonly systems: readonly string[];
  readonly chassis: ReadonlyArray<{ readonly id: string; readonly uri: string }>;
  /** Entries collections of every LogService of the managers and systems. */
  readonly logs: readonly string[];
  readonly sse: string | undefined;
}

/** Discovery and the bodies it already holds (by URI), for the poll that follows at once. */
export interface Discovered {
  readonly discovery: Discovery;
  readonly prefetched: Map<string, RfObject>;
}

/** Discovery in two steps: the systems and chassis first (a poll starts on them), then the logs. */
export interface DiscoveryInProgress {
  /** Systems and chassis known, with their bodies when `$expand` gave them. */
  readonly early: Promise<Pick<Discovery, 'systems' | 'chassis' | 'expand' | 'select'>>;
  /** Everything, the log Entries collections too (with their entries when `$expand` gave them). */
  readonly done: Promise<Discovered>;
  /** The bodies read so far (filled as discovery goes). */
  readonly prefetched: Map<string, RfObject>;
}

/** True for a member that is more than a link. */
export function isFull(m: RfObject): boolean {
  return Object.keys(m).some((k) => !k.startsWith('@odata.'));
}

/** The `$expand` form the service root allows, or undefined. */
export function expandOf(root: RfObject): '.' | '*' | undefined {
  const features = prop(root, 'ProtocolFeaturesSupported');
  if (prop(features, 'ExpandQuery', 'Levels') !== true) return undefined;
  if (prop(features, 'ExpandQuery', 'NoLinks') === true) return '.';
  return prop(features, 'ExpandQuery', 'ExpandAll') === true ? '*' : undefined;
}

/** How discovery reads: `get` throws (a collection the BMC cannot give fails the poll), `tryGet` degrades. */
export interface DiscoveryReads {
  readonly session: BmcSession;
  tryGet(uri: string): Promise<RfObject | undefined>;
}

/**
 * Discovers the BMC. `chassisIds` limits the chassis; `events` reads the EventService for its
 * SSE URI. Both promises reject (E_REDFISH_BMC_*) when the root or a top collection cannot be read.
 */
export function discover(
  r: DiscoveryReads,
  opts: { readonly chassisIds?: readonly string[]; readonly events: boolean },
): DiscoveryInProgress {
  const s = r.session;
  const prefetched = new Map<string, RfObject>();
  // The service root needs no authentication (DSP0266): it is read while the login runs.
  const rootRead = Promise.all([s.getPublic('/redfish/v1/'), s.authHeaders()]).then(([root]) => root);
  const collections = rootRead.then(async (root) => {
    const expand = expandOf(root);
    const maxLevels = prop(root, 'ProtocolFeaturesSupported', 'ExpandQuery', 'MaxLevels');
    /** Member URIs of a collection; with `$expand`, their bodies (`levels` deep) go to `prefetched`. */
    const collection = async (
      uri: string | undefined,
      get: (u: string) => Promise<RfObject | undefined> = (u) => s.get(u),
      levels = 1,
    ): Promise<string[]> => {
      if (uri === undefined) return [];
      if (expand !== undefined) {
        const c = await get(`${uri}?$expand=${expand}($levels=${levels})`);
        const ms = c === undefined ? [] : members(c);
        // A BMC that ignores $expand sends bare links: those are the members all the same.
        if (ms.every(isFull)) {
          const uris: string[] = [];
          for (const m of ms) {
            const id = linkOf(m);
            if (id === undefined) continue;
            uris.push(id);
            prefetched.set(id, m);
          }
          return uris;
        }
        if (c !== undefined) return ms.flatMap((m) => linkOf(m) ?? []);
      }
      const c = await get(uri);
      return c === undefined ? [] : members(c).flatMap((m) => linkOf(m) ?? []);
    };
    const events = linkOf(root, 'EventService');
    const [systems, chassisUris, managers, es] = await Promise.all([
      collection(linkOf(root, 'Systems')),
      collection(linkOf(root, 'Chassis')),
      // Logs are a part of the poll that may fail alone: their collections degrade, never throw.
      collection(linkOf(root, 'Managers'), (u) => r.tryGet(u)),
      opts.events && events !== undefined ? r.tryGet(events) : Promise.resolve(undefined),
    ]);
    const want = opts.chassisIds;
    const chassis = chassisUris
      .map((uri) => ({ uri, id: uri.replace(/\/$/, '').split('/').pop() ?? uri }))
      .filter((c) => want === undefined || want.includes(c.id));
    const select = prop(root, 'ProtocolFeaturesSupported', 'SelectQuery') === true;
    return { root, expand, select, maxLevels, collection, systems, chassis, managers, es };
  });
  const done = collections.then(async (c) => {
    // Two levels where allowed: each LogService with its Entries collection (and its entries).
    const levels = typeof c.maxLevels === 'number' && c.maxLevels >= 2 ? 2 : 1;
    const perOwner = await Promise.all(
      [...c.managers, ...c.systems].map(async (owner) => {
        const body = prefetched.get(owner) ?? (await r.tryGet(owner));
        // A BMC without readable LogServices has no logs to read: not a degraded poll.
        const services = await c.collection(
          linkOf(body, 'LogServices'),
          (u) => s.get(u).catch(() => undefined),
          levels,
        );
        const entries = await Promise.all(
          services.map(async (svc) => {
            const service = prefetched.get(svc) ?? (await r.tryGet(svc));
            const e = prop(service, 'Entries');
            const uri = linkOf(e);
            if (uri !== undefined && typeof e === 'object' && e !== null && isFull(e as RfObject))
              prefetched.set(uri, e as RfObject);
            return uri;
          }),
        );
        return entries.filter((x): x is string => x !== undefined);
      }),
    );
    const sseUri = prop(c.es, 'ServerSentEventUri');
    const logs = perOwner.flat();
    // Only the system, chassis and log bodies serve the first poll; the rest were discovery's.
    const keep = new Set<string>([...c.systems, ...c.chassis.map((x) => x.uri), ...logs]);
    for (const uri of [...prefetched.keys()]) if (!keep.has(uri)) prefetched.delete(uri);
    return {
      discovery: {
        expand: c.expand,
        select: c.select,
        systems: c.systems,
        chassis: c.chassis,
        logs,
        sse: typeof sseUri === 'string' && prop(c.es, 'ServiceEnabled') !== false ? sseUri : undefined,
      },
      prefetched,
    };
  });
  // Whoever awaits only `done` still sees a failure of the early step; this keeps it from being unhandled.
  done.catch(() => undefined);
  return { early: collections, done, prefetched };
}
