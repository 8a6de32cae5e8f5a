/**
 * The weaker modes an operator may enable explicitly: SNMPv1/v2c communities and USM users marked
 * authNoPriv or noAuthNoPriv. All read-only whatever their access, against the real net-snmp
 * tools; the agent without them is covered by agent.test.ts (v1/v2c and noAuthNoPriv refused).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import sleepProvider, { suspendRequests } from './sleep-provider.js';
import { startError, freeUdpPort, parseWalk, tool, v3AuthOnly, v3NoAuth } from './helpers.js';

const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const SUSPEND_TARGET = '1.3.6.1.4.1.99999.1.1.3.0';
const QUICK = ['-t', '1', '-r', '0', '-On'];

describe('snmp agent weaker modes, explicitly enabled', () => {
  let agent: BootedAgent;
  let target: string;
  let dir: string;

  beforeAll(async () => {
    // The provider's record is module state, shared by the files a worker runs: start empty.
    suspendRequests.length = 0;
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    dir = await mkdtemp(join(tmpdir(), 'vpmd-snmp-weak-'));
    const file = join(dir, 'community');
    await writeFile(file, 'v1-secret-from-file\n', { mode: 0o600 });
    agent = await bootAgent({
      plugins: [snmp, sleepProvider],
      sections: {
        snmp: {
          port,
          communities: [
            { name: 'monitoring', community: 'v2c-secret', versions: ['v2c'], sources: ['127.0.0.0/8'] },
            { name: 'old-nms', communityFile: file, versions: ['v1'] },
            { name: 'elsewhere', community: 'only-from-10', versions: ['v1', 'v2c'], sources: ['10.0.0.0/8'] },
          ],
          users: [
            { name: 'watcher', securityLevel: 'noAuthNoPriv', access: 'rw' },
            {
              name: 'legacy',
              securityLevel: 'authNoPriv',
              auth: 'sha256',
              authPassphrase: 'legacy-auth-pass',
              access: 'rw',
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves snmpwalk and snmpbulkwalk over SNMPv2c with the configured community', async () => {
    const walk = await tool('snmpwalk', ['-v2c', '-c', 'v2c-secret', ...QUICK, target, '1.3.6.1.2.1.1']);
    expect(walk.stderr).toBe('');
    const rows = parseWalk(walk.stdout);
    expect(rows.get(SYS_DESCR)?.value).toMatch(/^vpmd SNMPv3 agent on /);
    const bulk = await tool('snmpbulkwalk', [
      '-v2c',
      '-c',
      'v2c-secret',
      '-Cr20',
      ...QUICK,
      target,
      '1.3.6.1.6.3.10.2.1',
    ]);
    expect(bulk.stderr).toBe('');
    // snmpEngine group: engine ID, boots, time, max message size.
    expect([...parseWalk(bulk.stdout).keys()]).toEqual([
      '1.3.6.1.6.3.10.2.1.1.0',
      '1.3.6.1.6.3.10.2.1.2.0',
      '1.3.6.1.6.3.10.2.1.3.0',
      '1.3.6.1.6.3.10.2.1.4.0',
    ]);
  });

  it('answers SNMPv1 Get and GetNext for a v1 community read from communityFile', async () => {
    const get = await tool('snmpget', ['-v1', '-c', 'v1-secret-from-file', ...QUICK, target, SYS_DESCR]);
    expect(get.stdout).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.1\.0 = STRING: "vpmd SNMPv3 agent/);
    const next = await tool('snmpgetnext', ['-v1', '-c', 'v1-secret-from-file', ...QUICK, target, '1.3.6.1.2.1.1.1']);
    expect(next.stdout).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.1\.0 = STRING: "vpmd SNMPv3 agent/);
    const missing = await tool('snmpget', ['-v1', '-c', 'v1-secret-from-file', ...QUICK, target, '1.3.6.1.2.1.1.99.0']);
    expect(missing.stderr).toMatch(/noSuchName/);
  });

  it('drops a wrong community, a community used with a version it is not enabled for, or from outside its sources', async () => {
    const before = await agent.json<{ stats: { badCommunityNames: number } }>(['snmp', 'status']);
    for (const [v, c] of [
      ['-v2c', 'wrong-secret'],
      ['-v1', 'v2c-secret'],
      ['-v2c', 'v1-secret-from-file'],
      ['-v2c', 'only-from-10'],
    ] as const) {
      const r = await tool('snmpget', [v, '-c', c, ...QUICK, target, SYS_DESCR]);
      expect(r.stderr, `${v} ${c}`).toMatch(/Timeout/);
      expect(r.stdout).toBe('');
    }
    const after = await agent.json<{ stats: { badCommunityNames: number } }>(['snmp', 'status']);
    expect(after.stats.badCommunityNames - before.stats.badCommunityNames).toBe(4);
  });

  it('refuses SNMPv2c and SNMPv1 SETs as snmpd does for an rocommunity, and audits them', async () => {
    const v2 = await tool('snmpset', ['-v2c', '-c', 'v2c-secret', ...QUICK, target, SUSPEND_TARGET, 'i', '1']);
    expect(v2.stderr).toMatch(/Reason: noAccess/);
    const v1 = await tool('snmpset', ['-v1', '-c', 'v1-secret-from-file', ...QUICK, target, SUSPEND_TARGET, 'i', '1']);
    expect(v1.stderr).toMatch(/noSuchName/);
    expect(suspendRequests).toHaveLength(0);
    const audit = await agent.json<{ principal: string; outcome: string; action: string; detail?: string }[]>([
      'audit',
      '--limit',
      '50',
    ]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'community:monitoring',
        outcome: 'denied',
        action: `snmp set ${SUSPEND_TARGET}`,
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'community:old-nms',
        outcome: 'denied',
        action: `snmp set ${SUSPEND_TARGET}`,
      }),
    );
    expect(JSON.stringify(audit)).not.toMatch(/secret/);
    const status = await agent.json<{ stats: { badCommunityUses: number } }>(['snmp', 'status']);
    expect(status.stats.badCommunityUses).toBe(2);
  });

  it('lets a noAuthNoPriv user read but not set, even with access rw', async () => {
    const get = await tool('snmpget', [...v3NoAuth('watcher'), ...QUICK, target, SYS_DESCR]);
    expect(get.stdout).toContain('STRING: "vpmd SNMPv3 agent');
    const set = await tool('snmpset', [...v3NoAuth('watcher'), ...QUICK, target, SUSPEND_TARGET, 'i', '1']);
    expect(set.stderr).toMatch(/noAccess/);
    expect(suspendRequests).toHaveLength(0);
  });

  it('lets an authNoPriv user read but not set, and refuses it noAuthNoPriv', async () => {
    const auth = [...v3AuthOnly('legacy', 'legacy-auth-pass'), ...QUICK, target];
    const get = await tool('snmpget', [...auth, SYS_DESCR]);
    expect(get.stdout).toContain('STRING: "vpmd SNMPv3 agent');
    const set = await tool('snmpset', [...auth, SUSPEND_TARGET, 'i', '1']);
    expect(set.stderr).toMatch(/noAccess/);
    const wrong = await tool('snmpget', [...v3AuthOnly('legacy', 'not-the-pass'), ...QUICK, target, SYS_DESCR]);
    expect(wrong.stderr).toMatch(/Authentication failure/i);
    const noAuth = await tool('snmpget', [...v3NoAuth('legacy'), ...QUICK, target, SYS_DESCR]);
    expect(noAuth.stderr).toMatch(/Unsupported security level/i);
    expect(suspendRequests).toHaveLength(0);
  });

  it('lists the weaker users with their level and forced read-only access', async () => {
    const users = await agent.json<{ name: string; access: string; level: string }[]>(['snmp', 'user', 'list']);
    expect(users).toEqual([
      { name: 'legacy', auth: 'sha256', access: 'ro', level: 'authNoPriv', source: 'config' },
      { name: 'watcher', access: 'ro', level: 'noAuthNoPriv', source: 'config' },
    ]);
  });
});

describe('snmp weaker-mode configuration errors', () => {
  it('fails the plugin start with a specific error for a community without a secret, or one from a missing file', async () => {
    expect(await startError({ communities: [{ name: 'x', versions: ['v2c'] }] })).toBe(
      'E_SNMP_CONFIG: plugins.snmp.communities[0]: set exactly one of community or communityFile',
    );
    expect(await startError({ communities: [{ name: 'x', communityFile: '/nonexistent/community' }] })).toBe(
      'E_SNMP_CONFIG: plugins.snmp.communities[0].communityFile: cannot read community file /nonexistent/community (ENOENT)',
    );
  });

  it('rejects in the configuration an authPriv user without its privacy keys, and keys on a noAuthNoPriv user', async () => {
    const port = await freeUdpPort();
    const half = bootAgent({
      plugins: [snmp],
      sections: { snmp: { port, users: [{ name: 'half', auth: 'sha256', authPassphrase: 'half-auth-pass' }] } },
    });
    await expect(half).rejects.toThrow(/plugins\.snmp\.users\[0\]\.priv: is required/);
    const none = bootAgent({
      plugins: [snmp],
      sections: {
        snmp: { port, users: [{ name: 'none', securityLevel: 'noAuthNoPriv', authPassphrase: 'some-auth-pass' }] },
      },
    });
    await expect(none).rejects.toThrow(
      /plugins\.snmp\.users\[0\]\.authPassphrase: must be left out for a noAuthNoPriv user/,
    );
  });
});
