/**
 * A cold poll's requests in fewer round trips, against real ipmi_sim BMCs: Open Session with
 * the capabilities, the reads of a poll with Set Session Privilege (anything that needs more than
 * User waits for it, also when it is lost), the first records' reads together when the ids are
 * in order, each sensor's thresholds and reading with the rest of its record. Scripted
 * repositories stand in for what ipmi_sim never does: ids out of order, reservation 0000h refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import { loadSensors, readRecords, type SdrCounters } from '../../../plugins/ipmi/commands/sdr-repository.js';
import { interpretAnswers, readSensors } from '../../../plugins/ipmi/commands/sensors.js';
import { IpmiSession } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { openSessions } from './support/reference-tools.js';
import { startRelay, type UdpRelay } from './support/udp-relay.js';

let sim: IpmiSimPeer;
let ep: UdpEndpoint;
const relays: UdpRelay[] = [];
/** Generous: on a busy machine a short timeout retransmits answers that are merely late. */
const timing = { timeoutMs: 5_000, retries: 1 };
const target = (): IpmiSimTarget => sim.targets[0] as IpmiSimTarget;

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 1, sel: false });
  ep = await UdpEndpoint.open('127.0.0.1');
});
afterAll(async () => {
  await ep?.close();
  await Promise.all(relays.map((r) => r.close()));
  await sim?.stop();
});

describe('a cold poll against ipmi_sim', () => {
  it('logs in with Open Session sent alongside the capabilities: 3 round trips', async () => {
    const s = await IpmiSession.open(
      ep,
      { ...target(), privilege: 'user', cipherFloor: 'confidentiality', cipherSuite: 3 },
      timing,
    );
    try {
      // Capabilities + Open Session, RAKP 1, RAKP 3 (the sequential login takes 4).
      expect(s.rounds).toBe(3);
      expect(s.stats.sent).toBe(4);
    } finally {
      await s.close();
    }
  });

  it('fails a login whose capabilities go unanswered and leaves no session behind, though Open Session went out with them', async () => {
    const relay = await startRelay(target().port, { dropSessionless: true });
    relays.push(relay);
    const login = IpmiSession.open(
      ep,
      { ...target(), port: relay.port, privilege: 'operator', cipherFloor: 'confidentiality', cipherSuite: 3 },
      { timeoutMs: 300, retries: 1 },
    );
    await expect(login).rejects.toMatchObject({ code: 'E_IPMI_TIMEOUT', message: expect.stringMatching(/0x6\/0x38/) });
    // The key exchange went through the relay: its session was closed, not left to the BMC.
    expect(relay.counts.forwarded).toBeGreaterThan(0);
    expect(await openSessions(target())).toBe(0);
  });

  it('reads the repository, thresholds and readings in 4 round trips with no extra request', async () => {
    const s = await IpmiSession.open(
      ep,
      { ...target(), privilege: 'operator', cipherFloor: 'confidentiality', cipherSuite: 3 },
      timing,
    );
    try {
      const counters: SdrCounters = { checks: 0, fullReads: 0, getSdr: 0 };
      const loginRounds = s.rounds;
      const sent = s.stats.sent;
      const loaded = await loadSensors(s, undefined, counters, true);
      await s.privileged;
      // Set Session Privilege + info + Reserve + record 0; the other records' first reads; the
      // rests of records, thresholds and readings (8 in flight per session: two rounds).
      expect(s.rounds - loginRounds).toBeLessThanOrEqual(4);
      // Every Get SDR read a record's bytes: none was sent ahead for an id that is not there.
      const reads = loaded.cache.raw.reduce((a, r) => a + (r.length > 32 ? 1 + Math.ceil((r.length - 32) / 32) : 1), 0);
      expect(counters.getSdr).toBe(reads);
      const analog = loaded.cache.sensors.filter(
        (c) => c.record.conversion !== undefined && c.record.eventReadingType === 0x01,
      ).length;
      // Info, Reserve, the reads, thresholds of analog sensors, readings (Set Session Privilege
      // went out with the login).
      expect(s.stats.sent - sent).toBe(2 + reads + analog + loaded.cache.sensors.length);
      // The readings taken while the records came in are those a later read gives.
      const early = interpretAnswers(loaded.cache.sensors, loaded.answers ?? []);
      const later = await readSensors(s, loaded.cache.sensors);
      expect(early.map((r) => [r.name, r.value, r.status, r.thresholds])).toEqual(
        later.map((r) => [r.name, r.value, r.status, r.thresholds]),
      );
      expect(early.length).toBeGreaterThan(0);
      // The cache read with everything in flight equals the repository read one record at a time.
      expect(loaded.cache.raw).toEqual(await readRecords(s, 0, 32));
    } finally {
      await s.close();
    }
  });

  it('holds a command that needs the raised privilege until Set Session Privilege is answered, even when it is lost', async () => {
    const relay = await startRelay(target().port, { dropFirstInSession: true });
    relays.push(relay);
    const s = await IpmiSession.open(
      ep,
      { ...target(), port: relay.port, privilege: 'operator', cipherFloor: 'confidentiality', cipherSuite: 3 },
      { timeoutMs: 500, retries: 4 },
    );
    try {
      const order: string[] = [];
      const privileged = s.privileged.then(() => order.push('privilege'));
      // A User-level read goes out at once; Get System Boot Options needs Operator (ipmi_sim
      // answers 0xD4 at User level), so it waits for the retransmitted Set Session Privilege.
      const read = s.request(0x04, 0x2d, [1]).then((r) => (order.push('read'), r.cc));
      const boot = s.request(0x00, 0x09, [5, 0, 0]).then((r) => (order.push('boot options'), r.cc));
      expect(await Promise.all([read, boot, privileged])).toEqual([0, 0, expect.any(Number)]);
      expect(order).toEqual(['read', 'privilege', 'boot options']);
      expect(relay.counts.dropped).toBe(1);
      expect(s.stats.retransmits).toBeGreaterThanOrEqual(1);
    } finally {
      await s.close();
    }
  });
});

/** A repository whose records chain in `order` (record ids as given), answering like OpenIPMI. */
function scriptedRepository(
  records: ReadonlyMap<number, Buffer>,
  order: readonly number[],
  refuseZeroReservation: boolean,
): { session: IpmiSession; gets: number[]; refusedZero: () => number } {
  const gets: number[] = [];
  let refusedZero = 0;
  const reservation = 7;
  const request = async (
    _netFn: number,
    cmd: number,
    data: readonly number[] | Uint8Array = [],
  ): Promise<{ cc: number; data: Buffer }> => {
    await new Promise((r) => setImmediate(r)); // answers come later, as over the network
    const d = Buffer.from(data);
    if (cmd === 0x22) return { cc: 0, data: Buffer.from([reservation, 0]) };
    const [res, asked, offset, count] = [d.readUInt16LE(0), d.readUInt16LE(2), d[4] ?? 0, d[5] ?? 0];
    if (res === 0 && refuseZeroReservation) {
      refusedZero++;
      return { cc: 0xc5, data: Buffer.alloc(0) };
    }
    if (res !== 0 && res !== reservation) return { cc: 0xc5, data: Buffer.alloc(0) };
    const id = asked === 0 ? (order[0] ?? 0) : asked;
    const rec = records.get(id);
    if (rec === undefined) return { cc: 0xcb, data: Buffer.alloc(0) };
    gets.push(id);
    const next = order[order.indexOf(id) + 1] ?? 0xffff;
    return {
      cc: 0,
      data: Buffer.concat([Buffer.from([next & 0xff, next >> 8]), rec.subarray(offset, offset + count)]),
    };
  };
  const session = {
    target: { name: 'scripted' },
    request,
    call: async (netFn: number, cmd: number, data?: readonly number[]) => (await request(netFn, cmd, data)).data,
  } as unknown as IpmiSession;
  return { session, gets, refusedZero: () => refusedZero };
}

/** A 20-byte record (header + 15 bytes) carrying its id. */
const record = (id: number): Buffer => {
  const r = Buffer.alloc(20, id);
  r.writeUInt16LE(id, 0);
  r[2] = 0x51;
  r[3] = 0xc0; // OEM: not a sensor
  r[4] = 15;
  return r;
};

describe('reads sent ahead of the walk', () => {
  it('follows the chain when ids are not in order: right records, at most count - 2 requests more', async () => {
    // The first record names id+1 (reads go ahead for 2, 3, 4), then the chain jumps.
    const order = [1, 2, 9, 3, 12];
    const records = new Map(order.map((id) => [id, record(id)]));
    const { session, gets } = scriptedRepository(records, order, false);
    const got = await readRecords(session, order.length, 32);
    expect(got).toEqual(order.map((id) => record(id)));
    // Each record read once; the read ahead for id 4 (not in the repository) was the only waste.
    expect([...gets].sort((a, b) => a - b)).toEqual([1, 2, 3, 9, 12]);
  });

  it('reads with the reservation once a BMC refuses reservation 0000h at offset 0', async () => {
    const order = [0x10, 0x11, 0x12, 0x13];
    const records = new Map(order.map((id) => [id, record(id)]));
    const { session, refusedZero } = scriptedRepository(records, order, true);
    expect(await readRecords(session, order.length, 32)).toEqual(order.map((id) => record(id)));
    // Refused for the first read only (the others were sent after it, with the reservation).
    expect(refusedZero()).toBe(1);
  });
});
