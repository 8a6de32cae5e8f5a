/**
 * An unmodified DPDK guest against the agent: a C program linked with Debian's librte_power in
 * its KVM_VM environment (rte_power_init, rte_power_freq_up/down/max/min, turbo, the guest
 * channel query API), behind a socat pty in a private mount namespace. The simulated host's
 * cpufreq files must change as DPDK's own host would change them, and replies must reach the guest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import { buildC } from './support/build-c.js';
import { runDpdkGuest } from './support/dpdk-guest.js';
import { cpufreq, eventually, settles } from './support/sim-files.js';

let dir: string;
let agent: BootedAgent;

beforeAll(async () => {
  await buildC('dpdk-guest');
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-dpdk-'));
  agent = await bootAgent({
    plugins: [plugin],
    sections: {
      'virtio-channels': {
        dir,
        libvirt: false,
        reconnect: { minMs: 20, maxMs: 100 },
        vms: [{ name: 'vm1', pins: [2, 3], channels: '0' }],
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

// One DPDK guest's life, in order (init, scaling, turbo, queries, policy, removal): each step
// starts where the guest left its core, so this block keeps its order under `--sequence.shuffle`.
describe('a real DPDK guest (librte_power, PM_ENV_KVM_VM)', { shuffle: false }, () => {
  it('scales its core as DPDK does and reads every ACK', async () => {
    const run = await runDpdkGuest(dir, 'vm1', 0, ['init', 'max', 'down', 'down', 'recv-ack', 'recv-ack', 'recv-ack']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines).toEqual([
      'init rc=0',
      'max rc=1',
      'down rc=1',
      'down rc=1',
      'ack cmd=1 unit=3 resource=0',
      'ack cmd=1 unit=2 resource=0',
      'ack cmd=1 unit=2 resource=0',
    ]);
    await settles(agent.hostRoot, 2, 'scaling_governor', 'userspace');
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3400000');
  });

  it('uses the turbo frequency only after enabling turbo, as DPDK’s acpi-cpufreq backend', async () => {
    const run = await runDpdkGuest(dir, 'vm1', 0, [
      'init',
      'max',
      'turbo-on',
      'max',
      'recv-ack',
      'recv-ack',
      'recv-ack',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.slice(4)).toEqual([
      'ack cmd=1 unit=3 resource=0',
      'ack cmd=1 unit=5 resource=0',
      'ack cmd=1 unit=3 resource=0',
    ]);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3801000');
  });

  it('answers the guest’s frequency and capability queries once enabled', async () => {
    await agent.run(['set_query', 'vm1', 'enable']);
    const run = await runDpdkGuest(dir, 'vm1', 0, [
      'init',
      'turbo-off',
      'min',
      'recv-ack',
      'recv-ack',
      'query-freq-list:vm1',
      'query-caps-list:vm1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    // vCPU 0's core is at the guest's minimum; vCPU 1's core (never asked about) runs as schedutil decides.
    expect(run.lines[5]).toMatch(/^freqs cmd=3 num=2 list=1200000,[1-9]\d{6},0,0,0,0,0,0$/);
    expect(run.lines[6]).toBe('caps cmd=4 num=2 turbo=1,1 priority=0,0');
  });

  it('applies a WORKLOAD policy sent through the guest channel API', async () => {
    const run = await runDpdkGuest(dir, 'vm1', 0, ['init', 'workload:vm1:1', 'recv-ack']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines).toEqual(['init rc=0', 'policy rc=0', 'ack cmd=1 unit=0 resource=0']);
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 2, 'scaling_setspeed')) === '2400000',
      'the MEDIUM workload frequency',
    );
  });

  it('gives the core back when the VM is removed', async () => {
    await agent.run(['rm_vm', 'vm1']);
    await settles(agent.hostRoot, 2, 'scaling_governor', 'schedutil');
  });
});
