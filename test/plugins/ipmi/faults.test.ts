/**
 * Faults, each degrading one target only and recovering by itself: wrong password, a BMC killed
 * and restarted mid-sweep, a BMC out of sessions, packet loss, delay and duplicates through a
 * UDP relay, and garbage datagrams.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bootAgent,
  freeUdpPorts,
  startIpmiSim,
  type BootedAgent,
  type IpmiSimPeer,
  type IpmiSimTarget,
} from 'vpmd/testkit';
import type { PluginStatus } from '../../../core/kernel/kernel.js';
import ipmi from '../../../plugins/ipmi/index.js';
import { IpmiSession } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { openSessions } from './support/reference-tools.js';
import { startRelay, type UdpRelay } from './support/udp-relay.js';

interface TargetRow {
  name: string;
  state: string;
  detail?: string;
  code: string | null;
  hasSession: boolean;
  session: { sent: number; retransmits: number; dropped: number } | null;
}

let sim: IpmiSimPeer;
let restartable: IpmiSimPeer;
let restartPort: number;
let relay: UdpRelay;
let booted: BootedAgent;
/** Sessions that fill BMC 3's session table before the agent starts. */
const hogs: { ep: UdpEndpoint; s: IpmiSession }[] = [];

const t = (i: number): IpmiSimTarget => sim.targets[i] as IpmiSimTarget;
const row = async (name: string): Promise<TargetRow> => {
  const rows = await booted.json<TargetRow[]>(['ipmi', 'targets']);
  const r = rows.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no target ${name}`);
  return r;
};
/** Waits (bounded) until `name` reaches `state` through the poller's own schedule. */
async function reaches(name: string, state: string, boundMs = 20_000): Promise<TargetRow> {
  const end = Date.now() + boundMs;
  for (;;) {
    const r = await row(name);
    if (r.state === state) return r;
    if (Date.now() > end) throw new Error(`${name} stayed ${r.state} (${r.detail ?? ''}) instead of ${state}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 4 });
  [restartPort] = (await freeUdpPorts(1)) as [number];
  restartable = await startIpmiSim({ bmcs: 1, basePort: restartPort });
  relay = await startRelay(t(2).port);
  for (let i = 0; i < 70; i++) {
    const ep = await UdpEndpoint.open('127.0.0.1');
    try {
      hogs.push({
        ep,
        s: await IpmiSession.open(
          ep,
          { ...t(3), privilege: 'user', cipherFloor: 'confidentiality' },
          { timeoutMs: 500, retries: 1 },
        ),
      });
    } catch (e) {
      await ep.close();
      // ipmi_sim has 63 slots: the 64th login is refused with "insufficient resources".
      if ((e as { code?: string }).code !== 'E_IPMI_SESSION') throw e;
      break;
    }
  }
  const target = (name: string, x: IpmiSimTarget, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    host: x.host,
    port: x.port,
    username: x.username,
    password: x.password,
    ...extra,
  });
  booted = await bootAgent({
    plugins: [ipmi],
    sections: {
      ipmi: {
        interval: 1,
        timeout: 0.2,
        retries: 3,
        backoffMin: 0.2,
        backoffMax: 1,
        sel: false,
        targets: [
          target('good', t(0)),
          target('wrong-password', t(1), { password: 'not-the-password' }),
          target('lossy', t(2), { port: relay.port, interval: 3600 }), // only the tests' own requests cross the relay
          target('restarted', restartable.targets[0] as IpmiSimTarget),
          target('crowded', t(3)),
        ],
      },
    },
  });
});
afterAll(async () => {
  await booted?.stop();
  await Promise.all(
    hogs.map(async (h) => {
      await h.s.close();
      await h.ep.close();
    }),
  );
  await relay?.close();
  await restartable?.stop();
  await sim?.stop();
});

describe('one failing BMC degrades one target', () => {
  it('wrong password: the target fails naming the password, the others poll', async () => {
    const sweep = await booted.json<{
      successes: number;
      failures: number;
      errors: Array<{ target: string; error: string }>;
    }>(['ipmi', 'poll']);
    // 'crowded' has no free session while the hogs hold all 63 (the last test frees one).
    const crowded = hogs.length >= 63;
    expect(sweep.errors).toEqual([
      { target: 'wrong-password', error: expect.stringMatching(/wrong password/) },
      ...(crowded ? [{ target: 'crowded', error: expect.stringMatching(/no free session/) }] : []),
    ]);
    expect(sweep.successes).toBe(crowded ? 3 : 4);
    const r = await row('wrong-password');
    expect(r).toMatchObject({ state: 'failed', code: 'E_IPMI_AUTH', hasSession: false });
    expect((await row('good')).state).toBe('ok');
    const status = await booted.status();
    const plugin = status.find((s: PluginStatus) => s.name === 'ipmi');
    expect(plugin).toMatchObject({
      state: 'running',
      health: { status: 'degraded', targets: { 'wrong-password': { status: 'failed' }, good: { status: 'ok' } } },
    });
  });
});

describe('network faults through a relay', () => {
  // Each test sets the relay's faults and clears them, so the other tests' sweeps cross a clean relay.
  afterEach(() => {
    relay.faults = {};
  });

  it('loses every 5th datagram: retransmits, same values', async () => {
    relay.faults = { dropEvery: 5 };
    const before = relay.counts.dropped;
    const rows = await booted.json<Array<{ name: string; value: number }>>(['ipmi', 'sensors', 'lossy']);
    expect(relay.counts.dropped).toBeGreaterThan(before);
    expect(rows.find((r) => r.name === 'Inlet Temp')?.value).toBe(24);
    expect(rows.find((r) => r.name === '12V Rail')?.value).toBe(11.97);
    expect((await row('lossy')).session?.retransmits).toBeGreaterThan(0);
  });

  it('answers late and twice: duplicates and stale answers are dropped, values right', async () => {
    // 'lossy' polls once an hour: a sweep makes it 'ok' first, whatever ran before.
    await booted.json(['ipmi', 'poll']);
    await reaches('lossy', 'ok');
    relay.faults = { delayMs: 150, duplicate: true }; // round trip 300 ms > the 200 ms timeout
    const rows = await booted.json<Array<{ name: string; value: number }>>(['ipmi', 'sensors', 'lossy']);
    expect(rows.map((r) => r.value)).toEqual([24, 4800, 11.97, 220, 1]);
    const r = await row('lossy');
    expect(r.session?.dropped).toBeGreaterThan(0);
    expect(r.state).toBe('ok');
  });

  it('ignores garbage datagrams from the BMC address', async () => {
    relay.faults = { garbageBefore: 3 };
    const before = (await row('lossy')).session?.dropped ?? 0;
    const rows = await booted.json<Array<{ name: string; value: number }>>(['ipmi', 'sensors', 'lossy']);
    expect(rows.find((x) => x.name === 'Fan 1')?.value).toBe(4800);
    expect(relay.counts.garbage).toBeGreaterThan(0);
    expect((await row('lossy')).session?.dropped ?? 0).toBeGreaterThan(before);
  });

  it('logs in through garbage: a corrupted copy of a login reply is not taken for the answer', async () => {
    // Login replies have no integrity check; the relay sends a copy with the console session id
    // and everything after it mangled, before each real reply.
    relay.faults = { garbageBefore: 3 };
    const ep = await UdpEndpoint.open('127.0.0.1');
    try {
      const s = await IpmiSession.open(
        ep,
        { ...t(2), port: relay.port, privilege: 'user', cipherFloor: 'confidentiality' },
        { timeoutMs: 500, retries: 1 },
      );
      const id = await s.call(0x06, 0x01); // Get Device ID inside the session
      expect(id.length).toBeGreaterThan(10);
      await s.close();
    } finally {
      await ep.close();
    }
  });
});

describe('BMC killed and restarted mid-sweep', () => {
  it('degrades while the BMC is gone and recovers by itself with a new session', async () => {
    await reaches('restarted', 'ok');
    const sweep = booted.json<{ errors: Array<{ target: string }> }>(['ipmi', 'poll']);
    await restartable.stop(); // SIGTERM/SIGKILL while the sweep is in flight
    const done = await sweep;
    const after = await row('restarted');
    // The sweep may have finished that target just before the kill; the next poll cannot.
    if (!done.errors.some((e) => e.target === 'restarted')) await reaches('restarted', 'degraded');
    else expect(after.state).toBe('degraded');
    expect((await row('restarted')).code).toBe('E_IPMI_TIMEOUT');
    expect((await reaches('good', 'ok')).state).toBe('ok');
    restartable = await startIpmiSim({ bmcs: 1, basePort: restartPort });
    const back = await reaches('restarted', 'ok');
    expect(back.hasSession).toBe(true);
    expect(await openSessions(restartable.targets[0] as IpmiSimTarget)).toBe(1);
  });
});

describe('BMC out of sessions', () => {
  it('degrades with "no free session" while the table is full and recovers once a slot is free', async () => {
    expect(hogs.length).toBe(63);
    const r = await reaches('crowded', 'degraded');
    expect(r).toMatchObject({ code: 'E_IPMI_SESSION', detail: expect.stringMatching(/no free session/) });
    // 'good' may not have been polled yet when this test runs first: wait for its first poll.
    expect((await reaches('good', 'ok')).state).toBe('ok');
    const freed = hogs.pop();
    await freed?.s.close();
    await freed?.ep.close();
    const back = await reaches('crowded', 'ok');
    expect(back.hasSession).toBe(true);
  });
});
