/**
 * IPMI through a hostile link (issue #21), against a running agent and the real ipmi_sim: a UDP
 * relay drops 45 % of the datagrams each way and corrupts 5 % of the rest. vpmd's polls and
 * ipmitool's `sensor list` go through identical relays (same seed, same draws) at the same time,
 * each client with its own defaults; vpmd must complete at least as many of its polls as ipmitool,
 * and read most sensors in each. BMCs that answer with garbage or a flood are named for it in
 * `vpmctl status`, and a target never polled is pending, not ok. Run by `npm run chaos`.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, startIpmiSim, type BootedAgent, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import type { PluginStatus } from '../../core/kernel/kernel.js';
import ipmi from '../../plugins/ipmi/index.js';
import { startRelay, type UdpRelay } from '../plugins/ipmi/support/udp-relay.js';

/** Polls on each side: the attempt count of the report this replays (ipmitool: 2 of 6). */
const POLLS = 6;
const LINK = { lossRate: 0.45, corruptRate: 0.05 } as const;

let sim: IpmiSimPeer;
const bmc = (): IpmiSimTarget => sim.targets[0] as IpmiSimTarget;

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 1, sel: false });
});
afterAll(async () => {
  await sim?.stop();
});

interface SweepResult {
  successes: number;
  failures: number;
  errors: Array<{ target: string; error: string }>;
}
interface TargetRow {
  name: string;
  state: string;
  detail?: string;
  unread: number;
  fault: string | null;
  faults: Record<string, number>;
  session: { sent: number; retransmits: number; malformed: number; truncated: number } | null;
}

/**
 * One `ipmitool sensor list` through `port` with ipmitool's lanplus defaults spelled out (1 s
 * between retransmissions, 4 retries; see ipmitool(1) -N and -R). Completed: exit 0 and rows.
 */
function ipmitoolPoll(port: number): Promise<{ completed: boolean; rows: number; error?: string }> {
  const t = bmc();
  const argv = ['-I', 'lanplus', '-H', t.host, '-p', String(port), '-U', t.username, '-E', '-C', '3'];
  return new Promise((resolve) => {
    execFile(
      'ipmitool',
      [...argv, '-N', '1', '-R', '4', 'sensor', 'list'],
      { timeout: 180_000, env: { ...process.env, IPMI_PASSWORD: t.password } },
      (err, stdout, stderr) => {
        const rows = stdout.split('\n').filter((l) => l.includes('|')).length;
        if (err === null && rows > 0) resolve({ completed: true, rows });
        else resolve({ completed: false, rows, error: `${err?.message ?? ''} ${stderr}`.trim().slice(0, 200) });
      },
    );
  });
}

describe('a link losing 45 % of the datagrams each way, corrupting 5 % of the rest', () => {
  let agent: BootedAgent;
  let vpmdLink: UdpRelay;
  let ipmitoolLink: UdpRelay;
  beforeAll(async () => {
    vpmdLink = await startRelay(bmc().port, { ...LINK, seed: 21 });
    ipmitoolLink = await startRelay(bmc().port, { ...LINK, seed: 21 });
    agent = await bootAgent({
      plugins: [ipmi],
      sections: {
        ipmi: {
          // The test triggers every poll itself. A lossy link is what requestBudget is for: 30 s
          // of retransmits (1 s apart, growing to 4 s) per request; the other defaults stand.
          interval: 3600,
          requestBudget: 30,
          sel: false,
          targets: [
            {
              name: 'lossy',
              host: bmc().host,
              port: vpmdLink.port,
              username: bmc().username,
              password: bmc().password,
              cipherSuite: 3,
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await vpmdLink?.close();
    await ipmitoolLink?.close();
  });

  it(`vpmd completes at least as many of ${POLLS} polls as ipmitool, with readings`, { timeout: 900_000 }, async () => {
    const vpmdSide = async (): Promise<SweepResult[]> => {
      const out: SweepResult[] = [];
      for (let i = 0; i < POLLS; i++) out.push(await agent.json<SweepResult>(['ipmi', 'poll']));
      return out;
    };
    const ipmitoolSide = async (): Promise<Array<Awaited<ReturnType<typeof ipmitoolPoll>>>> => {
      const out: Array<Awaited<ReturnType<typeof ipmitoolPoll>>> = [];
      for (let i = 0; i < POLLS; i++) out.push(await ipmitoolPoll(ipmitoolLink.port));
      return out;
    };
    const [vp, it] = await Promise.all([vpmdSide(), ipmitoolSide()]);
    const [row] = await agent.json<TargetRow[]>(['ipmi', 'targets']);
    const metrics = await agent.json<unknown[]>(['telemetry', 'list', '--target', 'lossy']);
    const vpmdCompleted = vp.filter((r) => r.successes === 1).length;
    const ipmitoolCompleted = it.filter((r) => r.completed).length;
    console.log(
      JSON.stringify({
        link: LINK,
        vpmd: { completed: vpmdCompleted, of: POLLS, errors: vp.flatMap((r) => r.errors.map((e) => e.error)) },
        ipmitool: { completed: ipmitoolCompleted, of: POLLS, errors: it.flatMap((r) => r.error ?? []) },
        relays: { vpmd: vpmdLink.counts, ipmitool: ipmitoolLink.counts },
        session: row?.session,
        metrics: metrics.length,
        faults: row?.faults,
      }),
    );
    // The link really was hostile on both sides.
    expect(vpmdLink.counts.dropped).toBeGreaterThan(20);
    expect(ipmitoolLink.counts.dropped).toBeGreaterThan(20);
    expect(vpmdCompleted).toBeGreaterThanOrEqual(ipmitoolCompleted);
    // The report this replays: ipmitool completed 2 of 6 polls, vpmd none.
    expect(vpmdCompleted, JSON.stringify(vp)).toBeGreaterThanOrEqual(2);
    // Readings arrived, and a completed last poll lost at most one of them.
    expect(metrics.length).toBeGreaterThan(0);
    if (row?.state === 'ok') expect(row.unread).toBeLessThanOrEqual(1);
    expect(row?.session?.retransmits).toBeGreaterThan(0);
  });
});

/** A fake BMC answering every datagram with `reply()`. */
async function fakeBmc(reply: () => Buffer[]): Promise<{ port: number; close(): Promise<void> }> {
  const s: Socket = createSocket('udp4');
  s.on('message', (_msg, rinfo) => {
    for (const out of reply()) s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

describe('BMCs that answer with rubbish, in a running agent', () => {
  // An RMCP / IPMI 1.5 header whose message length runs past the end of the datagram, and bytes
  // that are not RMCP at all.
  const cut = Buffer.from([0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x20, 0x81]);
  const garbage = Buffer.from('not an RMCP datagram at all, just noise on the wire');
  let agent: BootedAgent;
  let garbled: Awaited<ReturnType<typeof fakeBmc>>;
  let flooding: Awaited<ReturnType<typeof fakeBmc>>;
  let silent: Awaited<ReturnType<typeof fakeBmc>>;
  beforeAll(async () => {
    garbled = await fakeBmc(() => [garbage]);
    flooding = await fakeBmc(() => Array.from({ length: 40 }, () => cut.subarray(0, 4)));
    silent = await fakeBmc(() => []);
    const target = (name: string, port: number): Record<string, unknown> => ({
      name,
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
    });
    agent = await bootAgent({
      plugins: [ipmi],
      sections: {
        ipmi: {
          interval: 3600,
          timeout: 0.1,
          retries: 2,
          requestBudget: 0.5,
          sel: false,
          targets: [target('garbled', garbled.port), target('flooding', flooding.port), target('silent', silent.port)],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await Promise.all([garbled?.close(), flooding?.close(), silent?.close()]);
  });

  it('status names each fault; none counts as ok, polled or not', async () => {
    // Before any poll ends (or while the start-up poll runs): nothing is ok.
    const early = (await agent.status()).find((s: PluginStatus) => s.name === 'ipmi')?.health;
    expect(early?.detail).toMatch(/^0 of 3 BMC\(s\) ok/);
    await agent.json(['ipmi', 'poll']);
    const rows = await agent.json<TargetRow[]>(['ipmi', 'targets']);
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('garbled')).toMatchObject({ fault: 'malformed reply' });
    expect(byName.get('flooding')).toMatchObject({ fault: 'flooding' });
    expect(byName.get('silent')).toMatchObject({ fault: 'did not answer' });
    const health = (await agent.status()).find((s: PluginStatus) => s.name === 'ipmi')?.health;
    expect(health?.detail).toMatch(/^0 of 3 BMC\(s\) ok/);
    expect(health?.targets?.['garbled']?.detail).toContain('malformed reply');
    expect(health?.targets?.['flooding']?.detail).toContain('flooding');
    expect(health?.targets?.['silent']?.detail).toContain('did not answer');
    for (const name of ['garbled', 'flooding', 'silent']) expect(health?.targets?.[name]?.status).not.toBe('ok');
  });
});
