/**
 * A UDP relay between the poller and one BMC that drops, delays or adds datagrams: packet loss,
 * a slow network and garbage on the wire, with the real BMC behind it.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { seededRandom } from '../../../../core/sim/sim-state.js';

/** What the relay does to traffic. */
export interface RelayFaults {
  /** Drop this fraction of datagrams in each direction (deterministic: every 1/rate-th). */
  dropEvery?: number;
  /** Delay each datagram by this many ms. */
  delayMs?: number;
  /** Send this many garbage datagrams to the client before each real answer. */
  garbageBefore?: number;
  /** Answer each datagram twice (a duplicated, replayed packet). */
  duplicate?: boolean;
  /** Drop this fraction (0-1) of datagrams in each direction, drawn from the seeded generator. */
  lossRate?: number;
  /** Flip one byte in this fraction (0-1) of the datagrams that pass, likewise seeded. */
  corruptRate?: number;
  /** Seed of the loss and corruption draws (default 1): the same seed, the same draws. */
  seed?: number;
  /**
   * Drop the first in-session request from the client (RMCP+ IPMI payload with a session id):
   * after a login, Set Session Privilege. Its retransmission passes.
   */
  dropFirstInSession?: boolean;
  /** Drop every sessionless IPMI 1.5 request from the client (Get Channel Authentication Capabilities). */
  dropSessionless?: boolean;
}

/** The simulator's seeded generator (mulberry32), so a lossy run can be replayed draw for draw. */
export { seededRandom };

/** Requests that crossed a relay (or several sharing one tally) and have no answer yet. */
export interface OutstandingTally {
  outstanding: number;
  /** The most outstanding at once. */
  max: number;
}

/** A running relay. */
export interface UdpRelay {
  readonly port: number;
  faults: RelayFaults;
  readonly counts: { forwarded: number; dropped: number; garbage: number; corrupted: number };
  close(): Promise<void>;
}

/** Starts a relay on 127.0.0.1 towards `bmcPort`. */
export async function startRelay(
  bmcPort: number,
  faults: RelayFaults = {},
  tally?: OutstandingTally,
): Promise<UdpRelay> {
  const front: Socket = createSocket('udp4');
  const back: Socket = createSocket('udp4');
  let client: RemoteInfo | undefined;
  let n = 0;
  let closed = false;
  const counts = { forwarded: 0, dropped: 0, garbage: 0, corrupted: 0 };
  const random = seededRandom(faults.seed ?? 1);
  const relay: UdpRelay = {
    port: 0,
    faults,
    counts,
    close: async () => {
      closed = true;
      await Promise.all([
        new Promise<void>((r) => front.close(() => r())),
        new Promise<void>((r) => back.close(() => r())),
      ]);
    },
  };
  /** Drops, corrupts or forwards `msg` through `send`. */
  const pass = (msg: Buffer, send: (m: Buffer) => void): void => {
    n++;
    const f = relay.faults;
    if ((f.dropEvery !== undefined && n % f.dropEvery === 0) || (f.lossRate !== undefined && random() < f.lossRate)) {
      counts.dropped++;
      return;
    }
    let out = msg;
    if (f.corruptRate !== undefined && random() < f.corruptRate && msg.length > 0) {
      out = Buffer.from(msg);
      const at = Math.floor(random() * out.length);
      out[at] = (out[at] ?? 0) ^ (1 + Math.floor(random() * 255));
      counts.corrupted++;
    }
    counts.forwarded++;
    const guarded = (): void => {
      if (!closed) send(out); // a delayed datagram may come due after the relay closed
    };
    if (f.delayMs) setTimeout(guarded, f.delayMs);
    else guarded();
  };
  let sessionRequests = 0;
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    if (tally !== undefined) tally.max = Math.max(tally.max, ++tally.outstanding);
    const inSession = msg.length >= 10 && msg[4] === 0x06 && ((msg[5] ?? 0) & 0x3f) === 0 && msg.readUInt32LE(6) !== 0;
    const sessionless = msg.length >= 5 && msg[3] === 0x07 && msg[4] === 0x00;
    if (sessionless && relay.faults.dropSessionless === true) {
      counts.dropped++;
      return;
    }
    if (inSession && ++sessionRequests === 1 && relay.faults.dropFirstInSession === true) {
      counts.dropped++;
      return;
    }
    pass(msg, (m) => back.send(m, bmcPort, '127.0.0.1'));
  });
  back.on('message', (msg) => {
    if (tally !== undefined) tally.outstanding--;
    const c = client;
    if (c === undefined || closed) return;
    for (let i = 0; i < (relay.faults.garbageBefore ?? 0); i++) {
      counts.garbage++;
      const junk =
        i % 3 === 0
          ? Buffer.from([0x06, 0x00, 0xff, 0x07, 0x06, 0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff, 0xff])
          : i % 3 === 1
            ? Buffer.from(msg.map((b, j) => (j > 20 ? b ^ 0x5a : b)))
            : Buffer.from('garbage datagram');
      front.send(junk, c.port, c.address);
    }
    pass(msg, (m) => {
      front.send(m, c.port, c.address);
      if (relay.faults.duplicate) front.send(m, c.port, c.address);
    });
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  Object.assign(relay, { port: front.address().port });
  return relay;
}
