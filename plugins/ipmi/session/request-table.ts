/**
 * The requests of one session in flight: 6-bit rqSeq numbers (never one reused while its
 * request is outstanding, at most {@link MAX_IN_FLIGHT} at once) and the lookup of an answer's
 * request by its rqSeq, so an inbound datagram costs one array index, not a scan.
 */
import type { IpmiResponse } from '../codec/message.js';

/** Requests one session keeps outstanding at most. */
export const MAX_IN_FLIGHT = 8;

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
