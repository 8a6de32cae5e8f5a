/**
 * One UDP socket shared by every session of the poller, bound to the management address.
 * Datagrams are routed to the session registered for their source address and port, so 1,000
 * BMCs cost one file descriptor; datagrams from anyone else are counted and dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import { VpmdError } from '../../../core/index.js';

/** Receives the datagrams of one BMC. */
export type DatagramHandler = (msg: Buffer) => void;

/** A bound UDP socket with per-peer routing. */
export class UdpEndpoint {
  private readonly handlers = new Map<string, DatagramHandler>();
  /** Datagrams from addresses no session is registered for. */
  strayDatagrams = 0;
  private inFlight = 0;
  /** Shared retransmit wait estimate (ms), 0 until a late answer was seen. */
  private sharedRto = 0;
  private readonly waiting: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly maxInFlight: number,
  ) {
    socket.on('message', (msg, rinfo) => {
      const h = this.handlers.get(`${rinfo.address}:${rinfo.port}`);
      if (h === undefined) this.strayDatagrams++;
      else h(msg);
    });
    // Errors on a UDP socket (ICMP port unreachable on some systems) concern one peer: the
    // session's retransmit bound reports it; the socket stays usable.
    socket.on('error', () => undefined);
  }

  /**
   * Opens a socket bound to `address` (port chosen by the kernel).
   * @throws E_IPMI_CONFIG when the address cannot be bound
   */
  static async open(address: string, maxInFlight = 256): Promise<UdpEndpoint> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new VpmdError('E_IPMI_CONFIG', `cannot bind the IPMI UDP socket to ${address}: ${e.message}`, { address }, { cause: e })));
      socket.bind({ address, port: 0 }, () => resolve());
    });
    return new UdpEndpoint(socket, maxInFlight);
  }

  /** Local address and port. */
  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Routes datagrams from `host:port` to `handler`; returns the unregister function. */
  register(host: string, port: number, handler: DatagramHandler): () => void {
    const key = `${host}:${port}`;
    if (this.handlers.has(key)) throw new VpmdError('E_IPMI_CONFIG', `two sessions for the same BMC address ${key}`, { address: key });
    this.handlers.set(key, handler);
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  /**
   * Waits for a request slot. Bounding the requests outstanding across all sessions keeps the
   * answers within the socket's receive buffer: an overflow would cost a retransmit timeout.
   */
  async acquire(): Promise<void> {
    if (this.inFlight >= this.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
  }

  /**
   * Records how long an answer took. A late one (after a retransmit) raises the shared wait to
   * 1.5x its delay; prompt ones let it decay. Capped at 4x `baseMs`.
   */
  observe(elapsedMs: number, retransmitted: boolean, baseMs: number): void {
    if (retransmitted) this.sharedRto = Math.min(baseMs * 4, Math.max(this.sharedRto, elapsedMs * 1.5));
    else if (elapsedMs * 2 < this.sharedRto) this.sharedRto *= 0.99;
  }

  /** The shared retransmit wait for a session whose configured wait is `baseMs`. */
  rtoFor(baseMs: number): number {
    return Math.min(baseMs * 4, Math.max(baseMs, this.sharedRto));
  }

  /** Returns a request slot. */
  release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** Sends one datagram; send errors surface as a missing answer (retransmit bound). */
  send(host: string, port: number, data: Buffer): void {
    this.socket.send(data, port, host, () => undefined);
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
