/**
 * Requests beyond the bounds wait their turn: at most `maxInFlight` on the shared socket and 8
 * per session, counted on the wire by relays in front of real ipmi_sim BMCs; every queued
 * request is answered correctly; closing a session with requests queued fails them and gives
 * every slot back (the other session keeps working).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import { IpmiSession } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint, WaiterLine, type SlotWaiter } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { openSessions } from './support/reference-tools.js';
import { startRelay, type OutstandingTally, type UdpRelay } from './support/udp-relay.js';

let sim: IpmiSimPeer;
const relays: UdpRelay[] = [];
const endpoints: UdpEndpoint[] = [];
const tally: OutstandingTally = { outstanding: 0, max: 0 };
/**
 * Generous: a retransmission counts as one more datagram outstanding at the relay, and on a busy
 * machine a 300 ms timeout retransmits answers that are merely late.
 */
const timing = { timeoutMs: 5_000, retries: 1 };
/** For the test where the relay drops everything: the timeout is what it waits for. */
const shortTiming = { timeoutMs: 300, retries: 1 };

const t = (i: number): IpmiSimTarget => sim.targets[i] as IpmiSimTarget;
async function viaRelay(ep: UdpEndpoint, i: number, times = timing): Promise<IpmiSession> {
  const relay = await startRelay(t(i).port, { delayMs: 3 }, tally);
  relays.push(relay);
  return IpmiSession.open(ep, { ...t(i), port: relay.port, privilege: 'user', cipherFloor: 'confidentiality' }, times);
}
/** Get Sensor Reading of sensor 1 (raw 24) and sensor 3 (raw 171), `n` times. */
const readMany = (s: IpmiSession, n: number): Array<Promise<number>> =>
  Array.from({ length: n }, (_, k) =>
    s.request(0x04, 0x2d, [k % 2 === 0 ? 1 : 3]).then((r) => (r.cc === 0 ? (r.data[0] ?? -1) : -r.cc)),
  );
const expected = (n: number): number[] => Array.from({ length: n }, (_, k) => (k % 2 === 0 ? 24 : 171));

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 2, sel: false });
});
afterAll(async () => {
  await Promise.all(endpoints.map((e) => e.close()));
  await Promise.all(relays.map((r) => r.close()));
  await sim?.stop();
});

describe('request bounds', () => {
  it('keeps at most maxInFlight requests on the socket across sessions, answering every queued one', async () => {
    const ep = await UdpEndpoint.open('127.0.0.1', 2);
    endpoints.push(ep);
    const [a, b] = [await viaRelay(ep, 0), await viaRelay(ep, 1)];
    Object.assign(tally, { outstanding: 0, max: 0 });
    const [ra, rb] = await Promise.all([Promise.all(readMany(a, 25)), Promise.all(readMany(b, 25))]);
    expect(ra).toEqual(expected(25));
    expect(rb).toEqual(expected(25));
    expect(tally.max).toBe(2);
    await Promise.all([a.close(), b.close()]);
    expect(tally.outstanding).toBe(0);
  });

  it('keeps at most 8 requests of one session in flight (rqSeq numbers are never reused while outstanding)', async () => {
    const ep = await UdpEndpoint.open('127.0.0.1', 256);
    endpoints.push(ep);
    const s = await viaRelay(ep, 0);
    Object.assign(tally, { outstanding: 0, max: 0 });
    expect(await Promise.all(readMany(s, 40))).toEqual(expected(40));
    expect(tally.max).toBe(8);
    await s.close();
  });

  it('a batch answers in order, each with its completion code, or fails as a whole with the first error', async () => {
    const ep = await UdpEndpoint.open('127.0.0.1', 4);
    endpoints.push(ep);
    const s = await viaRelay(ep, 0, shortTiming);
    // Sensors 1..5 exist; 0x7f does not (ipmi_sim answers 0xCC); 20 requests, more than one session holds at once.
    const numbers = Array.from({ length: 20 }, (_, k) => (k % 7 === 6 ? 0x7f : (k % 5) + 1));
    const answers = await s.requestAll(numbers.map((n) => ({ netFn: 0x04, cmd: 0x2d, data: [n], rsLun: 0 })));
    expect(answers.map((r) => r.cc !== 0)).toEqual(numbers.map((n) => n === 0x7f));
    expect(answers.filter((_, k) => numbers[k] === 1).map((r) => r.data[0])).toEqual([24, 24, 24, 24]);
    expect(await s.requestAll([])).toEqual([]);
    // The relay now drops everything: the batch fails once, with the timeout.
    const relay = relays[relays.length - 1] as UdpRelay;
    relay.faults = { dropEvery: 1 };
    await expect(
      s.requestAll(numbers.slice(0, 6).map((n) => ({ netFn: 0x04, cmd: 0x2d, data: [n], rsLun: 0 }))),
    ).rejects.toMatchObject({ code: 'E_IPMI_TIMEOUT' });
    relay.faults = {};
    await s.close();
    Object.assign(tally, { outstanding: 0, max: 0 }); // the dropped requests never had answers
  });

  it('closing a session with queued requests fails them, releases every slot, and closes the BMC session', async () => {
    const ep = await UdpEndpoint.open('127.0.0.1', 2);
    endpoints.push(ep);
    const [a, b] = [await viaRelay(ep, 0), await viaRelay(ep, 1)];
    const queued = readMany(a, 30).map((p) =>
      p.then(
        (v) => ({ v }),
        (e: unknown) => ({ e: (e as { code?: string }).code }),
      ),
    );
    const others = readMany(b, 10);
    await a.close();
    const settled = await Promise.all(queued);
    // Some were answered before the close; the rest failed with the session, none hangs.
    expect(settled.every((x) => ('v' in x ? x.v === 24 || x.v === 171 : x.e === 'E_IPMI_SESSION'))).toBe(true);
    expect(settled.filter((x) => 'e' in x).length).toBeGreaterThan(0);
    expect(await Promise.all(others)).toEqual(expected(10));
    // Both socket slots are free again: the other session gets its answers at full width.
    Object.assign(tally, { outstanding: 0, max: 0 });
    expect(await Promise.all(readMany(b, 6))).toEqual(expected(6));
    expect(tally.max).toBe(2);
    await expect(a.request(0x06, 0x01)).rejects.toMatchObject({ code: 'E_IPMI_SESSION' });
    await b.close();
    expect(await openSessions(t(0))).toBe(0);
    expect(await openSessions(t(1))).toBe(0);
  });
});

describe('the line of slot waiters', () => {
  it('serves waiters first in, first out, also across its compactions, with thousands waiting', () => {
    const line = new WaiterLine();
    const reference: SlotWaiter[] = [];
    const served: SlotWaiter[] = [];
    const expected: SlotWaiter[] = [];
    const waiter = (): SlotWaiter => ({ slotGranted: () => undefined });
    // Bursts of pushes larger than the drains, then drains larger than the pushes: the line grows
    // to thousands (a cold sweep), empties, and crosses the compaction threshold several times.
    for (let round = 0; round < 40; round++) {
      const pushes = round < 20 ? 400 : 50;
      const shifts = round < 20 ? 150 : 600;
      for (let i = 0; i < pushes; i++) {
        const w = waiter();
        line.push(w);
        reference.push(w);
      }
      for (let i = 0; i < shifts; i++) {
        const w = line.shift();
        const r = reference.shift();
        if (w !== undefined) served.push(w);
        if (r !== undefined) expected.push(r);
      }
      expect(line.length).toBe(reference.length);
    }
    expect(line.shift()).toBeUndefined();
    expect(line.length).toBe(0);
    expect(served.length).toBe(expected.length);
    expect(served.every((w, i) => w === expected[i])).toBe(true);
  });
});
