/** Channel limits (64 per VM, hundreds per host) and the TIME policy. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import { encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, Policy, REQUEST_SIZE } from '../../../plugins/virtio-channels/protocol/packet-layout.js';
import { QemuSocket } from './support/qemu-socket.js';
import { cpufreq, eventually, settles } from './support/sim-files.js';

let dir: string;
let agent: BootedAgent;
const sockets: QemuSocket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-lim-'));
  agent = await bootAgent({
    plugins: [plugin],
    sections: {
      'virtio-channels': {
        dir,
        libvirt: false,
        maxChannels: 200,
        reconnect: { minMs: 20, maxMs: 200 },
        policyInterval: 0.2,
        vms: [
          { name: 'big', pins: [1] },
          { name: 'timed', pins: [4, 5] },
          { name: 'pair', pins: [6, 6] },
        ],
      },
    },
  });
});
afterAll(async () => {
  for (const s of sockets) await s.close().catch(() => undefined);
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('channel limits', () => {
  it('connects 64 channels of one VM and refuses a 65th', async () => {
    for (let n = 0; n < 64; n++) sockets.push(await QemuSocket.listen(join(dir, `big.${n}`)));
    const r = await agent.run(['add_channels', 'big', 'all']);
    expect(r.type === 'result' && r.human).toBe("Added 64 channels for VM 'big'");
    await Promise.all(sockets.map((s) => s.connected()));
    await eventually(async () => {
      const vm = await agent.json<{ channels: Array<{ status: string }> }>(['show_vm', 'big']);
      return vm.channels.length === 64 && vm.channels.every((c) => c.status === 'CONNECTED');
    }, 'all 64 channels CONNECTED');
    const more = await agent.run(['add_channels', 'big', '64']);
    expect(more.type === 'error' && more.error.code).toBe('E_VC_CHANNEL_LIMIT');
    expect(more.type === 'error' && more.error.message).toMatch(/at most 64 per VM/);
  });

  it('refuses channels beyond the host limit and adds none of them', async () => {
    // The other tests' VMs hold channels too (in any order): fill the host up to one free slot.
    const channelsOf = async (vm: string): Promise<number> =>
      (await agent.json<{ channels: unknown[] }>(['show_vm', vm])).channels.length;
    let used = 0;
    for (const vm of ['big', 'timed', 'pair']) used += await channelsOf(vm);
    const fillers: string[] = [];
    for (let left = 200 - used - 1; left > 0; left -= 64) {
      const vm = `h${fillers.length}`;
      fillers.push(vm);
      await agent.run(['add_vm', vm]);
      expect((await agent.run(['add_channels', vm, `0-${Math.min(64, left) - 1}`])).type).toBe('result');
    }
    await agent.run(['add_vm', 'over']);
    const over = await agent.run(['add_channels', 'over', '0-9']);
    expect(over.type === 'error' && over.error.message).toMatch(/more than 200 channels/);
    expect(await channelsOf('over')).toBe(0);
    for (const vm of [...fillers, 'over']) await agent.run(['rm_vm', vm]);
  });
});

describe('TIME policy', () => {
  it('runs the busy hours at the maximum and the quiet hours at the minimum', async () => {
    const s = await QemuSocket.listen(join(dir, 'timed.0'));
    sockets.push(s);
    await agent.run(['add_channels', 'timed', '0']);
    await s.connected();
    const now = new Date().getHours();
    const hours = [now, (now + 1) % 24];
    // Quiet now: vCPU 1's pCPU (5) goes to the minimum; the unused entries are -1, not hour 0.
    const fill = (list: number[]): number[] => [...list, ...Array.from({ length: 24 - list.length }, () => -1)];
    s.send(
      encodeRequest({
        command: Command.PKT_POLICY,
        policyToUse: Policy.TIME,
        vcpuToControl: [1],
        numVcpu: 1,
        busyHours: fill([]),
        quietHours: fill(hours),
      }),
    );
    expect((await s.read(REQUEST_SIZE)).readUInt32LE(12)).toBe(1);
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 5, 'scaling_setspeed')) === '1200000',
      'pCPU 5 at the minimum',
    );
    s.send(
      encodeRequest({
        command: Command.PKT_POLICY,
        policyToUse: Policy.TIME,
        vcpuToControl: [1],
        numVcpu: 1,
        busyHours: fill(hours),
        quietHours: fill([]),
      }),
    );
    expect((await s.read(REQUEST_SIZE)).readUInt32LE(12)).toBe(1);
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 5, 'scaling_setspeed')) === '3800000',
      'pCPU 5 at the maximum',
    );
    // Removing the policy gives the core back.
    s.send(encodeRequest({ command: Command.PKT_POLICY_REMOVE }));
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 5, 'scaling_governor')) === 'schedutil',
      'pCPU 5 restored',
    );
    expect(await s.pending()).toBe(0);
  });
});

describe('two vCPUs of one VM on one pCPU', () => {
  it('keeps the pCPU at the nominal maximum until both vCPUs ask for less', async () => {
    const s = await QemuSocket.listen(join(dir, 'pair.0'));
    sockets.push(s);
    await agent.run(['add_channels', 'pair', '0']);
    await s.connected();
    const min = (vcpu: number): Buffer =>
      encodeRequest({ resourceId: BigInt(vcpu), unit: 4, command: Command.CPU_POWER });
    s.send(min(0));
    expect((await s.read(REQUEST_SIZE)).readUInt32LE(12)).toBe(1);
    await settles(agent.hostRoot, 6, 'scaling_governor', 'userspace');
    await settles(agent.hostRoot, 6, 'scaling_setspeed', '3800000');
    s.send(min(1));
    expect((await s.read(REQUEST_SIZE)).readUInt32LE(12)).toBe(1);
    await settles(agent.hostRoot, 6, 'scaling_setspeed', '1200000');
  });
});
