/**
 * A small Redfish BMC for the poller's tests, whose faults can be switched on while it runs:
 * slow answers, 500s, every session expired (401 mid-session), malformed JSON, and vanishing
 * (the listener closed, connections cut). It serves sessions with X-Auth-Token and logout, ETags
 * with If-None-Match/If-Match, one system with Reset, one chassis with Sensors,
 * EnvironmentMetrics, Controls/PowerLimit and the deprecated Power/Thermal (or only those, as
 * older BMCs), and one LogService. It is not the only BMC the tests use: DMTF's mockup server
 * and vpmd's own service are the real ones; this one makes the faults they cannot.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';

/** What the BMC does wrong now. */
export type BmcFault = 'none' | 'slow' | 'error500' | 'malformed';

/** Options of {@link startFaultBmc}. */
export interface FaultBmcOptions {
  /** Serve only the deprecated Power and Thermal (no Sensors, EnvironmentMetrics, Controls). */
  readonly legacyOnly?: boolean;
  /** Offer an SSE stream (EventService.ServerSentEventUri). */
  readonly sse?: boolean;
  /** HTTPS with this key and certificate (PEM); default plain HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Delay of the 'slow' fault, ms; default 5000. */
  readonly slowMs?: number;
  /** Serve the log entries this many per page, linked by `Members@odata.nextLink` (`?$skip=N`). */
  readonly logPageSize?: number;
}

/** A running fault BMC. */
export interface FaultBmc {
  readonly url: string;
  fault: BmcFault;
  /** Requests by `METHOD path`, in order. */
  readonly requests: string[];
  readonly resets: string[];
  readonly patches: Array<{ path: string; body: unknown }>;
  logins: number;
  logouts: number;
  notModified: number;
  powerState: 'On' | 'Off';
  /** Ends every session: the next request with an old token gets 401. */
  expireSessions(): void;
  addLogEntry(message: string, severity: 'OK' | 'Warning' | 'Critical'): void;
  setReading(sensor: 'Temp1' | 'Power1', value: number): void;
  /** Open SSE streams. */
  streams(): number;
  /** Sends one event on every open SSE stream (with OriginOfCondition when `origin` is given). */
  sendEvent(messageId: string, origin?: string): void;
  /** While true, the SSE URI answers 503 (a BMC whose event service is down). */
  refuseStreams: boolean;
  /** Ends every open SSE stream (the BMC dropped them). */
  dropStreams(): void;
  /** Closes the listener and cuts every connection: the BMC is gone. */
  vanish(): Promise<void>;
}

const V1 = '/redfish/v1';
const link = (id: string): { '@odata.id': string } => ({ '@odata.id': id });

/** Starts a fault BMC on a free loopback port. */
export async function startFaultBmc(opts: FaultBmcOptions = {}): Promise<FaultBmc> {
  const tokens = new Set<string>();
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();
  const readings = { Temp1: 40, Power1: 200 };
  let powerLimit = { SetPoint: 500, ControlMode: 'Automatic' };
  let indicator = false;
  const log: Array<{ id: string; message: string; severity: string; created: string }> = [
    { id: '1', message: 'Fan 2 failed', severity: 'Warning', created: '2026-01-01T00:00:00Z' },
  ];
  const chassis = `${V1}/Chassis/1`;
  const system = `${V1}/Systems/1`;
  const entries = `${V1}/Managers/1/LogServices/Log/Entries`;
  const sensor = (id: 'Temp1' | 'Power1'): Record<string, unknown> => ({
    '@odata.id': `${chassis}/Sensors/${id}`,
    '@odata.type': '#Sensor.v1_6_0.Sensor',
    Id: id,
    Name: id === 'Temp1' ? 'Inlet temperature' : 'Chassis power',
    ReadingType: id === 'Temp1' ? 'Temperature' : 'Power',
    ReadingUnits: id === 'Temp1' ? 'Cel' : 'W',
    Reading: readings[id],
    Status: { State: 'Enabled', Health: 'OK' },
    ...(id === 'Temp1' ? { Thresholds: { UpperCaution: { Reading: 45 }, UpperCritical: { Reading: 50 } } } : {}),
  });
  const resources = (): Record<string, Record<string, unknown>> => ({
    [`${V1}/`]: {
      '@odata.id': `${V1}/`,
      Id: 'RootService',
      Name: 'Fault BMC',
      ProtocolFeaturesSupported: { ExpandQuery: { Levels: false }, SelectQuery: false },
      Systems: link(`${V1}/Systems`),
      Chassis: link(`${V1}/Chassis`),
      Managers: link(`${V1}/Managers`),
      SessionService: link(`${V1}/SessionService`),
      ...(opts.sse ? { EventService: link(`${V1}/EventService`) } : {}),
    },
    [`${V1}/EventService`]: { Id: 'EventService', ServiceEnabled: true, ServerSentEventUri: `${V1}/EventService/SSE` },
    [`${V1}/Systems`]: { Members: [link(system)] },
    [system]: {
      '@odata.id': system,
      Id: '1',
      PowerState: bmc.powerState,
      LocationIndicatorActive: indicator,
      Actions: {
        '#ComputerSystem.Reset': {
          target: `${system}/Actions/ComputerSystem.Reset`,
          'ResetType@Redfish.AllowableValues': ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'],
        },
      },
    },
    [`${V1}/Chassis`]: { Members: [link(chassis)] },
    [chassis]: {
      '@odata.id': chassis,
      Id: '1',
      Power: link(`${chassis}/Power`),
      Thermal: link(`${chassis}/Thermal`),
      ...(opts.legacyOnly
        ? {}
        : {
            Sensors: link(`${chassis}/Sensors`),
            EnvironmentMetrics: link(`${chassis}/EnvironmentMetrics`),
            Controls: link(`${chassis}/Controls`),
          }),
    },
    ...(opts.legacyOnly
      ? {}
      : {
          [`${chassis}/Sensors`]: { Members: [link(`${chassis}/Sensors/Temp1`), link(`${chassis}/Sensors/Power1`)] },
          [`${chassis}/Sensors/Temp1`]: sensor('Temp1'),
          [`${chassis}/Sensors/Power1`]: sensor('Power1'),
          [`${chassis}/EnvironmentMetrics`]: {
            '@odata.id': `${chassis}/EnvironmentMetrics`,
            PowerWatts: { Reading: readings.Power1, DataSourceUri: `${chassis}/Sensors/Power1` },
            EnergykWh: { Reading: 12.5 },
          },
          [`${chassis}/Controls`]: { Members: [link(`${chassis}/Controls/PowerLimit`)] },
          [`${chassis}/Controls/PowerLimit`]: {
            '@odata.id': `${chassis}/Controls/PowerLimit`,
            Id: 'PowerLimit',
            ControlType: 'Power',
            SetPointUnits: 'W',
            AllowableMin: 100,
            AllowableMax: 1000,
            ...powerLimit,
          },
        }),
    [`${chassis}/Power`]: {
      '@odata.id': `${chassis}/Power`,
      PowerControl: [{ MemberId: '0', Name: 'System power', PowerConsumedWatts: readings.Power1 + 1 }],
      Voltages: [{ MemberId: '0', Name: '12V', ReadingVolts: 12.1, Status: { State: 'Enabled', Health: 'OK' } }],
    },
    [`${chassis}/Thermal`]: {
      '@odata.id': `${chassis}/Thermal`,
      Temperatures: [
        { MemberId: '0', Name: 'Inlet', ReadingCelsius: readings.Temp1 + 1, UpperThresholdNonCritical: 45 },
      ],
      Fans: [{ MemberId: '0', Name: 'Fan 1', Reading: 3000, ReadingUnits: 'RPM' }],
    },
    [`${V1}/Managers`]: { Members: [link(`${V1}/Managers/1`)] },
    [`${V1}/Managers/1`]: { Id: '1', LogServices: link(`${V1}/Managers/1/LogServices`) },
    [`${V1}/Managers/1/LogServices`]: { Members: [link(`${V1}/Managers/1/LogServices/Log`)] },
    [`${V1}/Managers/1/LogServices/Log`]: { Id: 'Log', Entries: link(entries) },
    [entries]: {
      Members: log.map((e) => ({
        '@odata.id': `${entries}/${e.id}`,
        Id: e.id,
        Message: e.message,
        Severity: e.severity,
        Created: e.created,
      })),
    },
  });

  const logPage = (key: string, url: string): Record<string, unknown> | undefined => {
    const size = opts.logPageSize;
    if (size === undefined || key !== entries) return undefined;
    const skip = Number(new URLSearchParams(url.split('?')[1] ?? '').get('$skip') ?? 0);
    const all = resources()[entries]?.Members as unknown[];
    const more = skip + size < all.length;
    return {
      Members: all.slice(skip, skip + size),
      'Members@odata.count': all.length,
      ...(more ? { 'Members@odata.nextLink': `${entries}?$skip=${skip + size}` } : {}),
    };
  };
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'OData-Version': '4.0', ...headers });
    res.end(text);
  };
  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
        } catch {
          resolve(undefined);
        }
      });
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = path === V1 ? `${V1}/` : path;
    bmc.requests.push(`${req.method ?? ''} ${path}`);
    const body = await readBody(req);
    if (bmc.fault === 'slow') await new Promise((r) => setTimeout(r, opts.slowMs ?? 5000));
    if (req.method === 'POST' && key === `${V1}/SessionService/Sessions`) {
      const b = body as { UserName?: string; Password?: string } | undefined;
      if (b?.UserName !== 'poller' || b.Password !== 'secret')
        return send(res, 401, { error: { message: 'bad login' } });
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      bmc.logins++;
      return send(
        res,
        201,
        { Id: token },
        { 'X-Auth-Token': token, Location: `${V1}/SessionService/Sessions/${token}` },
      );
    }
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || !tokens.has(token)) return send(res, 401, { error: { message: 'no session' } });
    if (req.method === 'DELETE' && key.startsWith(`${V1}/SessionService/Sessions/`)) {
      tokens.delete(key.split('/').pop() ?? '');
      bmc.logouts++;
      return send(res, 204);
    }
    if (bmc.fault === 'error500') return send(res, 500, { error: { message: 'internal error' } });
    if (opts.sse && req.method === 'GET' && key === `${V1}/EventService/SSE`) {
      if (bmc.refuseStreams) return send(res, 503, { error: { message: 'event service busy' } });
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(': fault BMC events\n\n');
      streams.add(res);
      res.once('close', () => streams.delete(res));
      return;
    }
    if (req.method === 'POST' && key === `${system}/Actions/ComputerSystem.Reset`) {
      const type = (body as { ResetType?: string } | undefined)?.ResetType ?? '';
      bmc.resets.push(type);
      if (type === 'On' || type === 'ForceOn') bmc.powerState = 'On';
      if (type === 'ForceOff' || type === 'GracefulShutdown') bmc.powerState = 'Off';
      return send(res, 204);
    }
    const doc = logPage(key, req.url ?? '') ?? resources()[key];
    if (doc === undefined) return send(res, 404, { error: { message: `no ${key}` } });
    const etag = `"${createHash('sha1').update(JSON.stringify(doc)).digest('hex').slice(0, 16)}"`;
    if (req.method === 'PATCH') {
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== etag) return send(res, 412, { error: { message: 'stale' } });
      bmc.patches.push({ path: key, body });
      const b = (body ?? {}) as Record<string, unknown>;
      if (key === `${chassis}/Controls/PowerLimit`) powerLimit = { ...powerLimit, ...(b as typeof powerLimit) };
      if (key === system && typeof b.LocationIndicatorActive === 'boolean') indicator = b.LocationIndicatorActive;
      return send(res, 204);
    }
    if (req.method !== 'GET') return send(res, 405, { error: { message: 'not allowed' } });
    if (bmc.fault === 'malformed') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"@odata.id": "/redfish/v1/", "Name": ');
      return;
    }
    if (req.headers['if-none-match'] === etag) {
      bmc.notModified++;
      res.writeHead(304, { ETag: etag });
      res.end();
      return;
    }
    send(res, 200, doc, { ETag: etag });
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => res.destroy());
  };
  const server: Server = opts.tls
    ? createHttps({ key: opts.tls.key, cert: opts.tls.cert }, listener)
    : createHttp(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const bmc: FaultBmc = {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    fault: 'none',
    requests: [],
    resets: [],
    patches: [],
    logins: 0,
    logouts: 0,
    notModified: 0,
    powerState: 'On',
    expireSessions: () => tokens.clear(),
    addLogEntry: (message, severity) =>
      log.push({ id: String(log.length + 1), message, severity, created: new Date().toISOString() }),
    setReading: (s, v) => {
      readings[s] = v;
    },
    streams: () => streams.size,
    sendEvent: (messageId, origin) => {
      const record = {
        EventId: String(Date.now()),
        MessageId: messageId,
        ...(origin !== undefined ? { OriginOfCondition: link(origin) } : {}),
      };
      const data = JSON.stringify({ Events: [record] });
      for (const s of streams) s.write(`id: ${Date.now()}\ndata: ${data}\n\n`);
    },
    refuseStreams: false,
    dropStreams: () => {
      for (const s of streams) s.end();
    },
    vanish: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return bmc;
}
