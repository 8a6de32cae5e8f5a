/**
 * The plugin as operators run it: vpmctl profile list|show|apply|reset through the control
 * socket, the agent's stop restoring what was found, the demo's setup, and a profile that does
 * not fit the host degrading the plugin instead of the agent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import profiles from '../../../plugins/profiles/index.js';
import { DEMO_PROFILES } from '../../../plugins/profiles/demo.js';

const CPU = 'sys/devices/system/cpu';

// One agent's story (the demo state first, reset last): the block keeps its order under shuffle.
describe('vpmctl profile', { shuffle: false }, () => {
  let agent: BootedAgent;
  const file = async (p: string): Promise<string> => (await readFile(join(agent.hostRoot, p), 'utf8')).trim();

  beforeAll(async () => {
    agent = await bootAgent({ plugins: [profiles], sections: { profiles: { ...DEMO_PROFILES, schedules: [] } } });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('runs the demo profiles: a latency-critical and a bulk pool', async () => {
    const status = (await agent.status()).find((p) => p.name === 'profiles');
    expect(status?.health?.status).toBe('ok');
    expect(await file(`${CPU}/cpu2/power/pm_qos_resume_latency_us`)).toBe('10');
    expect(await file(`${CPU}/cpufreq/policy4/scaling_governor`)).toBe('ondemand');
  });

  it('lists profiles and pools, human and JSON', async () => {
    const r = await agent.run(['profile', 'list']);
    expect(r.type).toBe('result');
    const human = r.type === 'result' ? (r.human ?? '') : '';
    expect(human).toMatch(/latency-critical\s+realtime\s+freq=2000000\.\.-kHz turbo=on resume<=10us/);
    expect(human).toMatch(/bulk\s+4-7\s+cpus 4-7\s+bulk/);
    const json = await agent.json<{ pools: Array<{ name: string; cpus: number[]; profile?: string }> }>([
      'profile',
      'list',
    ]);
    expect(json.pools).toEqual([
      expect.objectContaining({ name: 'realtime', cpus: [2, 3], profile: 'latency-critical' }),
      expect.objectContaining({ name: 'bulk', cpus: [4, 5, 6, 7], profile: 'bulk' }),
    ]);
  });

  it('shows a profile, and the managed files with their found values', async () => {
    const one = await agent.run(['profile', 'show', 'bulk']);
    expect(one.type === 'result' && one.human).toMatch(/Governor:\s+ondemand/);
    const managed = await agent.json<{ managed: Array<{ what: string; value: string; found: string | null }> }>([
      'profile',
      'show',
    ]);
    expect(managed.managed).toContainEqual(
      expect.objectContaining({ what: 'resume latency of cpu2', value: '10', found: '0' }),
    );
  });

  it('refuses an unknown pool or profile, naming the known ones', async () => {
    const r = await agent.run(['profile', 'apply', 'nope', 'bulk']);
    expect(r.type === 'error' && r.error.code).toBe('E_PROFILES_NOT_FOUND');
    expect(r.type === 'error' && r.error.message).toMatch(/pools: realtime, bulk/);
  });

  it('applies and resets, writing nothing the second time', async () => {
    const a = await agent.json<{ written: number }>(['profile', 'apply', 'bulk', 'night']);
    expect(a.written).toBeGreaterThan(0);
    expect(await file(`${CPU}/cpufreq/policy4/scaling_governor`)).toBe('powersave');
    expect((await agent.json<{ written: number }>(['profile', 'apply', 'bulk', 'night'])).written).toBe(0);
    const r = await agent.run(['profile', 'reset']);
    expect(r.type === 'result' && r.human).toMatch(/^Restored the values found: \d+ file\(s\) written/);
    expect(await file(`${CPU}/cpufreq/policy4/scaling_governor`)).toBe('schedutil');
    expect(await file(`${CPU}/cpu2/power/pm_qos_resume_latency_us`)).toBe('0');
  });
});

describe('a profile that does not fit the host', () => {
  it('degrades the plugin with the allowed range and changes nothing; stop restores what an apply set', async () => {
    const agent = await bootAgent({
      plugins: [profiles],
      profile: 'amd-pstate-epp-64',
      sections: {
        profiles: {
          profiles: { slow: { uncore: { maxKHz: 1_200_000 } }, lat: { resumeLatencyUs: 0 } },
          pools: [{ name: 'p', cpus: '0-3', profile: 'slow' }],
        },
      },
    });
    try {
      const status = (await agent.status()).find((p) => p.name === 'profiles');
      expect(status?.health?.status).toBe('degraded');
      expect(status?.health?.detail).toMatch(/no intel_uncore_frequency domain/);
      await agent.json(['profile', 'apply', 'p', 'lat']);
      expect((await readFile(join(agent.hostRoot, `${CPU}/cpu1/power/pm_qos_resume_latency_us`), 'utf8')).trim()).toBe(
        'n/a',
      );
      await agent.agent.stop();
      expect((await readFile(join(agent.hostRoot, `${CPU}/cpu1/power/pm_qos_resume_latency_us`), 'utf8')).trim()).toBe(
        '0',
      );
    } finally {
      await agent.stop();
    }
  });
});
