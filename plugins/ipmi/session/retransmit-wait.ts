/**
 * How long one session waits before retransmitting a request, adapted to the link: an answer
 * that came only after a retransmit raises the wait towards the observed delay when the link is
 * slow (otherwise every request runs twice, and non-idempotent ones such as Reserve SDR cancel
 * each other); clean answers let it decay. The endpoint keeps the same estimate for all sessions,
 * since they share the network and often the BMC host. Bounded by 4x the configured timeout, so
 * a request still fails within a known time.
 *
 * An answer after a retransmit is ambiguous (Karn): the answer to the latest attempt after the
 * earlier ones were lost, or a late answer to an earlier one. Only the second shows a slow link;
 * taking loss for delay quadrupled every wait on a lossy link and left 3 attempts per request
 * budget (issue 21). A late answer shows itself by coming sooner after the latest attempt than
 * half the fastest clean round trip, or by a second answer to the same request; otherwise it
 * counts as loss, and the wait stays short so that the budget holds many attempts.
 */
import type { IpmiResponse } from '../codec/message.js';
import type { Pending } from './request-table.js';

/**
 * The smallest margin (half the fastest clean round trip, ms) at which an answer's timing says
 * it was late. Attempts are stamped when queued and leave at the next flush; answers are stamped
 * when handled: on a loaded machine that jitter is a few ms. Through a loopback relay (round
 * trips of about 1 ms) the answer to the latest attempt itself came 0.4 ms after it, sooner than
 * half the fastest round trip, and every such answer raised the wait to its 4x cap: 7 attempts
 * per 30 s budget, and the lossy-link chaos test completed 0 of 6 polls. A second answer to the
 * same request still shows a late one on any link.
 */
const TIMING_EVIDENCE_MS = 5;

/** The endpoint's estimate shared by every session (see UdpEndpoint). */
export interface SharedWait {
  observe(elapsedMs: number, slow: boolean, baseMs: number): void;
  rtoFor(baseMs: number): number;
}

/** The retransmit wait of one session. */
export class RetransmitWait {
  /** Current per-attempt wait (ms). */
  private rto: number;
  /** The fastest round trip of an answer to a first attempt (ms). */
  private fastestRtt = Infinity;
  /** Requests answered after a retransmit, by rqSeq: netFn/cmd + 1 (0: none), and their delay. */
  private readonly answeredLate = new Uint16Array(64);
  private readonly answeredLateMs = new Float64Array(64);

  constructor(
    private readonly baseMs: number,
    private readonly shared: SharedWait,
  ) {
    this.rto = baseMs;
  }

  /**
   * The wait after attempt `n`: the adapted wait, growing 1.5x per retransmit up to twice the
   * configured timeout (or the adapted wait, if longer). The growth spares a BMC that is just
   * slow until a late answer shows it; beyond that, loss wants many short attempts: a 30 s
   * budget holds 15 at a 1 s timeout (7 when the growth went on to 4x).
   */
  after(n: number): number {
    const wait = Math.max(this.rto, this.shared.rtoFor(this.baseMs));
    return Math.min(Math.max(wait, this.baseMs * 2), wait * 1.5 ** Math.min(n - 1, 8));
  }

  /** Request `p` is going out (attempt `p.attempts`). */
  sent(p: Pending<unknown>): void {
    if (p.attempts === 1 && p.rqSeq >= 0) this.answeredLate[p.rqSeq] = 0;
  }

  /** Request `p` got its answer now. */
  answered(p: Pending<unknown>): void {
    const now = performance.now();
    const elapsed = now - p.firstSent;
    if (p.attempts === 1) this.fastestRtt = Math.min(this.fastestRtt, elapsed);
    // With no clean round trip yet (Infinity), nothing shows a late answer: loss. Nor does
    // timing on a link much faster than the event loop's own jitter (see TIMING_EVIDENCE_MS).
    const margin = this.fastestRtt / 2;
    const slow = p.attempts > 1 && Number.isFinite(margin) && margin >= TIMING_EVIDENCE_MS && now - p.lastSent < margin;
    if (slow) this.raise(elapsed);
    else if (elapsed * 2 < this.rto) this.rto = Math.max(this.baseMs, this.rto * 0.9);
    if (!slow) this.shared.observe(elapsed, false, this.baseMs);
    if (!slow && p.attempts > 1 && p.rqSeq >= 0) {
      this.answeredLate[p.rqSeq] = ((p.netFn << 8) | p.cmd) + 1;
      this.answeredLateMs[p.rqSeq] = elapsed;
    }
  }

  /** An answer that matched no outstanding request: a second answer shows the first was late. */
  unmatched(r: IpmiResponse): void {
    const seq = r.rqSeq & 0x3f;
    if (this.answeredLate[seq] !== (((r.netFn & ~1) << 8) | r.cmd) + 1) return;
    this.answeredLate[seq] = 0;
    this.raise(this.answeredLateMs[seq] ?? this.baseMs);
  }

  private raise(elapsed: number): void {
    this.rto = Math.min(this.baseMs * 4, Math.max(this.rto, elapsed * 1.5));
    this.shared.observe(elapsed, true, this.baseMs);
  }
}
