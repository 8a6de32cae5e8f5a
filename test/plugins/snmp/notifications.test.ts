/**
 * SNMPv3 notifications received by the real snmptrapd: authPriv traps (our engine
 * authoritative) and informs (snmptrapd's engine discovered, acknowledged) for host power
 * changes, SEL entries and threshold crossings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import events from './event-source.js';
import { freeUdpPort, stopPeer } from './helpers.js';

const ENGINE_ID = '8001869f05aabbccddeeff0011223344';
const TRAP_USER = {
  name: 'trapper',
  auth: 'sha256',
  priv: 'aes',
  authPassphrase: 'trap-auth-pass',
  privPassphrase: 'trap-priv-pass',
};
const INFORM_USER = {
  name: 'informer',
  auth: 'sha512',
  priv: 'aes256',
  authPassphrase: 'inform-auth-pass',
  privPassphrase: 'inform-priv-pass',
};

describe('snmp notifications to snmptrapd', () => {
  let dir: string;
  let trapd: ChildProcess;
  let output = '';
  let agent: BootedAgent;

  const waitFor = async (text: string): Promise<string> => {
    for (let i = 0; i < 100; i++) {
      const at = output.indexOf(text);
      if (at >= 0) return output.slice(Math.max(0, output.lastIndexOf('\n', at - 200)), at + 400);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`snmptrapd did not log '${text}'; it logged:\n${output}`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-snmptrapd-'));
    await mkdir(join(dir, 'persist'));
    const trapPort = await freeUdpPort();
    const informPort = await freeUdpPort();
    await writeFile(
      join(dir, 'snmptrapd.conf'),
      [
        `createUser -e 0x${ENGINE_ID} trapper SHA-256 trap-auth-pass AES trap-priv-pass`,
        'createUser informer SHA-512 inform-auth-pass AES-256 inform-priv-pass',
        'authUser log trapper priv',
        'authUser log informer priv',
        '',
      ].join('\n'),
    );
    trapd = spawn(
      'snmptrapd',
      [
        '-f',
        '-Lo',
        '-On',
        '-C',
        '-c',
        join(dir, 'snmptrapd.conf'),
        '-p',
        join(dir, 'pid'),
        `udp:127.0.0.1:${trapPort}`,
        `udp:127.0.0.1:${informPort}`,
      ],
      {
        env: { PATH: process.env.PATH ?? '', MIBS: '', SNMP_PERSISTENT_DIR: join(dir, 'persist'), HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    trapd.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    trapd.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await waitFor('NET-SNMP version');
    agent = await bootAgent({
      plugins: [snmp, events],
      sections: {
        snmp: {
          port: await freeUdpPort(),
          engineId: ENGINE_ID,
          managers: [
            { name: 'traps', address: '127.0.0.1', port: trapPort, user: TRAP_USER },
            { name: 'informs', address: '127.0.0.1', port: informPort, inform: true, user: INFORM_USER },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stopPeer(trapd);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a power state change as vpmdHostPowerChange to both managers', async () => {
    await agent.json(['test', 'emit', 'power', 'suspended']);
    const seen = await waitFor('.1.3.6.1.4.1.99999.0.2');
    expect(seen).toContain('.1.3.6.1.4.1.99999.1.1.2.0 = INTEGER: 3');
    // Once as a trap, once as an acknowledged inform.
    for (let i = 0; i < 50 && output.split('.1.3.6.1.4.1.99999.0.2').length < 3; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(output.split('OID: .1.3.6.1.4.1.99999.0.2').length - 1).toBe(2);
  });

  it('sends SEL entries and threshold crossings with their objects', async () => {
    await agent.json(['test', 'emit', 'sel', 'PSU 2 lost input']);
    const sel = await waitFor('.1.3.6.1.4.1.99999.0.3');
    expect(sel).toMatch(/\.1\.3\.6\.1\.4\.1\.99999\.1\.4\.6\.0 = STRING: "PSU 2 lost input"/);
    expect(sel).toContain('.1.3.6.1.4.1.99999.1.4.5.0 = INTEGER: 3');
    await agent.json(['test', 'emit', 'threshold', 'host/thermal/x86_pkg_temp']);
    // The agent's own threshold crossings (RAPL power) send the same trap: wait for this one.
    const t = await waitFor('STRING: "host/thermal/x86_pkg_temp"');
    expect(t).toContain('OID: .1.3.6.1.4.1.99999.0.1');
    expect(t).toContain('.1.3.6.1.4.1.99999.1.4.2.0 = INTEGER: 3');
  });
});
