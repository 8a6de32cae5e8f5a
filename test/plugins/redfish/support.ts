/**
 * Test helpers for the Redfish plugin: boot the real agent with it on a free port, and an HTTPS
 * client that trusts the service's own generated certificate (so TLS is verified, not skipped).
 */
import { readFile } from 'node:fs/promises';
import { request, Agent as HttpsAgent } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import redfish from '../../../plugins/redfish/index.js';
import type { PluginManifest, VpmdEventMap } from '../../../core/index.js';
import type { SimProfileName } from '../../../core/sim/index.js';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A Redfish message, as in `@Message.ExtendedInfo`. */
export interface RfMessage {
  readonly [property: string]: unknown;
  readonly MessageId: string;
  readonly Message: string;
  readonly MessageArgs?: string[];
  readonly Severity?: string;
}

/** A navigation link. */
export interface RfLink {
  readonly '@odata.id': string;
}

/** A non-empty list: `[0]` is there (a test reading it from an empty list fails on `undefined`). */
type Some<T> = [T, ...T[]];

/**
 * A reply's JSON with the properties the tests read typed, every other one `unknown`. The typed
 * ones are declared present: in a reply without one, the assertion that reads it fails.
 */
export interface RfBody {
  readonly [property: string]: unknown;
  readonly '@odata.id': string;
  readonly Id: string;
  readonly Name: string;
  /** Links, or the members themselves in an expanded collection. */
  readonly Members: Some<RfBody>;
  readonly 'Members@odata.count': number;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly '@Message.ExtendedInfo': Some<RfMessage>;
  };
  readonly '@Message.ExtendedInfo': Some<RfMessage>;
  /** An ActionInfo's parameters. */
  readonly Parameters: Some<{ readonly Name: string; readonly AllowableValues: string[] }>;
  readonly Description: string;
  readonly Message: string;
  readonly Severity: string;
  readonly Links: { readonly Sessions: RfLink; readonly Chassis: Some<RfBody> };
  /** A link, or the collection itself when expanded. */
  readonly Processors: RfBody;
  readonly PowerDocumentUri: string;
  /** A session's user. */
  readonly UserName: string;
  readonly Location: Some<{ readonly Uri: string; readonly PublicationUri?: string }>;
  /** The OData service document's entries. */
  readonly value: { readonly name: string; readonly kind: string; readonly url: string }[];
  /** The Oem/Vpmd object (typed as the tests read it; its schema is the OEM schema the service serves). */
  readonly Oem: {
    readonly Vpmd: {
      readonly [property: string]: unknown;
      readonly '@odata.type': string;
      readonly CapabilitiesDocuments: RfLink;
      readonly VmEnergy: RfLink;
      readonly GuestChannels: string;
    };
  };
  readonly LibvirtCapabilitiesUri: string;
  readonly OperatingSpeedRangeMHz: { readonly SettingMin?: number; readonly SettingMax?: number };
  readonly Reading: number;
  readonly SessionTimeout: number;
  readonly TotalThreads: number;
}

/** A response as the tests see it. */
export interface RfResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The parsed body (`undefined` at run time when there is none or it is not JSON). */
  readonly json: RfBody;
}

/** Request options. */
export interface RfOptions {
  readonly body?: unknown;
  readonly raw?: string;
  readonly token?: string;
  readonly basic?: [string, string];
  readonly headers?: Record<string, string>;
}

/** A booted agent with the Redfish service and a client for it. */
export interface RedfishHarness {
  readonly agent: BootedAgent;
  readonly port: number;
  readonly ca: string;
  rf(method: string, path: string, opts?: RfOptions): Promise<RfResponse>;
  /** Creates an account through vpmctl and returns a session token for it. */
  login(user: string, password: string): Promise<string>;
  addAccount(user: string, role: string, password: string, extra?: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Attempts at a free port before giving up: a port can be taken between the probe and the bind. */
const PORT_ATTEMPTS = 5;

/**
 * Boots the agent with Redfish on a port found free, again on another port when something else
 * took it in between (parallel test files, other programs): a port race is not a test failure.
 */
async function bootOnFreePort(opts: Parameters<typeof bootRedfish>[0] & object): Promise<{
  agent: BootedAgent;
  port: number;
}> {
  for (let attempt = 1; ; attempt++) {
    const port = typeof opts.sections?.port === 'number' ? opts.sections.port : await freePort();
    const agent = await bootAgent({
      plugins: [redfish, ...(opts.plugins ?? [])],
      sections: { ...opts.extraSections, redfish: { port, ...opts.sections } },
      startTimeout: 30,
      ...(opts.profile ? { profile: opts.profile } : {}),
      ...(opts.core && Object.keys(opts.core).length ? { core: opts.core } : {}),
    });
    const status = (await agent.status()).find((p) => p.name === 'redfish');
    const raced = status?.error?.code === 'E_REDFISH_LISTEN' && /EADDRINUSE/.test(status.error.message);
    if (!raced || attempt === PORT_ATTEMPTS || opts.sections?.port !== undefined) return { agent, port };
    await agent.stop();
  }
}

/** Boots the agent with the Redfish plugin (and optionally other plugins). */
export async function bootRedfish(
  opts: {
    sections?: Record<string, unknown>;
    plugins?: PluginManifest[];
    core?: Record<string, unknown>;
    extraSections?: Record<string, Record<string, unknown>>;
    profile?: SimProfileName;
  } = {},
): Promise<RedfishHarness> {
  const { agent, port } = await bootOnFreePort(opts);
  const stateDir = (opts.core?.state as { dir?: string } | undefined)?.dir ?? join(agent.dir, 'state');
  const ca = await readFile(join(stateDir, 'plugins', 'redfish', 'tls', 'cert.pem'), 'utf8');
  const httpsAgent = new HttpsAgent({ ca, keepAlive: true, maxSockets: 4 });
  // A kept-alive socket the server closed meanwhile fails with ECONNRESET on reuse: the
  // request is sent again once on a fresh socket (the pattern Node's http docs recommend).
  const rf = async (method: string, path: string, o: RfOptions = {}): Promise<RfResponse> => {
    try {
      return await rfOnce(method, path, o);
    } catch (e) {
      if ((e as { reused?: boolean }).reused) return rfOnce(method, path, o);
      throw e;
    }
  };
  const rfOnce = (method: string, path: string, o: RfOptions = {}): Promise<RfResponse> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...o.headers };
      const payload = o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined);
      if (payload !== undefined) {
        headers['Content-Type'] ??= 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(payload));
      }
      if (o.token) headers['X-Auth-Token'] = o.token;
      if (o.basic) headers.Authorization = `Basic ${Buffer.from(`${o.basic[0]}:${o.basic[1]}`).toString('base64')}`;
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent: httpsAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: RfBody;
          try {
            json = (text ? JSON.parse(text) : undefined) as RfBody;
          } catch {
            json = undefined as unknown as RfBody;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(Object.assign(e, { reused: req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') })),
      );
      req.end(payload);
    });
  const addAccount = async (user: string, role: string, password: string, extra: string[] = []): Promise<void> => {
    await agent.json(['account', 'add', user, '--role', role, ...extra], [password]);
  };
  const login = async (user: string, password: string): Promise<string> => {
    const r = await rf('POST', '/redfish/v1/SessionService/Sessions', { body: { UserName: user, Password: password } });
    if (r.status !== 201) throw new Error(`login ${user}: ${r.status} ${r.text}`);
    return r.headers['x-auth-token'] as string;
  };
  const stop = async (): Promise<void> => {
    httpsAgent.destroy();
    await agent.stop();
  };
  return { agent, port, ca, rf, login, addAccount, stop };
}

/**
 * The two sessions most Redfish tests read with: an Administrator `admin` and a ReadOnly
 * `viewer`, created through vpmctl and logged in (in that order).
 */
export async function loginAdminAndViewer(h: RedfishHarness): Promise<{ admin: string; viewer: string }> {
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  await h.addAccount('viewer', 'ReadOnly', 'Viewer-pass-1');
  const admin = await h.login('admin', 'Admin-pass-1');
  const viewer = await h.login('viewer', 'Viewer-pass-1');
  return { admin, viewer };
}

/** One entry of the agent's audit trail, as `vpmctl --json audit` lists it. */
export type AuditRow = VpmdEventMap['audit.v1'];

/** The agent's last `limit` audit entries (`vpmctl audit --limit N`). */
export function lastAudit(h: RedfishHarness, limit: number): Promise<AuditRow[]> {
  return h.agent.json<AuditRow[]>(['audit', '--limit', String(limit)]);
}

/** An open SSE stream: collects `data:` events as parsed JSON. */
export interface SseStream {
  readonly events: Array<{ id: string; data: Record<string, unknown> }>;
  readonly status: number;
  readonly contentType: string;
  /** Resolves with the first event matching `pred` (rejects after `ms`). */
  waitFor(pred: (data: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Calls `fn` when the server ends the stream. */
  onEnd(fn: () => void): void;
  close(): void;
}

/** Opens the SSE stream of the EventService with a session token. */
export function openSse(h: RedfishHarness, token: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.port,
        path: '/redfish/v1/EventService/SSE',
        headers: { 'X-Auth-Token': token },
        ca: h.ca,
      },
      (res) => {
        const events: SseStream['events'] = [];
        const waiters: Array<() => void> = [];
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (id !== undefined && data !== undefined)
              events.push({ id, data: JSON.parse(data) as Record<string, unknown> });
          }
          waiters.forEach((w) => w());
        });
        resolve({
          events,
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type']),
          waitFor: (pred, ms = 10_000) =>
            new Promise((ok, ko) => {
              const check = (): boolean => {
                const hit = events.find((e) => pred(e.data));
                if (hit) ok(hit.data);
                return hit !== undefined;
              };
              if (check()) return;
              const t = setTimeout(
                () =>
                  ko(new Error(`no matching SSE event in ${ms} ms; got ${JSON.stringify(events.map((e) => e.data))}`)),
                ms,
              );
              waiters.push(() => {
                if (check()) clearTimeout(t);
              });
            }),
          onEnd: (fn) => {
            if (res.complete) fn();
            else res.on('end', fn);
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.end();
  });
}
