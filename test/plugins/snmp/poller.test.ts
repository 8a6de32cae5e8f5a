/**
 * The poller against a private snmpd serving a fake APC rPDU2 PDU and ENERGY-OBJECT-MIB /
 * ENTITY-SENSOR-MIB rows through a `pass_persist` script: readings in the telemetry store, `snmp walk`,
 * outlet control for Operators only, and a dead target degrading alone with backoff.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { freeUdpPort, startSnmpd, tool, v3, stopPeer } from './helpers.js';

const PASS = fileURLToPath(new URL('./fixtures/fake-pdu-pass.py', import.meta.url));
const R = '1.3.6.1.4.1.318.1.1.26';
const USER = {
  name: 'pdu',
  auth: 'sha256',
  priv: 'aes',
  authPassphrase: 'pdu-auth-pass',
  privPassphrase: 'pdu-priv-pass',
};

function pduData(): Record<string, [string, string]> {
  const d: Record<string, [string, string]> = {
    [`${R}.4.3.1.5.1`]: ['integer', '123'],
    [`${R}.4.3.1.9.1`]: ['integer', '4567'],
    '1.3.6.1.2.1.229.1.2.1.1.1': ['integer', '4321'],
    '1.3.6.1.2.1.229.1.2.1.3.1': ['integer', '-1'],
    '1.3.6.1.2.1.99.1.1.1.1.5': ['integer', '8'],
    '1.3.6.1.2.1.99.1.1.1.2.5': ['integer', '9'],
    '1.3.6.1.2.1.99.1.1.1.3.5': ['integer', '1'],
    '1.3.6.1.2.1.99.1.1.1.4.5': ['integer', '235'],
    '1.3.6.1.2.1.99.1.1.1.5.5': ['integer', '1'],
  };
  for (let n = 1; n <= 4; n++) {
    d[`${R}.9.2.3.1.5.${n}`] = ['integer', n === 3 ? '1' : '2'];
    d[`${R}.9.2.4.1.5.${n}`] = ['integer', '1'];
    d[`${R}.9.4.3.1.6.${n}`] = ['integer', String(12 + n)];
    d[`${R}.9.4.3.1.7.${n}`] = ['integer', String(100 + n)];
    d[`${R}.9.4.3.1.11.${n}`] = ['integer', String(10 * n)];
  }
  return d;
}

interface Metric {
  id: string;
  value: number | null;
  unit: string;
}

describe('snmp poller against a private snmpd', () => {
  let dir: string;
  let snmpd: ChildProcess;
  let port: number;
  let agent: BootedAgent;

  const metric = async (id: string): Promise<Metric | undefined> =>
    (await agent.json<Metric[]>(['telemetry', 'list'])).find((m) => m.id === id);
  const until = async (fn: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (await fn()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('condition not met in 20 s');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-snmp-pdu-'));
    port = await freeUdpPort();
    const state = join(dir, 'pdu.json');
    await writeFile(state, JSON.stringify(pduData()));
    const pass = (root: string): string => `pass_persist ${root} /usr/bin/python3 ${PASS} ${state}`;
    snmpd = await startSnmpd(
      dir,
      [
        `agentAddress udp:127.0.0.1:${port}`,
        `createUser pdu SHA-256 pdu-auth-pass AES pdu-priv-pass`,
        'rwuser pdu priv',
        pass(R),
        pass('.1.3.6.1.2.1.229'),
        pass('.1.3.6.1.2.1.99'),
      ],
      async () =>
        (
          await tool('snmpget', [...v3('pdu', 'pdu-auth-pass', 'pdu-priv-pass'), `127.0.0.1:${port}`, `${R}.4.3.1.5.1`])
        ).stdout.includes('INTEGER: 123'),
    );
    const deadPort = await freeUdpPort();
    agent = await bootAgent({
      plugins: [snmp],
      sections: {
        snmp: {
          port: await freeUdpPort(),
          targets: [
            {
              name: 'pdu1',
              address: '127.0.0.1',
              port,
              user: USER,
              profile: 'apc-rpdu2',
              outlets: 4,
              interval: 3,
              timeout: 5,
              oids: [{ oid: `${R}.4.3.1.9.1`, metric: 'raw-energy', kind: 'other', unit: 'count' }],
            },
            { name: 'gen1', address: '127.0.0.1', port, user: USER, profile: 'generic', interval: 3, timeout: 5 },
            {
              name: 'dead',
              address: '127.0.0.1',
              port: deadPort,
              user: USER,
              profile: 'apc-rpdu2',
              outlets: 1,
              interval: 1,
              timeout: 0.2,
              retries: 0,
              maxBackoff: 4,
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stopPeer(snmpd);
    await rm(dir, { recursive: true, force: true });
  });

  it('records rPDU2 device and outlet readings in the telemetry store, converted to W, J and A', async () => {
    await until(async () => (await metric('snmp/pdu1/power'))?.value === 1230);
    expect((await metric('snmp/pdu1/energy'))?.value).toBeCloseTo(456.7 * 3.6e6, 0);
    expect((await metric('snmp/pdu1/outlet/2/power'))?.value).toBe(102);
    expect((await metric('snmp/pdu1/outlet/2/current'))?.value).toBeCloseTo(1.4, 5);
    expect((await metric('snmp/pdu1/outlet/3/state'))?.value).toBe(0);
    expect((await metric('snmp/pdu1/outlet/1/state'))?.value).toBe(1);
    expect((await metric('snmp/pdu1/raw-energy'))?.value).toBe(4567);
  });

  it('reads ENERGY-OBJECT-MIB and ENTITY-SENSOR-MIB rows with the generic profile', async () => {
    await until(async () => (await metric('snmp/gen1/eo/1/power'))?.value !== undefined);
    expect((await metric('snmp/gen1/eo/1/power'))?.value).toBeCloseTo(432.1, 5);
    const sensor = await metric('snmp/gen1/sensor/5');
    expect(sensor?.unit).toBe('Cel');
    expect(sensor?.value).toBeCloseTo(23.5, 5);
  });

  it('walks a subtree of a target like snmpbulkwalk', async () => {
    const rows = await agent.json<{ oid: string; value: string }[]>(['snmp', 'walk', 'pdu1', `${R}.9.4.3.1.7`]);
    expect(rows).toEqual([1, 2, 3, 4].map((n) => ({ oid: `${R}.9.4.3.1.7.${n}`, value: String(100 + n) })));
    const bad = await agent.run(['snmp', 'walk', 'nosuch', '1.3.6.1']);
    expect(bad.type === 'error' && bad.error.code).toBe('E_SNMP_TARGET_UNKNOWN');
    const badOid = await agent.run(['snmp', 'walk', 'pdu1', 'system']);
    expect(badOid.type === 'error' && badOid.error.message).toMatch(/not a numeric OID/);
  });

  it('switches an outlet off and on, seen by snmpget on the device', async () => {
    const get = async (): Promise<string> =>
      (await tool('snmpget', [...v3('pdu', 'pdu-auth-pass', 'pdu-priv-pass'), `127.0.0.1:${port}`, `${R}.9.2.3.1.5.2`]))
        .stdout;
    expect(await get()).toContain('INTEGER: 2');
    expect(await agent.json(['snmp', 'outlet', 'pdu1', '2', 'off'])).toEqual({
      target: 'pdu1',
      outlet: 2,
      action: 'off',
    });
    expect(await get()).toContain('INTEGER: 1');
    await until(async () => (await metric('snmp/pdu1/outlet/2/state'))?.value === 0);
    await agent.json(['snmp', 'outlet', 'pdu1', '2', 'on']);
    expect(await get()).toContain('INTEGER: 2');
    const range = await agent.run(['snmp', 'outlet', 'pdu1', '9', 'off']);
    expect(range.type === 'error' && range.error.code).toBe('E_SNMP_OUTLET');
    const generic = await agent.run(['snmp', 'outlet', 'gen1', '1', 'off']);
    expect(generic.type === 'error' && generic.error.message).toMatch(/needs profile apc-rpdu2/);
  });

  it('degrades only the dead target, backing off, while the others stay ok', async () => {
    await until(async () => {
      const t = await agent.json<{ name: string; status: string; failures: number }[]>(['snmp', 'targets']);
      return (t.find((x) => x.name === 'dead')?.failures ?? 0) >= 2;
    });
    const targets = await agent.json<{ name: string; status: string; nextPollSeconds: number; lastError?: string }[]>([
      'snmp',
      'targets',
    ]);
    const dead = targets.find((t) => t.name === 'dead');
    expect(dead?.status).not.toBe('ok');
    expect(dead?.nextPollSeconds).toBeGreaterThanOrEqual(4);
    expect(dead?.lastError).toMatch(/dead \(127\.0\.0\.1:\d+\)/);
    expect(targets.find((t) => t.name === 'pdu1')?.status).toBe('ok');
    const status = (await agent.status()).find((p) => p.name === 'snmp');
    expect(status?.state).toBe('running');
  });
});
