/**
 * Power profiles on Redfish: ComputerSystem.PowerMode reads the mode the pools run and a PATCH
 * switches the pools' profiles (privilege-checked, refused with the allowed values otherwise);
 * the OEM resource lists pools and profiles.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import profiles from '../../../plugins/profiles/index.js';
import { bootRedfish, type RedfishHarness } from './support.js';

const S = '/redfish/v1/Systems/host';
let h: RedfishHarness;
let admin: string;
let reader: string;

beforeAll(async () => {
  h = await bootRedfish({
    plugins: [profiles],
    extraSections: {
      profiles: {
        profiles: { fast: { governor: 'performance' }, slow: { governor: 'powersave', uncore: { maxKHz: 1_200_000 } } },
        pools: [{ name: 'all', cpus: '4-7', profile: 'fast' }],
        powerModes: { MaximumPerformance: { all: 'fast' }, PowerSaving: { all: 'slow' } },
      },
    },
  });
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  await h.addAccount('reader', 'ReadOnly', 'Reader-pass-1');
  admin = await h.login('admin', 'Admin-pass-1');
  reader = await h.login('reader', 'Reader-pass-1');
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const governor = async (policy: number): Promise<string> =>
  (
    await readFile(
      join(h.agent.hostRoot, 'sys/devices/system/cpu/cpufreq', `policy${policy}`, 'scaling_governor'),
      'utf8',
    )
  ).trim();

// Read, switch, then refuse on one agent: the block keeps its order under `--sequence.shuffle`.
describe('ComputerSystem.PowerMode', { shuffle: false }, () => {
  it('shows the mode the pools run and the configured modes', async () => {
    const r = await h.rf('GET', S, { token: admin });
    expect(r.json.PowerMode).toBe('MaximumPerformance');
    expect(r.json['PowerMode@Redfish.AllowableValues']).toEqual(['MaximumPerformance', 'PowerSaving']);
    expect(r.json.Oem.Vpmd.PowerProfiles).toEqual({ '@odata.id': `${S}/Oem/Vpmd/PowerProfiles` });
  });

  it('a PATCH switches the pools to the mode profiles', async () => {
    const r = await h.rf('PATCH', S, { token: admin, body: { PowerMode: 'PowerSaving' } });
    expect(r.status).toBe(200);
    expect(r.json.PowerMode).toBe('PowerSaving');
    expect(await governor(5)).toBe('powersave');
    const oem = await h.rf('GET', `${S}/Oem/Vpmd/PowerProfiles`, { token: admin });
    expect(oem.json).toMatchObject({ Available: true, PowerMode: 'PowerSaving' });
    expect(oem.json.Pools).toBe('all: CPUs 4-7 (cpus 4-7), profile slow');
    expect(oem.json.Profiles).toMatch(/^slow: governor powersave, uncore -..1200000 kHz$/m);
  });

  it('refuses a mode not configured, and a reader, changing nothing', async () => {
    const bad = await h.rf('PATCH', S, { token: admin, body: { PowerMode: 'BalancedPerformance' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/PropertyValueNotInList/);
    const denied = await h.rf('PATCH', S, { token: reader, body: { PowerMode: 'MaximumPerformance' } });
    expect(denied.status).toBe(403);
    expect(await governor(5)).toBe('powersave');
  });
});
