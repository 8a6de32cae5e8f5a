/**
 * The agent's network exposure: bound to the management address, and datagrams from peers
 * outside management.allow dropped before parsing (counted in `vpmctl snmp status`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { freeUdpPort, tool, v3, v3NoAuth } from './helpers.js';

describe('snmp agent network access', () => {
  let agent: BootedAgent;
  let port: number;

  beforeAll(async () => {
    port = await freeUdpPort();
    agent = await bootAgent({
      plugins: [snmp],
      sections: {
        snmp: {
          port,
          users: [
            {
              name: 'nms',
              auth: 'sha256',
              priv: 'aes',
              access: 'ro',
              authPassphrase: 'nms-auth-pass',
              privPassphrase: 'nms-priv-pass',
            },
          ],
        },
      },
      core: { management: { address: '127.0.0.1', allow: ['10.0.0.0/8'] } },
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('drops requests from outside management.allow without answering, even with valid keys', async () => {
    const r = await tool('snmpget', [
      ...v3('nms', 'nms-auth-pass', 'nms-priv-pass'),
      `127.0.0.1:${port}`,
      '1.3.6.1.2.1.1.1.0',
    ]);
    expect(r.stderr).toMatch(/Timeout/);
    expect(r.stdout).toBe('');
    const status = await agent.json<{ address: string; stats: { refusedAddresses: number } }>(['snmp', 'status']);
    expect(status.address).toBe('127.0.0.1');
    expect(status.stats.refusedAddresses).toBeGreaterThanOrEqual(1);
  });

  it('lists config users without their passphrases or keys', async () => {
    const users = await agent.json<Record<string, unknown>[]>(['snmp', 'user', 'list']);
    expect(users).toEqual([
      { name: 'nms', auth: 'sha256', priv: 'aes', access: 'ro', level: 'authPriv', source: 'config' },
    ]);
    const del = await agent.run(['snmp', 'user', 'delete', 'nms']);
    expect(del.type === 'error' && del.error.message).toMatch(/defined in the configuration file/);
  });
});

describe('snmp agent minSecurityLevel', () => {
  it('accepts authNoPriv only when lowered to it, read-only even for an rw user, and never noAuthNoPriv', async () => {
    const port = await freeUdpPort();
    const agent = await bootAgent({
      plugins: [snmp],
      sections: {
        snmp: {
          port,
          minSecurityLevel: 'authNoPriv',
          users: [
            {
              name: 'mon',
              auth: 'sha384',
              priv: 'aes',
              access: 'rw',
              authPassphrase: 'mon-auth-pass',
              privPassphrase: 'mon-priv-pass',
            },
          ],
        },
      },
    });
    try {
      const authOnly = await tool('snmpget', [
        ...v3('mon', 'mon-auth-pass', 'mon-priv-pass', { level: 'authNoPriv', auth: 'SHA-384' }),
        `127.0.0.1:${port}`,
        '1.3.6.1.2.1.1.5.0',
      ]);
      expect(authOnly.stdout).toContain('STRING:');
      const set = await tool('snmpset', [
        ...v3('mon', 'mon-auth-pass', 'mon-priv-pass', { level: 'authNoPriv', auth: 'SHA-384' }),
        `127.0.0.1:${port}`,
        '1.3.6.1.4.1.99999.1.1.3.0',
        'i',
        '1',
      ]);
      expect(set.stderr).toMatch(/noAccess/);
      const audit = await agent.json<{ principal: string; outcome: string; detail?: string }[]>([
        'audit',
        '--limit',
        '10',
      ]);
      expect(audit).toContainEqual(expect.objectContaining({ principal: 'mon', outcome: 'denied' }));
      const noAuth = await tool('snmpget', [
        ...v3NoAuth('mon'),
        '-t',
        '2',
        '-r',
        '0',
        `127.0.0.1:${port}`,
        '1.3.6.1.2.1.1.5.0',
      ]);
      expect(noAuth.stderr).toMatch(/Unsupported security level/i);
    } finally {
      await agent.stop();
    }
  });
});
