/**
 * The guests' side of the benchmark, run in a worker thread so that the load generator does not
 * share the agent's event loop: one listening unix socket per channel (QEMU's side), then
 * closed-loop or paced request/reply runs on demand.
 *
 * Latency is request-write to reply-read as a guest sees it: `performance.now()` just before
 * the frame is written, and when the 'data' event carrying the reply fires. Replies come back in
 * order on a channel, so each channel keeps a FIFO of send times.
 *
 * - Closed loop: every channel has one request outstanding and sends the next one from the
 *   handler that reads the reply.
 * - Paced (open loop): one scheduler for all channels. Each timer tick sends as many requests as
 *   the rate says are due since the start (so ticks that come late do not lower the rate), one
 *   per channel in round-robin order, whether or not the channel's previous reply has arrived:
 *   a slow reply shows as latency instead of silently delaying later requests (no coordinated
 *   omission). Node timers have 1 ms granularity, so at 5,000 req/s a tick sends about 5
 *   requests, each to a different channel.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeRequest } from '../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../plugins/virtio-channels/protocol/packet-layout.js';

/** `changing` alternates SCALE_UP/SCALE_DOWN (a write per request); `steady` repeats SCALE_MAX. */
export type Mode = 'changing' | 'steady';

/** One measured run. */
export interface RunResult {
  /** Requests answered within the run. */
  readonly requests: number;
  readonly perSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly maxMs: number;
  /** Replies later than DPDK's 10 ms (a DPDK guest reads them as the answer to its next request). */
  readonly late: number;
  /** Requests without a reply 10 s after the run. */
  readonly lost: number;
  /** Paced runs: the rate asked for. */
  readonly targetPerSecond?: number;
  /** For tracing (bench/channels/goal-trace.ts), not a measure. */
  readonly trace?: RunTrace;
}

/** What a run saw besides latencies, to explain late replies. */
export interface RunTrace {
  /** The late replies (at most 500): when sent (epoch ms) and how late. */
  readonly lateReplies: ReadonlyArray<{ readonly sentAt: number; readonly ms: number }>;
  /** This worker's (the guests' side) garbage collections over 2 ms: epoch ms and duration. */
  readonly guestGc: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
}

/** Messages from the main thread. */
export type GuestCommand =
  | { readonly kind: 'run'; readonly mode: Mode; readonly seconds: number; readonly rate?: number }
  | { readonly kind: 'close' };

/** Messages to the main thread. */
export type GuestEvent =
  | { readonly kind: 'listening' }
  | { readonly kind: 'connected' }
  | { readonly kind: 'result'; readonly result: RunResult };

interface Chan {
  readonly server: Server;
  peer?: Socket;
  /** Bytes of the reply being received. */
  rx: number;
  /** Send times of the requests not answered yet, oldest first (a ring would not pay here). */
  readonly sentAt: number[];
  /** Picks the next frame (alternates in `changing` mode). */
  n: number;
  /** Pre-encoded frames: [SCALE_MAX] or [SCALE_DOWN, SCALE_UP]. */
  frames: readonly Buffer[];
}

const { paths, perVm } = workerData as { paths: string[]; perVm: number };
const port = parentPort;
if (!port) throw new Error('guest-load runs as a worker thread');

/** The run in progress: where replies go and what the closed loop does next. */
let current:
  | {
      readonly lat: number[];
      readonly lateReplies: Array<{ sentAt: number; ms: number }>;
      readonly closed: boolean;
      sending: boolean;
      outstanding: number;
      drained?: () => void;
    }
  | undefined;

function send(c: Chan): void {
  const frame = c.frames[c.n++ % c.frames.length] as Buffer;
  if (current) current.outstanding++;
  c.sentAt.push(performance.now());
  c.peer?.write(frame);
}

function onReply(c: Chan, chunk: Buffer): void {
  const t = performance.now();
  c.rx += chunk.length;
  while (c.rx >= REQUEST_SIZE) {
    c.rx -= REQUEST_SIZE;
    const t0 = c.sentAt.shift();
    const run = current;
    if (t0 === undefined || !run) continue;
    run.lat.push(t - t0);
    if (t - t0 > DPDK_TIMEOUT_MS && run.lateReplies.length < 500)
      run.lateReplies.push({ sentAt: round(performance.timeOrigin + t0), ms: round(t - t0) });
    run.outstanding--;
    if (run.closed && run.sending) send(c);
    else if (!run.sending && run.outstanding === 0) run.drained?.();
  }
}

const chans: Chan[] = await Promise.all(
  paths.map(
    (path) =>
      new Promise<Chan>((resolve) => {
        const c: Chan = { server: createServer(), rx: 0, sentAt: [], n: 0, frames: [] };
        c.server.on('connection', (s) => {
          c.peer = s;
          s.on('data', (d: Buffer) => onReply(c, d));
          if (chans.every((x) => x.peer)) port.postMessage({ kind: 'connected' } satisfies GuestEvent);
        });
        c.server.listen(path, () => resolve(c));
      }),
  ),
);
port.postMessage({ kind: 'listening' } satisfies GuestEvent);

const round = (x: number): number => Math.round(x * 1000) / 1000;
/** TIMEOUT in DPDK's guest_channel.c: how long a guest waits for each reply. */
const DPDK_TIMEOUT_MS = 10;
const pct = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** This worker's own collections over 2 ms: a late reply may be the guests' pause, not the host's. */
const guestGc: Array<{ at: number; ms: number }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if (e.duration > 2 && guestGc.length < 1000)
      guestGc.push({ at: round(performance.timeOrigin + e.startTime), ms: round(e.duration) });
}).observe({ entryTypes: ['gc'] });

function framesFor(mode: Mode, vcpu: number): Buffer[] {
  const frame = (unit: number): Buffer => encodeRequest({ resourceId: BigInt(vcpu), unit, command: Command.CPU_POWER });
  return mode === 'steady' ? [frame(Unit.SCALE_MAX)] : [frame(Unit.SCALE_DOWN), frame(Unit.SCALE_UP)];
}

/** Sends `rate` requests/s for `seconds`, spreading them over the channels. */
function pace(rate: number, seconds: number, done: () => void): void {
  const start = performance.now();
  const end = start + seconds * 1000;
  // Exactly rate x seconds in all (100,000 for the goal run, not one less to rounding).
  const total = Math.round(rate * seconds);
  let sent = 0;
  let next = 0;
  const tick = (): void => {
    const now = performance.now();
    const due = now >= end ? total : Math.min(total, Math.floor(((now - start) * rate) / 1000));
    for (; sent < due; sent++) {
      send(chans[next] as Chan);
      next = (next + 1) % chans.length;
    }
    if (now < end) setTimeout(tick, 1);
    else done();
  };
  tick();
}

async function run(mode: Mode, seconds: number, rate?: number): Promise<RunResult> {
  chans.forEach((c, i) => {
    c.n = i; // half the channels start with SCALE_UP, half with SCALE_DOWN
    c.frames = framesFor(mode, i % perVm);
  });
  const run: NonNullable<typeof current> = {
    lat: [],
    lateReplies: [],
    closed: rate === undefined,
    sending: true,
    outstanding: 0,
  };
  current = run;
  guestGc.length = 0;
  if (rate === undefined) {
    for (const c of chans) send(c);
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } else {
    await new Promise<void>((r) => pace(rate, seconds, r));
  }
  run.sending = false;
  // Replies still on their way are measured too (bounded wait: a lost reply must not hang).
  if (run.outstanding > 0) await new Promise<void>((r) => ((run.drained = r), setTimeout(r, 10_000)));
  current = undefined;
  const lost = run.outstanding;
  for (const c of chans) c.sentAt.length = 0;
  const sorted = Float64Array.from(run.lat).sort();
  return {
    requests: sorted.length,
    perSecond: Math.round(sorted.length / seconds),
    p50ms: round(pct(sorted, 50)),
    p99ms: round(pct(sorted, 99)),
    p999ms: round(pct(sorted, 99.9)),
    maxMs: round(sorted[sorted.length - 1] ?? NaN),
    late: run.lat.filter((ms) => ms > DPDK_TIMEOUT_MS).length,
    lost,
    ...(rate === undefined ? {} : { targetPerSecond: rate }),
    trace: { lateReplies: run.lateReplies, guestGc: [...guestGc] },
  };
}

port.on('message', (msg: GuestCommand) => {
  if (msg.kind === 'close') {
    for (const c of chans) {
      c.peer?.destroy();
      c.server.close();
    }
    port.close();
    return;
  }
  void run(msg.mode, msg.seconds, msg.rate).then((result) =>
    port.postMessage({ kind: 'result', result } satisfies GuestEvent),
  );
});
