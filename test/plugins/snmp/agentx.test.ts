/**
 * AgentX subagent mode: the plugin registers its subtrees with a private snmpd master over
 * TCP, and managers walking snmpd (with snmpd's own users) see our ENTITY-MIB, ENERGY-OBJECT-MIB
 * and VPMD-MIB objects; SETs through the master are refused (the subagent is read-only).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { freeUdpPort, parseWalk, startSnmpd, tool, v3, stopPeer } from './helpers.js';

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('snmp AgentX subagent under a private snmpd', () => {
  let dir: string;
  let snmpd: ChildProcess;
  let agent: BootedAgent;
  let target: string;
  const creds = (): string[] => v3('master', 'master-auth-1', 'master-priv-1');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-agentx-'));
    const udp = await freeUdpPort();
    const ax = await freeTcpPort();
    target = `127.0.0.1:${udp}`;
    snmpd = await startSnmpd(
      dir,
      [
        `agentAddress udp:127.0.0.1:${udp}`,
        'createUser master SHA-256 master-auth-1 AES master-priv-1',
        'rwuser master priv',
        'master agentx',
        `agentXSocket tcp:127.0.0.1:${ax}`,
      ],
      async () => (await tool('snmpget', [...creds(), target, '1.3.6.1.2.1.1.3.0'])).stdout.includes('Timeticks'),
    );
    agent = await bootAgent({
      plugins: [snmp],
      sections: { snmp: { mode: 'agentx', agentxSocket: `tcp:127.0.0.1:${ax}` } },
    });
    for (let i = 0; i < 100; i++) {
      if ((await agent.json<{ agentx: string }>(['snmp', 'status'])).agentx.startsWith('registered')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await agent?.stop();
    await stopPeer(snmpd);
    await rm(dir, { recursive: true, force: true });
  });

  it('registers with the master and opens no UDP port of its own', async () => {
    const s = await agent.json<{ agentx: string; port: number }>(['snmp', 'status']);
    expect(s.agentx).toMatch(/^registered with tcp:127\.0\.0\.1:\d+$/);
    expect(s.port).toBe(0);
  });

  it('serves our subtrees through snmpd: entities, per-pCPU frequencies, energy objects', async () => {
    const ent = parseWalk(
      (await tool('snmpbulkwalk', [...creds(), '-Cr20', target, '1.3.6.1.2.1.47.1.1.1.1.7'])).stdout,
    );
    expect(ent.get('1.3.6.1.2.1.47.1.1.1.1.7.1000')?.value).toBe('cpu0');
    const metrics = await agent.json<{ id: string }[]>(['telemetry', 'list']);
    const names = [...ent.values()].map((r) => r.value);
    for (const m of metrics) expect(names).toContain(m.id);
    const policies = await agent.json<{ affectedCpus: number[]; cpuinfoMaxKHz: number }[]>(['host', 'cpufreq']);
    const p0 = policies[0] as { affectedCpus: number[]; cpuinfoMaxKHz: number };
    const cpu = (await tool('snmpwalk', [...creds(), target, '1.3.6.1.4.1.99999.1.2.1.1.9'])).stdout;
    expect(parseWalk(cpu).get(`1.3.6.1.4.1.99999.1.2.1.1.9.${p0.affectedCpus[0]}`)?.value).toBe(
      String(p0.cpuinfoMaxKHz),
    );
    const eo = parseWalk(
      (await tool('snmpget', [...creds(), target, '1.3.6.1.2.1.229.1.2.1.9.1', '1.3.6.1.2.1.229.1.2.1.99.1'])).stdout,
    );
    expect(eo.get('1.3.6.1.2.1.229.1.2.1.9.1')?.value).toBe('513');
    expect(eo.get('1.3.6.1.2.1.229.1.2.1.99.1')?.value).toMatch(/No Such Object/);
  });

  it('refuses SETs through the master', async () => {
    const r = await tool('snmpset', [...creds(), target, '1.3.6.1.2.1.47.1.1.1.1.7.1', 's', 'x']);
    expect(r.stderr).toMatch(/notWritable|noAccess|not writable/i);
  });
});
