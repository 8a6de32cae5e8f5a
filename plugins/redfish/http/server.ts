/**
 * The HTTPS transport: Node's own `https` server (TLS only: there is no plain-HTTP listener),
 * bound to the management address. Peers outside the allow-list are dropped at TCP accept, before
 * any TLS handshake. Every `/redfish` URI goes to the {@link Dispatcher}; anything else is a
 * Redfish 404.
 *
 * Why no framework: the dispatcher already does routing, authentication and errors for every
 * URI, so a framework only added per-request work in front of it. What it used to provide is
 * here: the body limit (413), 503 while closing, the keep-alive timeout, and Node's header and
 * request timeouts against slow clients.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { VpmdError } from 'vpmd';
import type { RedfishContext } from '../config.js';
import { errorOutcome, type Dispatcher, type Outcome } from './dispatch.js';
import { fail } from './redfish-error.js';
import type { TlsMaterial } from './tls.js';

/** A running listener. */
export interface HttpsListener {
  readonly port: number;
  readonly address: string;
  /**
   * Serves a new certificate and key to connections made from now on; open connections keep
   * theirs (Node's `setSecureContext`). @throws Error when TLS cannot use them.
   */
  setCertificate(m: { cert: string; key: string }): void;
  close(): Promise<void>;
}

/** HTTP status texts of the replies written straight to a socket (Node's parser refused the request). */
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
};

/**
 * The Redfish reply to a request Node's HTTP parser refused before it became a request. An
 * unknown method (`FAKEMETHOD / HTTP/1.1`) is 501 Not Implemented with OperationNotAllowed, as
 * DSP0266 wants of unsupported and undocumented methods (a method Node knows goes through the
 * dispatcher and gets 405 with Allow); oversized headers 431, a header timeout 408, the rest 400.
 * The connection is closed after it: the parser cannot find where the next request starts.
 */
export function parserErrorReply(code: string | undefined): string {
  const [status, e] =
    code === 'HPE_INVALID_METHOD'
      ? [501, fail(501, 'OperationNotAllowed')]
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, fail(431, 'HeaderInvalid', ['(request headers too large)'])]
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, fail(408, 'GeneralError')]
          : [400, fail(400, 'GeneralError')];
  const body = JSON.stringify(e.body());
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\nOData-Version: 4.0\r\nCache-Control: no-store\r\n' +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * Writes an outcome; a body-less reply still says its length (except where HTTP forbids it).
 * Outcomes may be shared between requests (the response cache), so their headers are copied,
 * not changed, when the length must be added.
 */
function send(res: ServerResponse, out: Outcome): void {
  if (res.destroyed) return;
  if (out.stream) {
    res.writeHead(out.status, out.headers);
    out.stream(res);
    return;
  }
  let headers = out.headers;
  if (headers['Content-Length'] === undefined) {
    if (out.body !== undefined) headers = { ...headers, 'Content-Length': String(Buffer.byteLength(out.body)) };
    else if (out.status >= 200 && out.status !== 204 && out.status !== 304 && res.req.method !== 'HEAD')
      headers = { ...headers, 'Content-Length': '0' };
  }
  res.writeHead(out.status, headers);
  res.end(out.body);
}

/**
 * Replies finished during one event-loop turn, written together when the turn's I/O is done
 * (`setImmediate` runs right after the poll phase). Each write to a client that is asleep wakes
 * it (a cross-CPU wake-up: on a VM an interrupt and an exit, tens of microseconds); written in
 * one burst, a client reading many connections wakes once and finds them all. A reply waits at
 * most for the rest of the turn's requests: the turn that read a request is the one that answers it.
 */
class ReplyBurst {
  private readonly queue: Array<{ res: ServerResponse; out: Outcome }> = [];
  private readonly flush = (): void => {
    // Sent in arrival order; a reply added while flushing (none today) waits for the next turn.
    const n = this.queue.length;
    for (let i = 0; i < n; i++) {
      const r = this.queue[i] as { res: ServerResponse; out: Outcome };
      try {
        send(r.res, r.out);
      } catch (e) {
        this.failed(r.res, e);
      }
    }
    this.queue.splice(0, n);
    if (this.queue.length > 0) setImmediate(this.flush);
  };

  /** @param failed called when a reply cannot be written (the others still are). */
  constructor(private readonly failed: (res: ServerResponse, e: unknown) => void) {}

  /** Queues a reply for the end of this turn. */
  add(res: ServerResponse, out: Outcome): void {
    if (this.queue.length === 0) setImmediate(this.flush);
    this.queue.push({ res, out });
  }
}

/** True when the request says it has no body (no or zero Content-Length, no Transfer-Encoding). */
function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length === undefined || Number(length) === 0) && req.headers['transfer-encoding'] === undefined;
}

/** readBody's answer for a body over the limit. */
const TOO_LARGE = Symbol('too-large');
/** readBody's answer when the client went away mid-body. */
const ABORTED = Symbol('aborted');

/**
 * Reads the request body as UTF-8 text, refusing more than `limit` bytes (by Content-Length up
 * front, or while streaming). Resolves `undefined` for a body-less request, {@link ABORTED} when the
 * client went away mid-body. Symbols, so that no body text can be mistaken for them.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<string | undefined | typeof TOO_LARGE | typeof ABORTED> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(TOO_LARGE);
  if (hasNoBody(req)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? TOO_LARGE : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(ABORTED));
  });
}

/**
 * TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only (no CBC, no SHA-1, no static RSA),
 * ECDSA first (the generated key is P-256), RSA for configured RSA certificates; then TLS 1.3's
 * own suites (all AEAD). Anything older than TLS 1.2 is refused.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Opens the HTTPS listener. @throws VpmdError E_REDFISH_LISTEN naming the address and port. */
export async function listenHttps(opts: {
  ctx: RedfishContext;
  tls: TlsMaterial;
  dispatcher: Dispatcher;
  bodyLimit: number;
}): Promise<HttpsListener> {
  const { ctx, dispatcher, bodyLimit } = opts;
  const address = ctx.access.bindAddress();
  const sockets = new Set<Socket>();
  let closing = false;
  const burst = new ReplyBurst((res, e) => {
    ctx.log.error({ err: e, method: res.req.method, url: res.req.url }, 'redfish: cannot send the reply');
    res.destroy();
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (closing) {
      res.shouldKeepAlive = false;
      send(res, errorOutcome(fail(503, 'ServiceTemporarilyUnavailable', ['1'])));
      return;
    }
    const isRedfish = url === '/redfish' || url.startsWith('/redfish/') || url.startsWith('/redfish?');
    // Every method Node parses reaches the dispatcher: one it does not route gets 405 with Allow.
    if (!isRedfish) {
      send(res, errorOutcome(fail(404, 'ResourceMissingAtURI', [url.split('?')[0] ?? ''])));
      return;
    }
    // A request without a body (every GET) goes straight to the dispatcher, which answers in
    // this turn when nothing it does waits: no promise hops for a poller's request.
    if (hasNoBody(req)) {
      const out = dispatcher.handle({
        method,
        url,
        headers: req.headers,
        address: req.socket.remoteAddress ?? '',
        rawBody: undefined,
      });
      if (!(out instanceof Promise)) burst.add(res, out);
      else
        out.then(
          (o) => burst.add(res, o),
          (e: unknown) => {
            ctx.log.error({ err: e, method, url }, 'redfish: cannot send the reply');
            res.destroy();
          },
        );
      return;
    }
    void readBody(req, bodyLimit)
      .then((rawBody) => {
        if (rawBody === TOO_LARGE) {
          res.shouldKeepAlive = false;
          return errorOutcome(fail(413, 'PayloadTooLarge'));
        }
        if (rawBody === ABORTED) return undefined;
        return dispatcher.handle({
          method,
          url,
          headers: req.headers,
          address: req.socket.remoteAddress ?? '',
          rawBody,
        });
      })
      .then((out) => {
        if (out) burst.add(res, out);
        else res.destroy();
      })
      .catch((e: unknown) => {
        ctx.log.error({ err: e, method, url }, 'redfish: cannot send the reply');
        res.destroy();
      });
  };

  const tlsOptions = { minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true } as const;
  const server: Server = createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      ...tlsOptions,
      keepAliveTimeout: 30_000,
      noDelay: true,
    },
    onRequest,
  );
  // Without this Node answers a request its parser refuses with a bare 400 and no body.
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(parserErrorReply(err.code));
  });
  server.on('connection', (socket: Socket) => {
    if (!ctx.access.isAddressAllowed(socket.remoteAddress)) {
      ctx.log.warn({ address: socket.remoteAddress }, 'redfish: connection refused (not in management.allow)');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port: ctx.config.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    server.close();
    throw new VpmdError(
      'E_REDFISH_LISTEN',
      `redfish: cannot listen on https://${address}:${ctx.config.port}: ${(e as Error).message}`,
      {
        address,
        port: ctx.config.port,
      },
    );
  }
  const info = server.address();
  const port = typeof info === 'object' && info ? info.port : ctx.config.port;
  return {
    port,
    address,
    setCertificate: (m) => server.setSecureContext({ ...tlsOptions, cert: m.cert, key: m.key }),
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
