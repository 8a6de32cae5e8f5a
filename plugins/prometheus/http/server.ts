/**
 * The /metrics listener: Node's https server (or http when `tls.enabled` is false), bound to one
 * address. Peers outside the management allow-list are dropped at TCP accept, before any TLS
 * handshake or byte of HTTP; then the Authorization header is checked; then the scrape runs.
 * Only `GET` and `HEAD` of `/metrics` are served.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { VpmdError, type TlsMaterial } from 'vpmd';
import type { PrometheusContext } from '../config.js';
import { CONTENT_TYPES, negotiate, type ExpositionFormat } from '../exposition/families.js';
import type { ScrapeAuth } from './auth.js';

/** A running listener. */
export interface MetricsListener {
  readonly port: number;
  readonly address: string;
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@link listenMetrics}. */
export interface ListenOptions {
  readonly ctx: PrometheusContext;
  readonly address: string;
  readonly tls: TlsMaterial | undefined;
  readonly auth: ScrapeAuth;
  /** The body in `format`, as buffers to write in order. */
  readonly scrape: (format: ExpositionFormat) => Promise<readonly Buffer[]>;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** Opens the listener. @throws VpmdError E_PROMETHEUS_LISTEN naming the address and port. */
export async function listenMetrics(opts: ListenOptions): Promise<MetricsListener> {
  const { ctx, address, auth } = opts;
  const sockets = new Set<Socket>();
  // Refused scrapes are logged at most once a minute per address: a misconfigured scraper
  // retries every interval and must not flood the log.
  const lastRefusalLog = new Map<string, number>();
  const logRefusal = (peer: string, why: string): void => {
    const now = Date.now();
    if ((lastRefusalLog.get(peer) ?? 0) > now - 60_000) return;
    lastRefusalLog.set(peer, now);
    ctx.log.warn({ address: peer }, `prometheus: scrape refused (${why})`);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      plain(res, 404, 'vpmd serves only /metrics here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (!auth.allows(req.headers.authorization)) {
      logRefusal(
        req.socket.remoteAddress ?? '',
        req.headers.authorization === undefined ? 'no credentials' : 'bad credentials',
      );
      plain(res, 401, 'unauthorized\n', { 'WWW-Authenticate': `${auth.scheme ?? 'Basic'} realm="vpmd metrics"` });
      return;
    }
    const format = negotiate(req.headers.accept);
    opts
      .scrape(format)
      .then((chunks) => {
        let length = 0;
        for (const c of chunks) length += c.length;
        res.writeHead(200, {
          'Content-Type': CONTENT_TYPES[format],
          'Content-Length': String(length),
          'Cache-Control': 'no-store',
        });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        // One family per buffer, corked into as few TLS records as the socket takes.
        res.cork();
        for (const c of chunks) res.write(c);
        res.uncork();
        res.end();
      })
      .catch((e: unknown) => {
        ctx.log.error({ err: e }, 'prometheus: scrape failed');
        if (!res.headersSent) plain(res, 500, 'scrape failed; see the vpmd log\n');
        else res.destroy();
      });
  };

  const server: Server = opts.tls
    ? createHttpsServer(
        { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2', keepAliveTimeout: 65_000 },
        onRequest,
      )
    : createHttpServer({ keepAliveTimeout: 65_000 }, onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    if (!ctx.access.isAddressAllowed(socket.remoteAddress)) {
      logRefusal(socket.remoteAddress ?? '', 'not in management.allow');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
  const port = ctx.config.port;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    server.close();
    throw new VpmdError(
      'E_PROMETHEUS_LISTEN',
      `prometheus: cannot listen on ${address}:${port}: ${(e as Error).message}`,
      { address, port },
    );
  }
  const info = server.address();
  const bound = typeof info === 'object' && info ? info.port : port;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    port: bound,
    address,
    url: `${opts.tls ? 'https' : 'http'}://${host}:${bound}/metrics`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
