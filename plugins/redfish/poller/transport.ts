/**
 * HTTP(S) to one BMC: a keep-alive agent holding at most `requestsPerBmc` connections, a deadline
 * per request (connect, headers and body together), a size bound on replies, and the BMC's
 * certificate checked against a CA file, a pinned SHA-256 fingerprint, or the system CAs.
 * A pinned certificate is checked before the request is written, so no credential reaches a
 * BMC that is not the pinned one.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequestArgs,
  type IncomingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { VpmdError } from 'vpmd';
import type { BmcTrust, ResolvedRedfishTarget } from './config.js';

/** Largest reply body accepted (a whole expanded Sensors collection fits many times over). */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** One answer. */
export interface BmcReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Why a request got no answer, for error details and health. */
export type TransportFault = 'timeout' | 'refused' | 'reset' | 'tls' | 'too-large' | 'network';

/** A request that got no answer. */
export function transportError(target: string, what: string, fault: TransportFault, message: string): VpmdError {
  return new VpmdError('E_REDFISH_BMC_UNREACHABLE', `BMC ${target}: ${what}: ${message}`, { target, fault });
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

/** An HTTPS agent whose connections are handed out only after the peer certificate matched the pin. */
class PinnedAgent extends HttpsAgent {
  constructor(
    private readonly sha256: string,
    opts: ConstructorParameters<typeof HttpsAgent>[0],
  ) {
    super(opts);
  }

  override createConnection(options: ClientRequestArgs, callback?: ConnectCallback): undefined {
    // The CA chain is not consulted: the pin is the trust (a BMC's certificate is self-signed).
    const socket: TLSSocket = tlsConnect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      if (err) {
        socket.destroy();
        callback?.(err, socket);
      } else callback?.(null, socket);
    };
    socket.once('secureConnect', () => {
      const got = socket.getPeerCertificate().fingerprint256;
      finish(
        got === this.sha256
          ? null
          : Object.assign(new Error(`certificate fingerprint ${got ?? '(none)'} is not the pinned ${this.sha256}`), {
              code: 'ERR_FINGERPRINT_MISMATCH',
            }),
      );
    });
    socket.once('error', (e: Error) => finish(e));
    return undefined;
  }
}

function agentFor(trust: BmcTrust, maxSockets: number, localAddress: string | undefined): HttpAgent {
  const common = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ...(localAddress ? { localAddress } : {}) };
  switch (trust.kind) {
    case 'plain':
      return new HttpAgent(common);
    case 'ca':
      return new HttpsAgent({ ...common, ca: trust.ca });
    case 'fingerprint':
      return new PinnedAgent(trust.sha256, common);
    case 'system':
      return new HttpsAgent(common);
  }
}

function faultOf(e: NodeJS.ErrnoException): TransportFault {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset';
  if (/CERT|SSL|TLS|FINGERPRINT|SELF_SIGNED|ALTNAME|ERR_SSL/i.test(code)) return 'tls';
  return 'network';
}

/** Requests to one BMC. */
export class BmcTransport {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  constructor(
    private readonly target: ResolvedRedfishTarget,
    private readonly timeoutMs: number,
    maxSockets: number,
    localAddress?: string,
  ) {
    this.secure = target.trust.kind !== 'plain';
    this.agent = agentFor(target.trust, maxSockets, localAddress);
  }

  /** Sends one request and reads the whole answer. @throws E_REDFISH_BMC_UNREACHABLE */
  send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<BmcReply> {
    const what = `${method} ${path}`;
    return new Promise<BmcReply>((resolve, reject) => {
      let settled = false;
      const fail = (fault: TransportFault, message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(transportError(this.target.name, what, fault, message));
      };
      const send = this.secure ? httpsRequest : httpRequest;
      const req = send({
        host: this.target.host,
        port: this.target.port,
        method,
        path,
        agent: this.agent,
        headers: {
          Accept: 'application/json',
          'OData-Version': '4.0',
          ...(body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }
            : {}),
          ...headers,
        },
      });
      const timer = setTimeout(() => fail('timeout', `no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      req.once('error', (e: NodeJS.ErrnoException) => fail(faultOf(e), e.message));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REPLY_BYTES) fail('too-large', `reply larger than ${MAX_REPLY_BYTES} bytes`);
          else chunks.push(c);
        });
        res.once('error', (e: NodeJS.ErrnoException) => fail(faultOf(e), e.message));
        res.once('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }

  /**
   * Opens a long-lived GET (an SSE stream) on a connection of its own, not the pooled ones.
   * Returns the request unsent: the caller attaches its listeners, ends it, and destroys it to close.
   */
  openStream(path: string, headers: Record<string, string>): ReturnType<typeof httpRequest> {
    const send = this.secure ? httpsRequest : httpRequest;
    const streamAgent = agentFor(this.target.trust, 1, undefined);
    const req = send({
      host: this.target.host,
      port: this.target.port,
      method: 'GET',
      path,
      agent: streamAgent,
      headers: { Accept: 'text/event-stream', 'OData-Version': '4.0', ...headers },
    });
    req.once('close', () => streamAgent.destroy());
    return req;
  }

  /** Closes every pooled connection. */
  close(): void {
    this.agent.destroy();
  }
}
