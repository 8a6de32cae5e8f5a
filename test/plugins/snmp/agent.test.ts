/**
 * The SNMPv3 agent against the real net-snmp tools: authPriv access, reports for unknown users,
 * unsupported security levels, wrong keys and stale messages, replayed SETs dropped, SET only
 * for rw users, and the engine ID and engineBoots persisted across restarts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { decPdu } from '../../../plugins/snmp/codec/pdu.js';
import { openScopedPdu, parseV3 } from '../../../plugins/snmp/codec/v3-message.js';
import sleepProvider, { suspendRequests } from './sleep-provider.js';
import { Relay, exchange, freeUdpPort, tool, v3, v3NoAuth } from './helpers.js';

const AUTH = 'auth-pass-123';
const PRIV = 'priv-pass-456';
const RW_AUTH = 'rw-auth-pass-1';
const RW_PRIV = 'rw-priv-pass-2';
const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const ENGINE_ID = '1.3.6.1.6.3.10.2.1.1.0';
const ENGINE_BOOTS = '1.3.6.1.6.3.10.2.1.2.0';
const SUSPEND_TARGET = '1.3.6.1.4.1.99999.1.1.3.0';
const SUSPEND_WAKE = '1.3.6.1.4.1.99999.1.1.4.0';
const SUSPEND_ACTION = '1.3.6.1.4.1.99999.1.1.5.0';

/** The usmStats OID a report carries (its plaintext scoped PDU). */
function reportOid(reply: Buffer): string {
  const m = parseV3(reply);
  const pdu = decPdu(openScopedPdu(m.data).pdu);
  expect(pdu.type).toBe(0xa8);
  return pdu.varbinds[0]?.oid.join('.') ?? '';
}

describe('snmp agent (SNMPv3 USM) with net-snmp tools', () => {
  let agent: BootedAgent;
  let port: number;
  let target: string;
  let stateDir: string;

  const boot = async (): Promise<BootedAgent> =>
    bootAgent({ plugins: [snmp, sleepProvider], sections: { snmp: { port } }, core: { state: { dir: stateDir } } });

  beforeAll(async () => {
    // The provider's record is module state, shared by the files a worker runs: start empty.
    suspendRequests.length = 0;
    port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    stateDir = await mkdtemp(join(tmpdir(), 'vpmd-snmp-state-'));
    agent = await boot();
    await agent.json(['snmp', 'user', 'add', 'reader', '--access', 'ro'], [AUTH, PRIV]);
    await agent.json(
      ['snmp', 'user', 'add', 'writer', '--auth', 'sha512', '--priv', 'aes256', '--access', 'rw'],
      [RW_AUTH, RW_PRIV],
    );
  });
  afterAll(async () => {
    await agent?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('answers an authPriv GET for sysDescr', async () => {
    const r = await tool('snmpget', [...v3('reader', AUTH, PRIV), target, SYS_DESCR]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.1\.0 = STRING: "vpmd SNMPv3 agent on /);
  });

  it('serves a SHA-512/AES-256 user', async () => {
    const r = await tool('snmpget', [
      ...v3('writer', RW_AUTH, RW_PRIV, { auth: 'SHA-512', priv: 'AES-256' }),
      target,
      SYS_DESCR,
    ]);
    expect(r.stdout).toContain('STRING: "vpmd SNMPv3 agent');
  });

  it('refuses noAuthNoPriv and authNoPriv with an unsupportedSecLevels report', async () => {
    const noAuth = await tool('snmpget', [...v3NoAuth('reader'), '-t', '1', '-r', '0', target, SYS_DESCR]);
    expect(noAuth.code).not.toBe(0);
    expect(noAuth.stderr).toMatch(/Unsupported security level/i);
    const authOnly = await tool('snmpget', [...v3('reader', AUTH, PRIV, { level: 'authNoPriv' }), target, SYS_DESCR]);
    expect(authOnly.stderr).toMatch(/Unsupported security level/i);
    expect(authOnly.stdout).toBe('');
  });

  it('answers an unknown user with an unknownUserNames report', async () => {
    const r = await tool('snmpget', [...v3('nobody', AUTH, PRIV), target, SYS_DESCR]);
    expect(r.stderr).toMatch(/Unknown user name/i);
    expect(r.stderr).not.toMatch(/Timeout/i);
  });

  it('answers a wrong authentication key with a wrongDigests report, not silence', async () => {
    const r = await tool('snmpget', [...v3('reader', 'wrong-auth-pass', PRIV), target, SYS_DESCR]);
    expect(r.stderr).toMatch(/Authentication failure/i);
    expect(r.stderr).not.toMatch(/Timeout/i);
    expect(r.stdout).toBe('');
  });

  it('answers a wrong privacy key with a decryptionErrors report', async () => {
    const r = await tool('snmpget', [...v3('reader', AUTH, 'wrong-priv-pass'), target, SYS_DESCR]);
    expect(r.stderr).toMatch(/Decryption error/i);
    expect(r.stdout).toBe('');
  });

  it('refuses SNMPv2c and SNMPv1 when no community is configured (no answer)', async () => {
    for (const args of [
      ['snmpget', '-v2c'],
      ['snmpbulkwalk', '-v2c'],
      ['snmpget', '-v1'],
    ] as const) {
      const r = await tool(args[0], [args[1], '-c', 'public', '-t', '1', '-r', '0', target, SYS_DESCR]);
      expect(r.stderr).toMatch(/Timeout/);
      expect(r.stdout).toBe('');
    }
  });

  it('lets a read-only user GET but not SET', async () => {
    // The provider's record is shared by this file's tests, in any order: compare with the start.
    const before = suspendRequests.length;
    const r = await tool('snmpset', [...v3('reader', AUTH, PRIV), target, SUSPEND_TARGET, 'i', '1']);
    expect(r.stderr).toMatch(/noAccess/);
    expect(suspendRequests).toHaveLength(before);
    const audit = await agent.json<
      { principal: string; origin: string; address?: string; outcome: string; action: string }[]
    >(['audit', '--limit', '50']);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'reader',
        origin: 'snmp',
        address: '127.0.0.1',
        outcome: 'denied',
        action: `snmp set ${SUSPEND_TARGET}`,
      }),
    );
  });

  it('lets a read-write user suspend with a wake time in one SET', async () => {
    const before = suspendRequests.length;
    const r = await tool('snmpset', [
      ...v3('writer', RW_AUTH, RW_PRIV, { auth: 'SHA-512', priv: 'AES-256' }),
      target,
      SUSPEND_ACTION,
      'i',
      '2',
      SUSPEND_TARGET,
      'i',
      '1',
      SUSPEND_WAKE,
      'u',
      '600',
    ]);
    expect(r.stderr).toBe('');
    expect(suspendRequests.slice(before)).toEqual([{ req: { target: 'mem', wakeAfterSeconds: 600 }, by: 'writer' }]);
    const audit = await agent.json<{ principal: string; origin: string; outcome: string; action: string }[]>([
      'audit',
      '--limit',
      '50',
    ]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'writer',
        origin: 'snmp',
        outcome: 'ok',
        action: `snmp set ${SUSPEND_ACTION} ${SUSPEND_TARGET} ${SUSPEND_WAKE}`,
      }),
    );
    const state = await tool('snmpget', [...v3('reader', AUTH, PRIV), target, '1.3.6.1.4.1.99999.1.1.2.0']);
    expect(state.stdout).toContain('INTEGER: 3'); // suspended
  });

  it('rejects a SET of a read-only object and a value out of range, changing nothing', async () => {
    const rw = v3('writer', RW_AUTH, RW_PRIV, { auth: 'SHA-512', priv: 'AES-256' });
    const was = (await tool('snmpget', [...v3('reader', AUTH, PRIV), target, SUSPEND_TARGET])).stdout;
    expect(was).toMatch(/INTEGER: \d/);
    const ro = await tool('snmpset', [...rw, target, SYS_DESCR, 's', 'x']);
    expect(ro.stderr).toMatch(/notWritable/);
    const bad = await tool('snmpset', [...rw, target, SUSPEND_TARGET, 'i', '9']);
    expect(bad.stderr).toMatch(/wrongValue/);
    const t = await tool('snmpget', [...v3('reader', AUTH, PRIV), target, SUSPEND_TARGET]);
    expect(t.stdout).toBe(was);
  });

  it('drops a replayed SET and answers a message from a previous boot with notInTimeWindows', async () => {
    const relay = new Relay(port);
    await relay.start();
    try {
      const set = await tool('snmpset', [
        ...v3('writer', RW_AUTH, RW_PRIV, { auth: 'SHA-512', priv: 'AES-256' }),
        `127.0.0.1:${relay.port}`,
        SUSPEND_WAKE,
        'u',
        '60',
      ]);
      expect(set.stderr).toBe('');
      const get = await tool('snmpget', [...v3('reader', AUTH, PRIV), `127.0.0.1:${relay.port}`, SYS_DESCR]);
      expect(get.stderr).toBe('');
      const setMsg = relay.sent.find(
        (b) => parseV3(b).security.userName === 'writer' && parseV3(b).security.engineId.length > 0,
      );
      const getMsg = relay.sent.find(
        (b) => parseV3(b).security.userName === 'reader' && parseV3(b).security.engineId.length > 0,
      );
      expect(setMsg && getMsg).toBeTruthy();
      // The exact SET again: dropped, nothing answered.
      expect(await exchange(port, setMsg as Buffer)).toBeNull();
      // Restart: engineBoots moves on, so the recorded GET is outside the time window.
      await agent.agent.stop();
      agent = await boot();
      const reply = await exchange(port, getMsg as Buffer);
      expect(reply).not.toBeNull();
      expect(reportOid(reply as Buffer)).toBe('1.3.6.1.6.3.15.1.1.2.0');
    } finally {
      relay.close();
    }
  });

  it('keeps its engine ID and increments engineBoots on every start', async () => {
    const before = await tool('snmpget', [...v3('reader', AUTH, PRIV), target, ENGINE_ID, ENGINE_BOOTS]);
    const id = /Hex-STRING: ([0-9A-F ]+)/.exec(before.stdout)?.[1]?.trim();
    const boots = Number(/\.2\.0 = INTEGER: (\d+)/.exec(before.stdout)?.[1]);
    expect(id).toMatch(/^80 01 86 9F 05/); // enterprise 99999, format 5
    await agent.agent.stop();
    agent = await boot();
    // Users stored with `snmp user add` survive too: the same credentials still work.
    const after = await tool('snmpget', [...v3('reader', AUTH, PRIV), target, ENGINE_ID, ENGINE_BOOTS]);
    expect(/Hex-STRING: ([0-9A-F ]+)/.exec(after.stdout)?.[1]?.trim()).toBe(id);
    expect(Number(/\.2\.0 = INTEGER: (\d+)/.exec(after.stdout)?.[1])).toBe(boots + 1);
  });

  it('refuses bad user input with a clear error and changes nothing', async () => {
    const short = await agent.run(['snmp', 'user', 'add', 'x1'], ['short', 'also-long-enough']);
    expect(short.type).toBe('error');
    expect(short.type === 'error' && short.error.message).toMatch(
      /authentication passphrase must be at least 8 characters/,
    );
    const users = await agent.json<{ name: string }[]>(['snmp', 'user', 'list']);
    expect(users.map((u) => u.name)).toEqual(['reader', 'writer']);
  });
});
