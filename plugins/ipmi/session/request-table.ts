/**
 * The requests of one session in flight: 6-bit rqSeq numbers (never one reused while its
 * request is outstanding, at most {@link MAX_IN_FLIGHT} at once) and the lookup of an answer's
 * request by its rqSeq, so an inbound datagram costs one array index, not a scan.
 */
import type { IpmiResponse } from '../codec/message.js';

/** Requests one session keeps outstanding at most. */
export const MAX_IN_FLIGHT = 8;

/** A request waiting for its answer. */
export interface Pending<T> {
  /** RMCP+ payload type sent (-1: a sessionless IPMI 1.5 message). */
  readonly payloadType: number;
  /** Payload type of the answer (-1: IPMI 1.5). */
  readonly replyType: number;
  /** The IPMI message or login payload; framed anew on each attempt (new session sequence). */
  readonly message: Buffer;
  /** rqSeq of an IPMI request, -1 for a login exchange. */
  readonly rqSeq: number;
  readonly netFn: number;
  readonly cmd: number;
  /** Message tag of a login exchange (the answer's first byte). */
  readonly tag: number;
  /** Name of a login exchange for errors (IPMI requests are named by netFn/cmd). */
  readonly label: string;
  resolve(answer: T): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
  attempts: number;
  firstSent: number;
}

/** rqSeq allocation and the outstanding requests of one session. */
export class RequestTable {
  private readonly bySeq: Array<Pending<IpmiResponse> | undefined> = new Array<Pending<IpmiResponse> | undefined>(64).fill(undefined);
  private readonly taken = new Uint8Array(64);
  private takenCount = 0;
  private nextSeq = 1;
  private readonly waiters: Array<(seq: number) => void> = [];
  /** Login exchanges (Open Session, RAKP): a handful, matched by payload type and tag. */
  readonly exchanges = new Set<Pending<Buffer>>();

  /** A free rqSeq now, or -1 when {@link MAX_IN_FLIGHT} are taken or others wait. */
  tryTake(): number {
    if (this.takenCount >= MAX_IN_FLIGHT || this.waiters.length > 0) return -1;
    return this.claim();
  }

  /** A free rqSeq, waiting for one when needed (first come, first served). */
  take(): Promise<number> {
    const seq = this.tryTake();
    return seq >= 0 ? Promise.resolve(seq) : new Promise((r) => this.waiters.push(r));
  }

  private claim(): number {
    let seq = this.nextSeq;
    while (this.taken[seq] === 1) seq = (seq + 1) & 0x3f;
    this.nextSeq = (seq + 1) & 0x3f;
    this.taken[seq] = 1;
    this.takenCount++;
    return seq;
  }

  /** Frees `seq`; a waiter gets the next free number. */
  release(seq: number): void {
    if (this.taken[seq] !== 1) return;
    this.taken[seq] = 0;
    this.bySeq[seq] = undefined;
    this.takenCount--;
    const next = this.waiters.shift();
    if (next !== undefined) next(this.claim());
  }

  /** Records the request sent under its rqSeq. */
  track(p: Pending<IpmiResponse>): void {
    this.bySeq[p.rqSeq] = p;
  }

  /** The outstanding request an answer with `rqSeq` belongs to. */
  lookup(rqSeq: number): Pending<IpmiResponse> | undefined {
    return this.bySeq[rqSeq & 0x3f];
  }

  /** Every outstanding request, for failing them all. */
  all(): Array<Pending<IpmiResponse> | Pending<Buffer>> {
    return [...this.bySeq.filter((p): p is Pending<IpmiResponse> => p !== undefined), ...this.exchanges];
  }

  /** Wakes every waiter with -1 (the session closed). */
  abandonWaiters(): void {
    for (const w of this.waiters.splice(0)) w(-1);
  }
}
