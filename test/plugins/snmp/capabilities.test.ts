/**
 * MIB rows built from the optional capabilities: VPMD-MIB guest channel statistics and
 * per-pCPU requested/applied frequency and policy bounds (guest-channels), and the BMCs we poll
 * as ENTITY-MIB chassis (bmcs). Without the providers these rows are absent (see mibs.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import providers, { GUEST_STATS } from './contract-providers.js';
import { column, freeUdpPort, parseWalk, tool, v3 } from './helpers.js';

describe('snmp MIB rows from optional capabilities', () => {
  let agent: BootedAgent;
  let target: string;
  const walk = async (oid: string): Promise<ReturnType<typeof parseWalk>> =>
    parseWalk((await tool('snmpbulkwalk', [...v3('cap', 'cap-auth-pass', 'cap-priv-pass'), target, oid])).stdout);

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    agent = await bootAgent({ plugins: [snmp, providers], sections: { snmp: { port } } });
    await agent.json(['snmp', 'user', 'add', 'cap'], ['cap-auth-pass', 'cap-priv-pass']);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('serves vpmdGuestTable in VM name order with every counter, vpmdGuestDenied included', async () => {
    const w = await walk('1.3.6.1.4.1.99999.1.3.1.1');
    const sorted = [...GUEST_STATS].sort((a, b) => a.vm.localeCompare(b.vm));
    sorted.forEach((s, i) => {
      const row = (c: number): string | undefined => w.get(`1.3.6.1.4.1.99999.1.3.1.1.${c}.${i + 1}`)?.value;
      expect([row(2), row(3), row(4), row(5), row(6), row(7), row(8), row(9)]).toEqual([
        ...[s.vm, s.channels, s.connected, s.accepted, s.clamped, s.limited, s.refused].map(String),
        // vpmdGuestDenied: empty for a provider that does not count denials, not a false 0.
        s.denied === undefined ? undefined : String(s.denied),
      ]);
    });
    expect(w.get('1.3.6.1.4.1.99999.1.3.1.1.5.1')?.type).toBe('Counter32');
    // dpdk-1 sorts first: its 3 denied of 7 refused.
    expect(w.get('1.3.6.1.4.1.99999.1.3.1.1.9.1')).toMatchObject({ type: 'Counter32', value: '3' });
    expect(w.has('1.3.6.1.4.1.99999.1.3.1.1.9.2')).toBe(false);
  });

  it('serves requested and applied frequency and the policy bounds per pCPU', async () => {
    const w = await walk('1.3.6.1.4.1.99999.1.2.1.1');
    const c = (col: number, cpu: number): string | undefined => w.get(`1.3.6.1.4.1.99999.1.2.1.1.${col}.${cpu}`)?.value;
    expect([c(3, 2), c(4, 2), c(5, 2), c(6, 2), c(7, 2)]).toEqual([
      '2400000',
      '2200000',
      '1000000',
      '2200000',
      'dpdk-1,web-2',
    ]);
    // A pCPU no guest asked for: zeros, not invented values.
    expect([c(3, 0), c(4, 0), c(5, 0), c(6, 0)]).toEqual(['0', '0', '0', '0']);
  });

  it('lists each polled BMC as a chassis in entPhysicalTable', async () => {
    const w = await walk('1.3.6.1.2.1.47.1.1.1.1');
    const names = column(w, '1.3.6.1.2.1.47.1.1.1.1', 7);
    const bmc = [...names].find(([, r]) => r.value === 'node7-bmc')?.[0];
    expect(bmc).toBeDefined();
    expect(column(w, '1.3.6.1.2.1.47.1.1.1.1', 5).get(bmc as string)?.value).toBe('3');
    expect(column(w, '1.3.6.1.2.1.47.1.1.1.1', 2).get(bmc as string)?.value).toBe('BMC node7-bmc (10.0.0.7:623)');
  });
});
