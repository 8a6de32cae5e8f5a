/**
 * Fair service of the guest channels. Each channel has its own queue of complete frames; the
 * dispatcher serves the queues round-robin, at most {@link BATCH} frames of one channel per turn,
 * and yields to the event loop between rounds, so a channel sending as fast as it can delays any
 * other channel by at most one round of batches.
 *
 * Each channel also has a message budget (token bucket, `messagesPerSecond` and `burst`): a
 * channel over it is not refused, its frames wait in its queue (counted as `limited`), which
 * bounds the host CPU one flooding channel can take. A queue longer than {@link HIGH_WATER}
 * frames pauses reading from the socket (backpressure to QEMU and the guest's write) until it
 * drains below {@link LOW_WATER}.
 *
 * Replies are written together: those decided while the event loop reads its sockets wait in an
 * outbox, written at the end of that loop turn (or at once when {@link FLUSH_AT} have piled up),
 * one write per channel. A request's reply thus waits at most for the other reads of the same
 * turn, microseconds each, and the guests' side is woken once for many replies instead of once
 * per reply: on a virtualised host each wake-up of a sleeping reader is an inter-processor
 * interrupt, the largest single cost of a reply after the write itself.
 */

/** Frames of one channel served per turn. */
export const BATCH = 8;
/** Queued frames at which a channel's socket is paused. */
export const HIGH_WATER = 256;
/** Queued frames at which a paused socket is resumed. */
export const LOW_WATER = 32;
/** Replies in the outbox at which it is written at once instead of at the end of the loop turn. */
export const FLUSH_AT = 32;

/**
 * Runs `fn` after the replies decided in this loop turn are written: the outbox is written by an
 * immediate of this turn, so a log line, an audit record or a save deferred with one immediate
 * could run before it; with two it runs in the next turn.
 */
export function afterReplies(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** The per-channel message budget. */
export interface MessageBudget {
  readonly messagesPerSecond: number;
  readonly burst: number;
}

/** One channel as the dispatcher sees it. */
export interface Lane {
  /** Handles one frame; returns the reply (synchronously on the hot path). */
  handle(frame: Buffer): Buffer | undefined | Promise<Buffer | undefined>;
  /** Writes a reply to the guest. */
  reply(bytes: Buffer): void;
  /** Stops or restarts reading the socket (backpressure). */
  flow(reading: boolean): void;
  /** A frame waited for the message budget. */
  limited(): void;
  /** A frame could not be handled (the error is already a reply or a log line). */
  failed(e: unknown): void;
}

interface LaneState {
  readonly lane: Lane;
  readonly queue: Buffer[];
  head: number;
  busy: boolean;
  paused: boolean;
  tokens: number;
  refilledAt: number;
  active: boolean;
  /** The frame at the head already counted as limited. */
  waitCounted: boolean;
  /** Replies decided and not written yet, in order (see {@link Dispatcher.flush}). */
  readonly replies: Buffer[];
}

/** Round-robin service of every channel's queue. */
export class Dispatcher {
  private readonly lanes = new Map<Lane, LaneState>();
  private ring: LaneState[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  /** Lanes with replies to write, each once, in the order their first reply was decided. */
  private outbox: LaneState[] = [];
  private outboxReplies = 0;
  private flushImmediate: NodeJS.Immediate | undefined;
  /** Writes the outbox at the end of the loop turn (one bound function, not a closure per reply). */
  private readonly flushLater = (): void => {
    this.flushImmediate = undefined;
    this.flush();
  };

  constructor(
    private readonly budget: MessageBudget,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private state(lane: Lane): LaneState {
    let s = this.lanes.get(lane);
    if (!s) {
      s = {
        lane,
        queue: [],
        head: 0,
        busy: false,
        paused: false,
        tokens: this.budget.burst,
        refilledAt: this.now(),
        active: false,
        waitCounted: false,
        replies: [],
      };
      this.lanes.set(lane, s);
    }
    return s;
  }

  /** Queues complete frames of a channel; serves up to one batch at once when nothing else waits. */
  push(lane: Lane, frames: readonly Buffer[]): void {
    if (frames.length === 0) return;
    const s = this.state(lane);
    for (const f of frames) s.queue.push(f);
    if (!s.paused && s.queue.length - s.head > HIGH_WATER) {
      s.paused = true;
      lane.flow(false);
    }
    // Nothing else waiting for a round: decide inside this I/O callback (one batch at most).
    if (!this.draining && !this.immediate) this.serve(s);
    // Only a lane with work left joins the ring: an idle one would be scanned on every push.
    if (s.head >= s.queue.length && !s.busy) return;
    if (!s.active) {
      s.active = true;
      this.ring.push(s);
    }
    this.schedule();
  }

  /** Forgets a channel (closed or removed); its queued frames are dropped. */
  remove(lane: Lane): void {
    const s = this.lanes.get(lane);
    if (!s) return;
    this.lanes.delete(lane);
    s.replies.length = 0; // its connection is gone: nothing to write them to
    s.queue.length = 0;
    s.head = 0;
    s.active = false;
    this.ring = this.ring.filter((x) => x !== s);
  }

  /** Frames waiting, over every channel (for tests and stats). */
  get queued(): number {
    let n = 0;
    for (const s of this.lanes.values()) n += s.queue.length - s.head;
    return n;
  }

  private refill(s: LaneState, now: number): void {
    const elapsed = Math.max(0, now - s.refilledAt) / 1000;
    s.tokens = Math.min(this.budget.burst, s.tokens + elapsed * this.budget.messagesPerSecond);
    s.refilledAt = now;
  }

  /**
   * Serves up to one batch of a lane; returns ms until its next token when frames are left and
   * the budget is spent, 0 otherwise.
   */
  private serve(s: LaneState): number {
    this.draining = true;
    try {
      let served = 0;
      while (served < BATCH && !s.busy && s.head < s.queue.length) {
        const wait = this.untilToken(s);
        if (wait > 0) return wait;
        s.tokens -= 1;
        s.waitCounted = false;
        const frame = s.queue[s.head] as Buffer;
        s.queue[s.head++] = EMPTY;
        served++;
        this.handleOne(s, frame);
      }
      // Stopped by the batch with the budget spent as well: say when to come back, or round()
      // would neither schedule nor arm a timer for this lane, and its frames would wait for the
      // socket's next read, which never comes once the guest waits for its last replies.
      return !s.busy && s.head < s.queue.length ? this.untilToken(s) : 0;
    } finally {
      this.draining = false;
      this.compact(s);
    }
  }

  /** 0 when the lane has a token (refilled first), else ms until it has one (counted as limited). */
  private untilToken(s: LaneState): number {
    if (s.tokens < 1) this.refill(s, this.now());
    if (s.tokens >= 1) return 0;
    if (!s.waitCounted) {
      s.waitCounted = true;
      s.lane.limited();
    }
    return ((1 - s.tokens) * 1000) / this.budget.messagesPerSecond;
  }

  private handleOne(s: LaneState, frame: Buffer): void {
    let out: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      out = s.lane.handle(frame);
    } catch (e) {
      s.lane.failed(e);
      return;
    }
    if (out instanceof Promise) {
      // The slow path (something not loaded yet): this channel waits, the others go on.
      s.busy = true;
      out
        .then(
          (reply) => {
            // Through the outbox: replies this lane already has there go first.
            if (reply && this.lanes.get(s.lane) === s) this.queueReply(s, reply);
          },
          (e: unknown) => s.lane.failed(e),
        )
        .finally(() => {
          s.busy = false;
          this.schedule();
        });
      return;
    }
    if (out) this.queueReply(s, out);
  }

  /** Puts a reply in the outbox; writes the outbox when it is full, else at the end of the turn. */
  private queueReply(s: LaneState, reply: Buffer): void {
    if (s.replies.length === 0) this.outbox.push(s);
    s.replies.push(reply);
    if (++this.outboxReplies >= FLUSH_AT) this.flush();
    else this.flushImmediate ??= setImmediate(this.flushLater);
  }

  /**
   * Writes every reply of the outbox, one write per channel, in order; a lane removed since (its
   * connection closed, maybe reopened as a new lane state) gets nothing.
   */
  private flush(): void {
    if (this.outboxReplies === 0) return;
    const box = this.outbox;
    this.outbox = [];
    this.outboxReplies = 0;
    for (const s of box) {
      const r = s.replies;
      if (r.length === 0 || this.lanes.get(s.lane) !== s) continue;
      const bytes = r.length === 1 ? (r[0] as Buffer) : Buffer.concat(r);
      r.length = 0;
      s.lane.reply(bytes);
    }
  }

  private compact(s: LaneState): void {
    if (s.head === s.queue.length) {
      s.queue.length = 0;
      s.head = 0;
    } else if (s.head > 1024) {
      s.queue.splice(0, s.head);
      s.head = 0;
    }
    if (s.paused && s.queue.length - s.head <= LOW_WATER) {
      s.paused = false;
      s.lane.flow(true);
    }
  }

  private schedule(): void {
    if (this.immediate || this.ring.every((s) => s.busy || s.head >= s.queue.length)) return;
    this.immediate = setImmediate(() => this.round());
  }

  /** One round: a batch of every channel with frames, in turn. */
  private round(): void {
    this.immediate = undefined;
    let wait = Infinity;
    const ring = this.ring;
    this.ring = [];
    for (const s of ring) {
      if (!this.lanes.has(s.lane)) continue;
      const w = s.busy ? 0 : this.serve(s);
      if (w > 0) wait = Math.min(wait, w);
      if (s.head < s.queue.length || s.busy) this.ring.push(s);
      else s.active = false;
    }
    this.flush();
    const ready = this.ring.some((s) => !s.busy && s.head < s.queue.length && s.tokens >= 1);
    if (ready) this.schedule();
    else if (wait !== Infinity && !this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.round();
        },
        Math.max(1, Math.ceil(wait)),
      );
    }
  }

  /** Stops the timers (the plugin stops). */
  close(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.outbox = [];
    this.outboxReplies = 0;
    clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    this.lanes.clear();
    this.ring = [];
  }
}

const EMPTY = Buffer.alloc(0);
