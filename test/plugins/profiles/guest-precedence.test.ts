/**
 * Profiles and guest requests together: a real DPDK guest (librte_power, KVM_VM) and the vpmd
 * JSON FIFO ask for frequencies on pCPUs whose pool runs a profile; the pCPUs never leave the
 * profile's bounds, the reply says when a request was clamped and by which claim, and a profile
 * change re-clamps what the guest asked for.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import channels from '../../../plugins/virtio-channels/index.js';
import profiles from '../../../plugins/profiles/index.js';
import { buildC } from '../virtio-channels/support/build-c.js';
import { runDpdkGuest } from '../virtio-channels/support/dpdk-guest.js';
import { cpufreq, eventually, settles } from '../virtio-channels/support/sim-files.js';

let dir: string;
let agent: BootedAgent;

beforeAll(async () => {
  await buildC('dpdk-guest');
  dir = await mkdtemp(join(tmpdir(), 'vpmd-profiles-guest-'));
  agent = await bootAgent({
    plugins: [channels, profiles],
    sections: {
      'virtio-channels': {
        dir,
        libvirt: false,
        reconnect: { minMs: 20, maxMs: 100 },
        vms: [{ name: 'vm1', pins: [2, 3], channels: '0' }],
        fifos: [2],
        json: 'vpmd',
      },
      profiles: {
        profiles: {
          window: { minKHz: 2_000_000, maxKHz: 3_000_000, resumeLatencyUs: 10 },
          open: { resumeLatencyUs: 10 },
        },
        pools: [{ name: 'realtime', cpus: '2-3', profile: 'window' }],
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function khz(policy: number): Promise<number> {
  return Number(await cpufreq(agent.hostRoot, policy, 'scaling_setspeed'));
}

// One guest's story on one agent, step by step: the block keeps its order under `--sequence.shuffle`.
describe('profile bounds and guest requests', { shuffle: false }, () => {
  it('a DPDK guest asking for max and min stays inside the profile window', async () => {
    const up = await runDpdkGuest(dir, 'vm1', 0, ['init', 'max', 'recv-ack']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.lines).toEqual(['init rc=0', 'max rc=1', 'ack cmd=1 unit=3 resource=0']);
    await settles(agent.hostRoot, 2, 'scaling_governor', 'userspace');
    await eventually(async () => (await khz(2)) === 3_000_000, 'setspeed at the profile ceiling');
    const down = await runDpdkGuest(dir, 'vm1', 0, ['init', 'min', 'down', 'recv-ack', 'recv-ack']);
    expect(down.code, down.stderr).toBe(0);
    await eventually(async () => (await khz(2)) === 2_000_000, 'setspeed at the profile floor');
    const reasons = await agent.json<Array<{ reason: string; clamped: number }>>(['show_clamp_reasons']);
    expect(
      reasons.find((r) => r.reason === 'profiles:window: profile window of pools realtime')?.clamped,
    ).toBeGreaterThan(0);
  }, 60_000);

  it('the JSON reply says a request was clamped and by which claim', async () => {
    const fifo = join(dir, 'fifo2');
    await writeFile(fifo, '{"instruction":{"name":"vm1","command":"power","unit":"SCALE_MAX","resource_id":2}}');
    let line: { ok: boolean; clamped?: boolean; clampedBy?: string } | undefined;
    await eventually(async () => {
      const text = await readFile(`${fifo}.reply`, 'utf8').catch(() => '');
      const last = text.trim().split('\n').filter(Boolean).pop();
      line = last === undefined ? undefined : (JSON.parse(last) as typeof line);
      return line !== undefined;
    }, 'a reply line');
    expect(line).toMatchObject({
      ok: true,
      clamped: true,
      clampedBy: 'profiles:window: profile window of pools realtime',
    });
    await eventually(async () => (await khz(2)) === 3_000_000, 'setspeed at the ceiling after SCALE_MAX');
  });

  it('a profile change re-clamps what the guest asked for, and never leaves the new bounds', async () => {
    await agent.json(['profile', 'apply', 'realtime', 'open']);
    // The guest's last ask was SCALE_MAX (nominal 3.8 GHz without turbo): no ceiling any more.
    await eventually(async () => (await khz(2)) === 3_800_000, 'setspeed at the guest request once the window is gone');
    await agent.json(['profile', 'apply', 'realtime', 'window']);
    await eventually(async () => (await khz(2)) === 3_000_000, 'setspeed back inside the window');
    const run = await runDpdkGuest(dir, 'vm1', 0, ['init', 'max', 'min', 'max', 'recv-ack', 'recv-ack', 'recv-ack']);
    expect(run.code, run.stderr).toBe(0);
    await eventually(async () => (await khz(2)) === 3_000_000, 'setspeed at the ceiling');
    for (const policy of [2, 3]) {
      const f = await khz(policy).catch(() => NaN);
      if (!Number.isNaN(f) && (await cpufreq(agent.hostRoot, policy, 'scaling_governor')) === 'userspace') {
        expect(f).toBeGreaterThanOrEqual(2_000_000);
        expect(f).toBeLessThanOrEqual(3_000_000);
      }
    }
  }, 60_000);

  it('the pool resume-latency bound is set, and reset puts it back (a second reset writes nothing)', async () => {
    const qos = join(agent.hostRoot, 'sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us');
    expect((await readFile(qos, 'utf8')).trim()).toBe('10');
    const r = await agent.json<{ written: number; failures: unknown[] }>(['profile', 'reset']);
    expect(r.failures).toEqual([]);
    expect((await readFile(qos, 'utf8')).trim()).toBe('0');
    const again = await agent.json<{ written: number }>(['profile', 'reset']);
    expect(again.written).toBe(0);
  });
});
