/**
 * What one BMC event makes the poller read again. A Redfish Event carries records (`Events[]`)
 * whose `OriginOfCondition` names the resource that changed: a Sensor, Control or other
 * resource under a chassis re-reads that chassis' readings; one under a system re-reads the
 * system (PowerState, Reset); anything else, and a record without an origin, only the logs.
 * The logs are read for every event, as a BMC writes most events to a log too (its SEL) and
 * those entries become `hw.log.v1`. A payload that is not a Redfish Event re-reads everything:
 * an event is a hint that something changed, never data the poller trusts on its own.
 */
import { prop, str } from './readings.js';
import type { Discovery } from './discovery.js';

/** The re-reads an event asks for. */
export interface EventRereads {
  /** Re-read the first system (PowerState, allowed ResetType values). */
  readonly system: boolean;
  /** Ids of the chassis whose readings and Controls to re-read. */
  readonly chassis: ReadonlySet<string>;
  /** Read the logs for new entries. */
  readonly logs: true;
}

function under(uri: string, base: string): boolean {
  const b = base.replace(/\/$/, '');
  return uri === b || uri.startsWith(`${b}/`) || uri.startsWith(`${b}#`);
}

function originsOf(payload: unknown): Array<string | undefined> | undefined {
  const records = prop(payload, 'Events');
  if (!Array.isArray(records)) return undefined;
  return (records as unknown[]).map((r) => {
    const o = prop(r, 'OriginOfCondition');
    return str(prop(o, '@odata.id')) ?? str(o);
  });
}

/** The re-reads for one SSE `data` payload, against what discovery found. */
export function rereadsFor(data: string, d: Pick<Discovery, 'systems' | 'chassis'>): EventRereads {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    payload = undefined;
  }
  const origins = originsOf(payload);
  if (origins === undefined)
    return { system: d.systems.length > 0, chassis: new Set(d.chassis.map((c) => c.id)), logs: true };
  let system = false;
  const chassis = new Set<string>();
  for (const origin of origins) {
    if (origin === undefined) continue;
    const path = origin.startsWith('/') ? origin : URL.canParse(origin) ? new URL(origin).pathname : origin;
    // A log's own resources are the log read's, not the readings'.
    if (/\/LogServices(\/|$)/.test(path)) continue;
    const c = d.chassis.find((x) => under(path, x.uri));
    if (c !== undefined) chassis.add(c.id);
    else if (d.systems.some((s) => under(path, s))) system = true;
  }
  return { system, chassis, logs: true };
}

/** The union of two sets of re-reads (events arriving while a re-read runs). */
export function mergeRereads(a: EventRereads | undefined, b: EventRereads): EventRereads {
  if (a === undefined) return b;
  return { system: a.system || b.system, chassis: new Set([...a.chassis, ...b.chassis]), logs: true };
}
