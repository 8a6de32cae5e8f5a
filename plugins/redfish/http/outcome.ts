/**
 * Replies as the transport writes them: JSON resources with their ETag, `Link: rel=describedby`
 * and length, and Redfish errors. The headers every reply carries are here too.
 */
import { hash } from 'node:crypto';
import { RedfishError } from './redfish-error.js';
import type { Reply, Resource } from './router.js';
import type { CachedReply } from './response-cache.js';
import { jsonTextAndKey } from './json-text.js';

/** A finished response, ready for the transport; shared between requests, so never modified. */
export interface Outcome extends CachedReply {
  readonly stream?: Reply['stream'];
}

export const JSON_TYPE = 'application/json; charset=utf-8';
export const BASE_HEADERS = { 'OData-Version': '4.0', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY' } as const;

/**
 * The ETag of a resource body from its key (json-text.ts `jsonTextAndKey`): its JSON text, with
 * the kept bodies inside (sensors) standing for themselves by their short keys. A key is the
 * same only for the same text, so the ETag changes whenever the body does. Hashed every time:
 * remembering the ETags of recent bodies by their text cost more than SHA-1 itself.
 */
function etagOfKey(key: string): string {
  // One-shot hash: no Hash object per reply.
  return `"${hash('sha1', key, 'base64url')}"`;
}

/** The ETag of a resource body, as its GET reply carries it. */
export function etagOf(body: unknown): string {
  return etagOfKey(jsonTextAndKey(body).key);
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

/**
 * From this many UTF-16 units on, a reply's text is encoded once, when it is made, into a Buffer
 * whose bytes live outside V8's heap. With vpmd's 1 MiB semi-spaces (app/vpmd.ts), a text kept
 * as a string lives on the heap until the socket's write completes: the replies of one event
 * loop turn (an expanded sensor collection is 12.5 KB, and Node writes it once more joined to the
 * header) were copied by every scavenge that ran meanwhile, and promoted, so that garbage
 * collection took more CPU than the rest of the reply. As a Buffer, a scavenge moves a small
 * object; Node writes the header and the bytes without joining them.
 */
const ENCODE_FROM = 4096;

/** A JSON resource as an outcome: its text (with the kept texts spliced in), ETag, Link and length. */
export function jsonOutcome(status: number, body: Resource, headers: Record<string, string>): Outcome {
  const link = describedBy(body);
  // The kept texts of the bodies inside (a sensor's template) are spliced in, not re-serialized.
  const { text, key } = jsonTextAndKey(body);
  // One literal, then plain assignments: on Node 20, adding keys to an object made by spreading
  // another (`{ ...BASE_HEADERS, ETag }`) takes a slow path, several microseconds per reply.
  const h: Record<string, string> = {
    'OData-Version': BASE_HEADERS['OData-Version'],
    'Cache-Control': BASE_HEADERS['Cache-Control'],
    'X-Frame-Options': BASE_HEADERS['X-Frame-Options'],
    'Content-Type': JSON_TYPE,
    ETag: etagOfKey(key),
  };
  if (link) h.Link = link;
  for (const k in headers) h[k] = headers[k] as string;
  // The length is the body's also for HEAD, as HTTP wants.
  const bytes = text.length >= ENCODE_FROM ? Buffer.from(text, 'utf8') : text;
  h['Content-Length'] = String(typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length);
  return { status, headers: h, body: bytes };
}
