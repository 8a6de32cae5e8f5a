/**
 * The requests of one session in flight: 6-bit rqSeq numbers (never one reused while its
 * request is outstanding, at most {@link MAX_IN_FLIGHT} at once) and the lookup of an answer's
 * request by its rqSeq, so an inbound datagram costs one array index, not a scan.
 */
import type { IpmiResponse } from '../codec/message.js';
import type { SessionStats } from './link-faults.js';

/** Requests one session keeps outstanding at most. */
export const MAX_IN_FLIGHT = 8;

/** Where answers go: one sink per request, or one per batch of requests (one promise for all). */
export interface AnswerSink<T> {
  answered(index: number, answer: T): void;
  failed(e: Error): void;
}

/** The sink of a single request. */
export class OneAnswer<T> implements AnswerSink<T> {
  constructor(
    private readonly resolve: (answer: T) => void,
    private readonly reject: (e: Error) => void,
  ) {}
  answered(_index: number, answer: T): void {
    this.resolve(answer);
  }
  failed(e: Error): void {
    this.reject(e);
  }
}

/** The sink of a batch: all answers in order, or the first failure (like Promise.all). */
export class AllAnswers<T> implements AnswerSink<T> {
  private readonly answers: T[];
  private left: number;
  private settled = false;
  constructor(
    count: number,
    private readonly resolve: (answers: T[]) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.answers = new Array<T>(count);
    this.left = count;
  }
  answered(index: number, answer: T): void {
    if (this.settled) return;
    this.answers[index] = answer;
    if (--this.left === 0) {
      this.settled = true;
      this.resolve(this.answers);
    }
  }
  failed(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(e);
  }
}

/**
 * The sink of a batch whose requests may fail one by one: every answer or error in order, once
 * all are settled. A poll keeps the readings it got when one sensor's request is lost.
 */
export class EachAnswer<T> implements AnswerSink<T> {
  private readonly results: Array<T | Error>;
  private left: number;
  constructor(
    count: number,
    private readonly resolve: (results: Array<T | Error>) => void,
  ) {
    this.results = new Array<T | Error>(count);
    this.left = count;
  }
  answered(index: number, answer: T): void {
    this.settle(index, answer);
  }
  /** Unused: {@link failedAt} carries the index. */
  failed(): void {
    // A batch-wide failure never happens: each request fails through failedAt.
  }
  failedAt(index: number, e: Error): void {
    this.settle(index, e);
  }
  private settle(index: number, r: T | Error): void {
    if (this.results[index] !== undefined) return;
    this.results[index] = r;
    if (--this.left === 0) this.resolve(this.results);
  }
}

/** Fails request `index` of `sink`, per request when the sink keeps each result. */
export function failRequest(sink: Pick<AnswerSink<unknown>, 'failed'>, index: number, e: Error): void {
  if (sink instanceof EachAnswer) sink.failedAt(index, e);
  else sink.failed(e);
}

/** A request from submission to its answer. */
export interface Pending<T> {
  /** RMCP+ payload type sent (-1: a sessionless IPMI 1.5 message). */
  readonly payloadType: number;
  /** Payload type of the answer (-1: IPMI 1.5). */
  readonly replyType: number;
  readonly netFn: number;
  readonly cmd: number;
  readonly data: readonly number[] | Uint8Array;
  readonly rsLun: number;
  /** rqSeq once one is assigned; -1 before, and always for a login exchange. */
  rqSeq: number;
  /** The IPMI message (encoded once the rqSeq is known) or login payload; framed anew on each attempt. */
  message: Buffer | undefined;
  /** Message tag of a login exchange (the answer's first byte). */
  readonly tag: number;
  /** Name of a login exchange for errors (IPMI requests are named by netFn/cmd). */
  readonly label: string;
  readonly sink: AnswerSink<T>;
  /** Position in the sink's batch. */
  readonly index: number;
  timer: NodeJS.Timeout | undefined;
  attempts: number;
  firstSent: number;
  /** When the latest attempt went out (tells an answer to it from a late one to an earlier attempt). */
  lastSent: number;
  /**
   * The session's counters when it was first sent, to name what came back meanwhile: the five a
   * fault is told by, kept as numbers (an object per request was garbage for every answered one).
   */
  sentBefore: number;
  receivedBefore: number;
  malformedBefore: number;
  truncatedBefore: number;
  wrongSessionBefore: number;
  /** Round trips in the chain that led to it: one more than the answer whose handling sent it. */
  depth: number;
}

const NONE = new Uint8Array(0);

/** Notes in `p` the counters of `stats` a fault is named by (when `p` is first sent). */
export function noteCounters(p: Pending<unknown>, stats: SessionStats): void {
  p.sentBefore = stats.sent;
  p.receivedBefore = stats.received;
  p.malformedBefore = stats.malformed;
  p.truncatedBefore = stats.truncated;
  p.wrongSessionBefore = stats.wrongSession;
}

/** The counters noted by {@link noteCounters}, as session counters (the others 0). */
export function countersBefore(p: Pending<unknown>): SessionStats {
  return {
    sent: p.sentBefore,
    retransmits: 0,
    dropped: 0,
    received: p.receivedBefore,
    malformed: p.malformedBefore,
    truncated: p.truncatedBefore,
    wrongSession: p.wrongSessionBefore,
  };
}

/**
 * A request-table entry before its first attempt: every field set in one literal, in one order,
 * so every entry has the same shape.
 */
function pending<T>(
  payloadType: number,
  replyType: number,
  netFn: number,
  cmd: number,
  data: readonly number[] | Uint8Array,
  rsLun: number,
  message: Buffer | undefined,
  tag: number,
  label: string,
  sink: AnswerSink<T>,
  index: number,
  firstSent: number,
): Pending<T> {
  return {
    payloadType,
    replyType,
    netFn,
    cmd,
    data,
    rsLun,
    rqSeq: -1,
    message,
    tag,
    label,
    sink,
    index,
    timer: undefined,
    attempts: 0,
    firstSent,
    lastSent: 0,
    sentBefore: 0,
    receivedBefore: 0,
    malformedBefore: 0,
    truncatedBefore: 0,
    wrongSessionBefore: 0,
    depth: 0,
  };
}

/** A new IPMI request (payload type `PAYLOAD.ipmi` or -1 for IPMI 1.5), answer number `index` of `sink`. */
export function ipmiRequest(
  payloadType: number,
  netFn: number,
  cmd: number,
  data: readonly number[] | Uint8Array,
  rsLun: number,
  sink: AnswerSink<IpmiResponse>,
  index: number,
): Pending<IpmiResponse> {
  return pending(payloadType, payloadType, netFn, cmd, data, rsLun, undefined, 0, '', sink, index, 0);
}

/** A new login exchange: `payload` of `payloadType`, answered by `replyType` carrying `tag`. */
export function loginExchange(
  label: string,
  payloadType: number,
  payload: Buffer,
  replyType: number,
  tag: number,
  sink: AnswerSink<Buffer>,
): Pending<Buffer> {
  return pending(payloadType, replyType, 0, 0, NONE, 0, payload, tag, label, sink, 0, performance.now());
}

/** rqSeq allocation and the outstanding requests of one session. */
export class RequestTable {
  private readonly bySeq: Array<Pending<IpmiResponse> | undefined> = new Array<Pending<IpmiResponse> | undefined>(
    64,
  ).fill(undefined);
  private readonly taken = new Uint8Array(64);
  private takenCount = 0;
  private nextSeq = 1;
  /** Login exchanges (Open Session, RAKP): a handful, matched by payload type and tag. */
  readonly exchanges = new Set<Pending<Buffer>>();

  /** A free rqSeq, or -1 while {@link MAX_IN_FLIGHT} are taken. */
  tryTake(): number {
    if (this.takenCount >= MAX_IN_FLIGHT) return -1;
    let seq = this.nextSeq;
    while (this.taken[seq] === 1) seq = (seq + 1) & 0x3f;
    this.nextSeq = (seq + 1) & 0x3f;
    this.taken[seq] = 1;
    this.takenCount++;
    return seq;
  }

  /** Frees `seq` (and forgets its request). */
  release(seq: number): void {
    if (this.taken[seq] !== 1) return;
    this.taken[seq] = 0;
    this.bySeq[seq] = undefined;
    this.takenCount--;
  }

  /** Records the request sent under its rqSeq. */
  track(p: Pending<IpmiResponse>): void {
    this.bySeq[p.rqSeq] = p;
  }

  /** The outstanding request an answer with `rqSeq` belongs to. */
  lookup(rqSeq: number): Pending<IpmiResponse> | undefined {
    return this.bySeq[rqSeq & 0x3f];
  }

  /** Every request sent and not settled, for failing them all. */
  inFlight(): Array<Pending<IpmiResponse> | Pending<Buffer>> {
    return [...this.bySeq.filter((p): p is Pending<IpmiResponse> => p !== undefined), ...this.exchanges];
  }
}
