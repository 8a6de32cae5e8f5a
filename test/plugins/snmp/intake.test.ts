/** The SNMP intake: authenticated candidates first and all of them; unauthenticated work budgeted. */
import type { RemoteInfo } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { Intake } from '../../../plugins/snmp/agent/intake.js';

const from = (address: string): RemoteInfo => ({ address, family: 'IPv4', port: 4000, size: 0 });
const HIGH = Buffer.from('high');
const LOW = Buffer.from('low');

function setup(now: { t: number }) {
  const served: string[] = [];
  const intake = new Intake(
    (buf) => (buf === HIGH ? 'high' : 'low'),
    (buf, rinfo) => {
      served.push(`${buf.toString()}@${rinfo.address}`);
      return Promise.resolve();
    },
    () => undefined,
    { lowPerTurn: 4, perSourceRate: 10, perSourceBurst: 5, maxQueued: 100 },
    () => now.t,
  );
  const turn = () => new Promise<void>((r) => setImmediate(r));
  return { served, intake, turn };
}

describe('snmp intake', () => {
  it('serves every candidate of a turn before any unauthenticated datagram, and at most lowPerTurn of those', async () => {
    const { served, intake, turn } = setup({ t: 0 });
    for (let i = 0; i < 3; i++) intake.push(LOW, from(`10.0.0.${i}`));
    intake.push(HIGH, from('10.0.0.9'));
    for (let i = 3; i < 8; i++) intake.push(LOW, from(`10.0.0.${i}`));
    intake.push(HIGH, from('10.0.0.9'));
    await turn();
    expect(served.slice(0, 2)).toEqual(['high@10.0.0.9', 'high@10.0.0.9']);
    expect(served.slice(2)).toEqual(['low@10.0.0.0', 'low@10.0.0.1', 'low@10.0.0.2', 'low@10.0.0.3']);
    expect(intake.stats).toEqual({ high: 2, low: 4, shed: 4 });
  });

  it("limits one source's unauthenticated datagrams to its bucket, refilled at perSourceRate", async () => {
    const now = { t: 0 };
    const { served, intake, turn } = setup(now);
    for (let i = 0; i < 20; i++) intake.push(LOW, from('10.0.0.1'));
    intake.push(LOW, from('10.0.0.2'));
    await turn();
    // The burst of 5 passed the bucket; the turn serves 4 of them; the other source was let in too.
    expect(intake.stats.shed).toBe(15 + 2);
    now.t = 500; // half a second: 5 tokens back at 10/s
    for (let i = 0; i < 10; i++) intake.push(LOW, from('10.0.0.1'));
    await turn();
    expect(served.filter((s) => s === 'low@10.0.0.1').length).toBe(4 + 4);
    for (let i = 0; i < 3; i++) intake.push(HIGH, from('10.0.0.1'));
    await turn();
    expect(served.slice(-3)).toEqual(['high@10.0.0.1', 'high@10.0.0.1', 'high@10.0.0.1']);
  });
});
