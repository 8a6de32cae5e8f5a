/**
 * One UDP socket shared by every session of the poller, bound to the management address.
 * Datagrams are routed to the session registered for their source address and port, so 1,000
 * BMCs cost one file descriptor; datagrams from anyone else are counted and dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { VpmdError } from 'vpmd';

/** Receives the datagrams of one BMC. */
export type DatagramHandler = (msg: Buffer) => void;

/** Waits in line for a request slot; {@link UdpEndpoint.release} hands it one. */
export interface SlotWaiter {
  slotGranted(): void;
}

/** A bound UDP socket with per-peer routing. */
/**
 * dgram resolves the destination of every send through dns.lookup, which answers an address
 * literal only on the next tick: a deferred callback per datagram. BMCs are configured by
 * address, so answer those at once and leave names to the resolver.
 */
function literalFirstLookup(
  host: string,
  opts: LookupOneOptions | number,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(host);
  if (family !== 0) cb(null, host, family);
  else dnsLookup(host, typeof opts === 'number' ? { family: opts } : opts, cb);
}

/**
 * First-in first-out line of slot waiters. A cold sweep of 1,000 BMCs keeps thousands waiting;
 * Array.prototype.shift on such an array moves every element while V8 is marking (it cannot
 * trim the array's start then), which a CPU profile showed on every released slot.
 */
export class WaiterLine {
  private items: SlotWaiter[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(w: SlotWaiter): void {
    this.items.push(w);
  }

  /** The longest waiter, removed from the line; undefined when nobody waits. */
  shift(): SlotWaiter | undefined {
    if (this.head >= this.items.length) return undefined;
    const w = this.items[this.head] as SlotWaiter;
    this.items[this.head++] = undefined as unknown as SlotWaiter; // let it be collected
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Drop the served half at once: an occasional copy instead of one per waiter.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return w;
  }
}

export class UdpEndpoint {
  /** Handlers by source address, then port: no string is built per datagram. */
  private readonly handlers = new Map<string, Map<number, DatagramHandler>>();
  /** Datagrams from addresses no session is registered for. */
  strayDatagrams = 0;
  private inFlight = 0;
  /** Shared retransmit wait estimate (ms), 0 until a late answer was seen. */
  private sharedRto = 0;
  private readonly waiting = new WaiterLine();

  private constructor(
    private readonly socket: Socket,
    private readonly maxInFlight: number,
  ) {
    socket.on('message', (msg, rinfo) => {
      const h = this.handlers.get(rinfo.address)?.get(rinfo.port);
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
    const socket = createSocket({
      type: address.includes(':') ? 'udp6' : 'udp4',
      recvBufferSize: 4 * 1024 * 1024,
      lookup: literalFirstLookup,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) =>
        reject(
          new VpmdError(
            'E_IPMI_CONFIG',
            `cannot bind the IPMI UDP socket to ${address}: ${e.message}`,
            { address },
            { cause: e },
          ),
        ),
      );
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
    let ports = this.handlers.get(host);
    if (ports?.has(port))
      throw new VpmdError('E_IPMI_CONFIG', `two sessions for the same BMC address ${host}:${port}`, {
        address: `${host}:${port}`,
      });
    if (ports === undefined) this.handlers.set(host, (ports = new Map<number, DatagramHandler>()));
    ports.set(port, handler);
    return () => {
      const current = this.handlers.get(host);
      if (current?.get(port) !== handler) return;
      current.delete(port);
      if (current.size === 0) this.handlers.delete(host);
    };
  }

  /**
   * Waits for a request slot. Bounding the requests outstanding across all sessions keeps the
   * answers within the socket's receive buffer: an overflow would cost a retransmit timeout.
   */
  async acquire(): Promise<void> {
    if (!this.tryAcquire()) await new Promise<void>((r) => this.waiting.push({ slotGranted: r }));
  }

  /** Takes a request slot when one is free and nobody waits for one; otherwise use {@link acquire} or {@link enqueue}. */
  tryAcquire(): boolean {
    if (this.inFlight >= this.maxInFlight || this.waiting.length > 0) return false;
    this.inFlight++;
    return true;
  }

  /**
   * Lines `waiter` up for a slot without a promise (a sweep queues thousands of requests);
   * its `slotGranted` then owns one slot and must {@link release} it.
   */
  enqueue(waiter: SlotWaiter): void {
    this.waiting.push(waiter);
  }

  /**
   * Records how long an answer took. A slow one (a late answer to an earlier attempt, not the
   * answer to a retransmit after loss) raises the shared wait to 1.5x its delay; prompt ones let
   * it decay. Capped at 4x `baseMs`.
   */
  observe(elapsedMs: number, slow: boolean, baseMs: number): void {
    if (slow) this.sharedRto = Math.min(baseMs * 4, Math.max(this.sharedRto, elapsedMs * 1.5));
    else if (elapsedMs * 2 < this.sharedRto) this.sharedRto *= 0.99;
  }

  /** The shared retransmit wait for a session whose configured wait is `baseMs`. */
  rtoFor(baseMs: number): number {
    return Math.min(baseMs * 4, Math.max(baseMs, this.sharedRto));
  }

  /** Returns a request slot; it passes straight to the longest waiter, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.slotGranted();
    else this.inFlight--;
  }

  /**
   * Queues one datagram; the queue goes out once per event loop turn (setImmediate), after
   * every answer read in that turn was handled. A BMC process then wakes once for a burst of
   * requests instead of once per request: at 1,000 BMCs that halved the sweep time, and the
   * simulators' CPU with it. Send errors surface as a missing answer (retransmit bound).
   */
  send(host: string, port: number, data: Buffer): void {
    this.outHosts.push(host);
    this.outPorts.push(port);
    this.outData.push(data);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly outHosts: string[] = [];
  private readonly outPorts: number[] = [];
  private readonly outData: Buffer[] = [];
  private flushScheduled = false;

  /**
   * Sends the queue. No callback per datagram: dgram then sends without a completion round
   * trip into JavaScript, and an error becomes a socket 'error' event, ignored above.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const n = this.outData.length;
    try {
      for (let i = 0; i < n; i++) this.socket.send(this.outData[i] as Buffer, this.outPorts[i], this.outHosts[i]);
    } catch {
      // The socket was closed meanwhile: nothing to send to any more.
    }
    this.outHosts.length = 0;
    this.outPorts.length = 0;
    this.outData.length = 0;
  };

  /** Closes the socket. */
  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
