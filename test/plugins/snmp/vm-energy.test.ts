/**
 * VPMD-MIB vpmdVmEnergyTable from energy@1 (the stand-in provider), read with the real net-snmp
 * tools and the shipped MIB loaded: snmpwalk names every column and shows the UUID index in its
 * dashed form, snmptable lays the rows out, and the RAPL counter grows between reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, pollUntil, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { uuidIndex } from '../../../plugins/snmp/mib/mibs/vm-energy.js';
import { StandInEnergy, energyStandInPlugin, standInVms } from '../../support/energy-stand-in.js';
import { freeUdpPort, tool, v3, withVpmdMib } from './helpers.js';

const WEB1 = '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01';
const ENTRY = '1.3.6.1.4.1.99999.1.5.1.1';

describe('VPMD-MIB per-VM energy table', () => {
  let agent: BootedAgent;
  let target: string;
  const energy = new StandInEnergy(standInVms());
  const mibArgs = (): string[] => withVpmdMib(v3('en', 'en-auth-pass', 'en-priv-pass'));

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    agent = await bootAgent({
      plugins: [snmp, energyStandInPlugin(energy)],
      sections: { snmp: { port } },
    });
    await agent.json(['snmp', 'user', 'add', 'en'], ['en-auth-pass', 'en-priv-pass']);
  });
  afterAll(async () => agent?.stop());

  it('indexes rows by the 16 octets of the domain UUID', () => {
    expect(uuidIndex(WEB1)).toEqual([
      0x6f, 0x1c, 0x9a, 0x8e, 0x27, 0xd4, 0x4b, 0x0e, 0x9d, 0x55, 0x3a, 0x1c, 0x2b, 0x7e, 0x9f, 0x01,
    ]);
    expect(uuidIndex('not-a-uuid')).toBeUndefined();
  });

  it('snmpwalk with the MIB names each column; the index is the UUID octets', async () => {
    // -Ob: the index as the 16 octets (net-snmp drops leading zeros when it applies the
    // DISPLAY-HINT to an index with -OX, so the numeric form is the exact one).
    const r = await tool('snmpwalk', [...mibArgs(), '-Ob', target, 'VPMD-MIB::vpmdVmEnergyTable']);
    expect(r.stderr).toBe('');
    const idx = (uuidIndex(WEB1) as number[]).join('.');
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyName.${idx} = STRING: web-1`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyRunning.${idx} = INTEGER: true(1)`);
    expect(r.stdout).toMatch(new RegExp(`VPMD-MIB::vpmdVmEnergyJoules\\.${idx} = Counter64: \\d+ joules`));
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyPower.${idx} = Gauge32: 12000 milliwatts`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyModel.${idx} = STRING: rapl-cputime-freq-v1`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyWallPower.${idx} = Gauge32: 15000 milliwatts`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyWallModel.${idx} = STRING: wall-scaled-v1 ipmi:bmc1/dcmi`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyNovaProject.${idx} = STRING: b2d0c1f4e5a6478990abcdef12345678`);
    // db-1 has no wall figure: its wall columns are absent, not zero.
    const db = (uuidIndex('0a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d') as number[]).join('.');
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyName.${db} = STRING: db-1`);
    expect(r.stdout).not.toContain(`vpmdVmEnergyWallPower.${db} `);
    const batch = (uuidIndex('ffeeddcc-bbaa-4998-8776-655443322110') as number[]).join('.');
    expect(r.stdout).toContain(`VPMD-MIB::vpmdVmEnergyRunning.${batch} = INTEGER: false(2)`);
  });

  it('snmptable lays out one row per VM', async () => {
    const r = await tool('snmptable', [...mibArgs(), '-Cf', '|', '-Ci', '-OX', target, 'VPMD-MIB::vpmdVmEnergyTable']);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    const header = lines.find((l) => l.startsWith('index|'));
    expect(header?.split('|').slice(0, 5)).toEqual([
      'index',
      'vpmdVmEnergyName',
      'vpmdVmEnergyRunning',
      'vpmdVmEnergyJoules',
      'vpmdVmEnergyPower',
    ]);
    const web = lines.find((l) => l.includes('|web-1|'));
    // -OX shows the index through the VpmdUuid DISPLAY-HINT (web-1's UUID has no leading zeros).
    expect(web?.split('|').slice(0, 4)).toEqual([`[${WEB1}]`, 'web-1', 'true', expect.stringMatching(/^\d+ joules$/)]);
    expect(web?.split('|').slice(4)).toEqual([
      '12000 milliwatts',
      'rapl-cputime-freq-v1',
      expect.stringMatching(/^\d+ joules$/),
      '15000 milliwatts',
      'wall-scaled-v1 ipmi:bmc1/dcmi',
      WEB1,
      'b2d0c1f4e5a6478990abcdef12345678',
    ]);
    expect(lines.filter((l) => l.startsWith('['))).toHaveLength(3);
  });

  it('the RAPL counter grows between reads', async () => {
    const oid = `${ENTRY}.4.${(uuidIndex(WEB1) as number[]).join('.')}`;
    const read = async (): Promise<bigint> => {
      const r = await tool('snmpget', [...v3('en', 'en-auth-pass', 'en-priv-pass'), '-Oqv', target, oid]);
      return BigInt(r.stdout.trim());
    };
    const first = await read();
    await pollUntil({
      peer: 'vpmd',
      what: 'vpmdVmEnergyJoules of web-1 to grow',
      timeoutMs: 30_000,
      intervalMs: 250,
      probe: async () => ((await read()) > first ? true : undefined),
    });
  });
});
