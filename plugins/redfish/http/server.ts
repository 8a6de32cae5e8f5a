/**
 * The HTTPS transport: fastify over TLS only (there is no plain-HTTP listener), bound to the
 * management address. Peers outside the allow-list are dropped at TCP accept, before any TLS
 * handshake. Every `/redfish` URI goes to the {@link Dispatcher}; anything else is a Redfish 404.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { VpmdError } from '../../../core/index.js';
import type { RedfishContext } from '../config.js';
import { errorOutcome, type Dispatcher, type Outcome } from './dispatch.js';
import { fail } from './redfish-error.js';
import type { TlsMaterial } from './tls.js';

/** A running listener. */
export interface HttpsListener {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'] as const;

/** Opens the HTTPS listener. @throws VpmdError E_REDFISH_LISTEN naming the address and port. */
export async function listenHttps(opts: {
  ctx: RedfishContext;
  tls: TlsMaterial;
  dispatcher: Dispatcher;
  bodyLimit: number;
}): Promise<HttpsListener & { app: FastifyInstance }> {
  const { ctx, dispatcher } = opts;
  const address = ctx.access.bindAddress();
  const app = Fastify({
    https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' },
    bodyLimit: opts.bodyLimit,
    logger: false,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    exposeHeadRoutes: false,
  });
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    if (!ctx.access.isAddressAllowed(socket.remoteAddress)) {
      ctx.log.warn({ address: socket.remoteAddress }, 'redfish: connection refused (not in management.allow)');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (_req, body, done) => done(null, body));

  const send = (reply: import('fastify').FastifyReply, out: Outcome): void => {
    if (out.stream) {
      reply.hijack();
      reply.raw.writeHead(out.status, out.headers);
      out.stream(reply.raw);
      return;
    }
    void reply.code(out.status).headers(out.headers).send(out.body);
  };
  const handler = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply): Promise<void> => {
    const out = await dispatcher.handle({
      method: req.method,
      url: req.url,
      headers: req.headers,
      address: (req.raw.socket as TLSSocket).remoteAddress ?? '',
      rawBody: typeof req.body === 'string' ? req.body : undefined,
    });
    send(reply, out);
  };
  app.route({ method: [...METHODS], url: '/redfish', handler });
  app.route({ method: [...METHODS], url: '/redfish/*', handler });
  app.setNotFoundHandler((req, reply) => send(reply, errorOutcome(fail(404, 'ResourceMissingAtURI', [req.url.split('?')[0] ?? '']))));
  app.setErrorHandler((err: { statusCode?: number; code?: string }, _req, reply) => {
    const e =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? fail(413, 'PayloadTooLarge')
        : (err.statusCode ?? 500) < 500
          ? fail(400, 'MalformedJSON')
          : fail(500, 'InternalError');
    send(reply, errorOutcome(e));
  });
  try {
    await app.listen({ host: address, port: ctx.config.port });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw new VpmdError('E_REDFISH_LISTEN', `redfish: cannot listen on https://${address}:${ctx.config.port}: ${(e as Error).message}`, {
      address,
      port: ctx.config.port,
    });
  }
  const info = app.server.address();
  const port = typeof info === 'object' && info ? info.port : ctx.config.port;
  return {
    app,
    port,
    address,
    close: async () => {
      for (const s of sockets) s.destroy();
      await app.close();
    },
  };
}
