/** VPMD-MIB's power-profile subtree walked with net-snmp and names from the shipped MIB file. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import profiles from '../../../plugins/profiles/index.js';
import { freeUdpPort, tool, v3, withVpmdMib } from './helpers.js';

const AUTH = 'walk-auth-pass';
const PRIV = 'walk-priv-pass';

// The walk before the apply, then after it: the block keeps its order under `--sequence.shuffle`.
describe('VPMD-MIB profiles', { shuffle: false }, () => {
  let agent: BootedAgent;
  let target: string;
  const walk = async (): Promise<string> => {
    const r = await tool('snmpbulkwalk', [...withVpmdMib(v3('walker', AUTH, PRIV)), target, 'VPMD-MIB::vpmdProfiles']);
    expect(r.stderr).toBe('');
    return r.stdout;
  };

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    agent = await bootAgent({
      plugins: [snmp, profiles],
      sections: {
        snmp: { port, cacheSeconds: 0 },
        profiles: {
          profiles: {
            lc: { minKHz: 2_000_000, turbo: true, resumeLatencyUs: 10 },
            bulk: { governor: 'ondemand', maxKHz: 2_800_000, turbo: false, uncore: { maxKHz: 1_600_000 } },
          },
          pools: [
            { name: 'realtime', cpus: '2-3', profile: 'lc' },
            { name: 'batch', cpus: '4-7', profile: 'bulk' },
          ],
          powerModes: { BalancedPerformance: { realtime: 'lc', batch: 'bulk' } },
        },
      },
    });
    await agent.json(['snmp', 'user', 'add', 'walker'], [AUTH, PRIV]);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('serves the power mode and one row per profile', async () => {
    const out = await walk();
    expect(out).toContain('VPMD-MIB::vpmdPowerMode.0 = STRING: BalancedPerformance');
    expect(out).toContain('VPMD-MIB::vpmdProfileName.1 = STRING: lc');
    expect(out).toContain('VPMD-MIB::vpmdProfilePools.1 = STRING: realtime');
    expect(out).toContain('VPMD-MIB::vpmdProfileMinFreq.1 = Gauge32: 2000000 kHz');
    expect(out).toContain('VPMD-MIB::vpmdProfileTurbo.1 = INTEGER: on(1)');
    expect(out).toContain('VPMD-MIB::vpmdProfileResumeLatency.1 = INTEGER: 10 microseconds');
    expect(out).toContain('VPMD-MIB::vpmdProfileGovernor.2 = STRING: ondemand');
    expect(out).toContain('VPMD-MIB::vpmdProfileTurbo.2 = INTEGER: off(2)');
    expect(out).toContain('VPMD-MIB::vpmdProfileResumeLatency.2 = INTEGER: -1 microseconds');
    expect(out).toContain('VPMD-MIB::vpmdProfileUncoreMaxFreq.2 = Gauge32: 1600000 kHz');
  });

  it('follows an apply: the mode becomes OEM and the pools move', async () => {
    await agent.json(['profile', 'apply', 'realtime', 'bulk']);
    const out = await walk();
    expect(out).toContain('VPMD-MIB::vpmdPowerMode.0 = STRING: OEM');
    expect(out).toContain('VPMD-MIB::vpmdProfilePools.2 = STRING: realtime,batch');
  });
});
