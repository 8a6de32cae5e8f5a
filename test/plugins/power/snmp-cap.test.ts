/**
 * The host cap through VPMD-MIB with the real net-snmp tools: a read-write authPriv user sets
 * vpmdPowerCapWatts (the controller applies it to RAPL and audits it), a read-only user and an
 * out-of-range value are refused and change nothing, and the names come from the shipped MIB.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/boot-agent.js';
import power from '../../../plugins/power/index.js';
import snmp from '../../../plugins/snmp/index.js';
import { freeUdpPort, tool, v3, withVpmdMib } from '../snmp/helpers.js';

const CAP = '1.3.6.1.4.1.99999.1.6.1.0';
let agent: BootedAgent;
let target: string;

const user = (name: string, access: 'ro' | 'rw'): Record<string, unknown> => ({
  name,
  auth: 'sha256',
  priv: 'aes',
  access,
  authPassphrase: `${name}-auth-pass`,
  privPassphrase: `${name}-priv-pass`,
});
const as = (name: string): string[] => v3(name, `${name}-auth-pass`, `${name}-priv-pass`);

beforeAll(async () => {
  const port = await freeUdpPort();
  target = `127.0.0.1:${port}`;
  agent = await bootAgent({
    plugins: [snmp, power],
    sections: { snmp: { port, users: [user('ops', 'rw'), user('viewer', 'ro')] }, power: { cap: { watts: 60 } } },
  });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
});

async function pl1(): Promise<string> {
  return (
    await readFile(join(agent.hostRoot, 'sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw'), 'utf8')
  ).trim();
}

describe('VPMD-MIB vpmdPower', () => {
  it('lets a read-write authPriv user set the cap, and refuses the others', async () => {
    const names = await tool('snmpwalk', [...withVpmdMib(as('viewer')), target, 'VPMD-MIB::vpmdPower']);
    expect(names.stdout).toContain('VPMD-MIB::vpmdPowerCapWatts.0 = Gauge32: 60 W');
    expect(names.stdout).toMatch(/VPMD-MIB::vpmdPowerCapHealth\.0 = STRING: "?ok/);
    const denied = await tool('snmpset', [...as('viewer'), target, CAP, 'u', '40']);
    expect(denied.stderr).toMatch(/noAccess/);
    const wrong = await tool('snmpset', [...as('ops'), target, CAP, 'u', '5000']);
    expect(wrong.stderr).toMatch(/wrongValue/);
    expect(await pl1()).toBe('60000000');
    const set = await tool('snmpset', [...as('ops'), target, CAP, 'u', '40']);
    expect(set.stderr).toBe('');
    expect(await pl1()).toBe('40000000');
    expect(await agent.json(['power', 'cap'])).toMatchObject({ watts: 40 });
    const audit = await agent.json<{ principal: string; action: string; outcome: string }[]>([
      'audit',
      '--limit',
      '30',
    ]);
    expect(audit).toContainEqual(
      expect.objectContaining({ principal: 'ops', action: 'power cap 40 W', outcome: 'ok' }),
    );
    const off = await tool('snmpset', [...as('ops'), target, CAP, 'u', '0']);
    expect(off.stderr).toBe('');
    expect(await agent.json(['power', 'cap'])).toMatchObject({ watts: null, mode: 'Disabled' });
  });
});
