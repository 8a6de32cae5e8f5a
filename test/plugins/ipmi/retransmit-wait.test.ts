/**
 * The retransmit wait tells loss from delay (issue 21): an answer to a retransmit after loss
 * keeps the wait short, so a request budget holds many attempts; a late answer to an earlier
 * attempt (seen as a second answer, or as one too quick to be the latest attempt's) raises it.
 */
import { describe, expect, it } from 'vitest';
import type { IpmiResponse } from '../../../plugins/ipmi/codec/message.js';
import { ipmiRequest, OneAnswer, type Pending } from '../../../plugins/ipmi/session/request-table.js';
import { RetransmitWait, type SharedWait } from '../../../plugins/ipmi/session/retransmit-wait.js';

const BASE = 1000;

/** A shared estimate that never moves, so only the session's own wait is seen. */
const flat: SharedWait = { observe: () => undefined, rtoFor: (base) => base };

/** A Get Sensor Reading sent `attempts` times, first `firstAgo` ms ago, last `lastAgo` ms ago. */
function request(rqSeq: number, attempts: number, firstAgo: number, lastAgo: number): Pending<IpmiResponse> {
  const p = ipmiRequest(
    0,
    0x04,
    0x2d,
    [1],
    0,
    new OneAnswer<IpmiResponse>(
      () => undefined,
      () => undefined,
    ),
    0,
  );
  const now = performance.now();
  Object.assign(p, { rqSeq, attempts, firstSent: now - firstAgo, lastSent: now - lastAgo });
  return p;
}
const answer = (rqSeq: number): IpmiResponse => ({ rqSeq, netFn: 0x05, cmd: 0x2d }) as unknown as IpmiResponse;

describe('RetransmitWait', () => {
  it('keeps the configured wait when answers come only after retransmits (loss)', () => {
    const w = new RetransmitWait(BASE, flat);
    // No clean round trip yet: an answer 2 ms after the third attempt is that attempt's.
    w.answered(request(1, 3, 2502, 2));
    expect(w.after(1)).toBe(BASE);
    w.answered(request(2, 1, 2, 2)); // a clean 2 ms round trip
    w.answered(request(3, 2, 1003, 3));
    expect(w.after(1)).toBe(BASE);
    expect(w.after(2)).toBe(1.5 * BASE);
    expect(w.after(9)).toBe(2 * BASE); // loss wants many short attempts
  });

  it('raises the wait on a second answer: the first one was late, not the request lost', () => {
    const w = new RetransmitWait(BASE, flat);
    w.answered(request(4, 2, 1300, 300));
    expect(w.after(1)).toBe(BASE);
    w.unmatched(answer(4));
    expect(w.after(1)).toBeCloseTo(1.5 * 1300, -1);
    // Only once per request, and never for another command's answer.
    const raised = w.after(1);
    w.unmatched(answer(4));
    w.unmatched({ rqSeq: 5, netFn: 0x07, cmd: 0x01 } as unknown as IpmiResponse);
    expect(w.after(1)).toBe(raised);
  });

  it('raises the wait for an answer quicker than half the fastest clean round trip', () => {
    const w = new RetransmitWait(BASE, flat);
    w.answered(request(6, 1, 200, 200)); // a clean 200 ms round trip
    w.answered(request(7, 2, 1050, 50)); // 50 ms after the retransmit: the first attempt's answer
    expect(w.after(1)).toBeCloseTo(1.5 * 1050, -1);
    expect(w.after(5)).toBe(2 * BASE);
    // A slower link's own wait goes past 2x the timeout, up to 4x.
    w.answered(request(8, 2, 2600, 60));
    expect(w.after(1)).toBeCloseTo(3900, -1);
    expect(w.after(3)).toBeCloseTo(3900, -1);
    w.answered(request(9, 2, 3500, 70));
    expect(w.after(1)).toBe(4 * BASE);
  });

  it('takes no timing evidence from a link faster than the event loop jitter', () => {
    const w = new RetransmitWait(BASE, flat);
    w.answered(request(10, 1, 1, 1)); // a clean 1 ms round trip (a loopback relay)
    // 0.4 ms after the third attempt, as measured through the chaos test's relay: that
    // attempt's own answer (after loss), not a late one. The wait stays short.
    w.answered(request(11, 3, 2000, 0.4));
    expect(w.after(1)).toBe(BASE);
    expect(w.after(9)).toBe(2 * BASE);
    // A second answer still shows a late first one on any link.
    w.unmatched(answer(11));
    expect(w.after(1)).toBeCloseTo(1.5 * 2000, -1);
  });
});
