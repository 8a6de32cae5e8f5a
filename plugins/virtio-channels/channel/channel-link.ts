/**
 * One power channel: a connection to the unix stream socket QEMU listens on for a virtio-serial
 * port (`DIR/VM.N`). ECONNREFUSED or ENOENT means the VM is not running; the link retries with
 * exponential backoff (with jitter, so hundreds of channels do not reconnect in lockstep) and
 * reconnects by itself when QEMU closes the socket because the VM stopped. Messages are
 * reassembled by size (resynchronising after garbage, see `FrameReader`) and queued on the
 * shared {@link Dispatcher}, which serves every channel in turn; replies are written in order.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from 'vpmd';
import { FrameReader } from '../protocol/packet-codec.js';
import { REQUEST_SIZE } from '../protocol/packet-layout.js';
import type { Dispatcher, Lane } from './dispatcher.js';

/**
 * A partial frame older than this when more bytes arrive is dropped: a DPDK guest writes each
 * request with one write(), so the rest of a frame follows within microseconds; a partial frame
 * that waits this long is what a guest that died mid-write, or garbage, leaves behind. Half of
 * the 1 s a restarted guest sleeps in rte_power_init() before its first write, and long enough
 * for QEMU (or socat) to be descheduled between two pieces of one write on a loaded host.
 */
export const STALE_PARTIAL_MS = 500;

/**
 * Bytes a channel may have dropped as garbage per {@link GARBAGE_WINDOW_MS} before its socket is
 * paused for the rest of that window. Resynchronising scans garbage byte by byte; without a
 * bound a guest writing garbage as fast as the socket takes it would hold the event loop every
 * other channel is served from. A restarting guest leaves at most one partial request (463
 * bytes); 16 KiB per 100 ms lets a channel realign many times over and caps the scanning at
 * 160 KiB/s per channel.
 */
export const GARBAGE_BYTES_PER_WINDOW = 16 * 1024;
/** The window of {@link GARBAGE_BYTES_PER_WINDOW}. */
export const GARBAGE_WINDOW_MS = 100;

/** Reconnection backoff bounds. */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** What a link reports to its owner. */
export interface LinkHandler {
  /** Handles one complete 464-byte request; returns the reply bytes, if any. */
  frame(frame: Buffer): Buffer | undefined | Promise<Buffer | undefined>;
  /** The connection came up or went down. */
  state(connected: boolean): void;
  /** Frames or bytes dropped while resynchronising, and frames that waited for the budget. */
  dropped(frames: number, bytes: number): void;
  /** A frame waited for the channel's message budget. */
  limited(): void;
}

/** A self-reconnecting channel connection. */
export class ChannelLink {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopped = false;
  private readonly reader = new FrameReader(REQUEST_SIZE, STALE_PARTIAL_MS);
  private readonly lane: Lane;
  /** Connection attempts that failed, for show output and tests. */
  failures = 0;
  /** Times the link came up. */
  connects = 0;
  private lastDropWarn = 0;
  /** Garbage budget: the current window's start and the bytes dropped in it. */
  private garbageWindowAt = 0;
  private garbageInWindow = 0;
  private garbagePause: NodeJS.Timeout | undefined;
  /** The dispatcher asked to stop reading (its queue for this channel is full). */
  private backpressured = false;
  /** Times reading was paused because a channel sent more garbage than its budget. */
  garbagePauses = 0;

  constructor(
    readonly path: string,
    private readonly backoff: Backoff,
    private readonly handler: LinkHandler,
    private readonly log: Logger,
    private readonly dispatcher: Dispatcher,
  ) {
    this.delay = backoff.minMs;
    this.lane = {
      handle: (frame) => this.handler.frame(frame),
      reply: (bytes) => {
        const s = this.socket;
        if (s && !s.destroyed) s.write(bytes);
      },
      flow: (reading) => {
        this.backpressured = !reading;
        if (!reading) this.socket?.pause();
        else if (!this.garbagePause) {
          this.reader.restartClock(performance.now());
          this.socket?.resume();
        }
      },
      limited: () => this.handler.limited(),
      failed: (e) =>
        this.log.error(
          { path: this.path, err: e instanceof Error ? e.message : String(e) },
          'power channel message handling failed',
        ),
    };
  }

  /** True while connected. */
  get connected(): boolean {
    return this.socket !== undefined && !this.socket.connecting && !this.socket.destroyed;
  }

  /** Starts connecting (idempotent). */
  start(): void {
    this.stopped = false;
    if (!this.socket && !this.timer) this.attempt();
  }

  /** Connects now instead of waiting for the backoff (a VM was just seen starting). */
  kick(): void {
    if (this.stopped || this.socket) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.delay = this.backoff.minMs;
    this.attempt();
  }

  private attempt(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const s = connect(this.path);
    this.socket = s;
    let up = false;
    s.on('connect', () => {
      up = true;
      this.connects++;
      this.delay = this.backoff.minMs;
      this.reader.reset();
      this.backpressured = false;
      this.log.info({ path: this.path }, 'power channel connected');
      this.handler.state(true);
    });
    s.on('data', (chunk: Buffer) => {
      const { frames: droppedBefore, bytes: bytesBefore } = this.reader.dropped;
      const frames = this.reader.push(chunk, performance.now());
      this.dispatcher.push(this.lane, frames);
      const d = this.reader.dropped;
      if (d.frames !== droppedBefore) {
        const n = d.frames - droppedBefore;
        const bytes = d.bytes - bytesBefore;
        this.chargeGarbage(s, bytes);
        // After the replies of this read: a log line never sits between a request and its reply.
        setImmediate(() => {
          this.handler.dropped(n, bytes);
          const now = Date.now();
          if (now - this.lastDropWarn < 1000) return;
          this.lastDropWarn = now;
          this.log.warn(
            { path: this.path, frames: n, bytes, droppedTotal: this.reader.dropped.bytes },
            'power channel: dropped bytes that are not a whole request (resynchronised)',
          );
        });
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!up) {
        this.failures++;
        if (this.failures === 1 || this.failures % 100 === 0)
          this.log.debug({ path: this.path, code: e.code }, 'power channel not reachable (VM not running?)');
      } else this.log.warn({ path: this.path, err: e.message }, 'power channel error');
    });
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
      this.dispatcher.remove(this.lane);
      if (up) {
        this.log.info({ path: this.path, partialBytes: this.reader.buffered }, 'power channel closed (VM stopped?)');
        this.handler.state(false);
      }
      this.reader.reset();
      this.schedule(up);
    });
    // QEMU ends the stream when the VM stops: close our side too instead of spinning on EOF.
    s.on('end', () => s.destroy());
  }

  /** Counts dropped bytes; over the window's budget, stops reading until the window ends. */
  private chargeGarbage(s: Socket, bytes: number): void {
    const now = performance.now();
    if (now - this.garbageWindowAt >= GARBAGE_WINDOW_MS) {
      this.garbageWindowAt = now;
      this.garbageInWindow = 0;
    }
    this.garbageInWindow += bytes;
    if (this.garbageInWindow <= GARBAGE_BYTES_PER_WINDOW || this.garbagePause) return;
    this.garbagePauses++;
    s.pause();
    this.garbagePause = setTimeout(
      () => {
        this.garbagePause = undefined;
        if (this.socket !== s || s.destroyed || this.backpressured) return;
        this.reader.restartClock(performance.now());
        s.resume();
      },
      Math.max(1, GARBAGE_WINDOW_MS - (now - this.garbageWindowAt)),
    );
  }

  private schedule(wasUp: boolean): void {
    if (this.stopped || this.timer) return;
    const base = wasUp ? this.backoff.minMs : this.delay;
    if (!wasUp) this.delay = Math.min(this.backoff.maxMs, this.delay * 2);
    const wait = Math.round(base * (0.75 + Math.random() * 0.5));
    this.timer = setTimeout(() => this.attempt(), wait);
    this.timer.unref();
  }

  /** Disconnects and stops reconnecting; waits for the message in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.garbagePause);
    this.garbagePause = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.dispatcher.remove(this.lane);
    await Promise.resolve();
  }
}
