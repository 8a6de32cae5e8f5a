/**
 * The vCPU→pCPU map comes from domains@1, never from a libvirt client of the plugin's own: with
 * an in-memory domains@1 provider (testkit), add_vm is checked against it, add_channels finds
 * the power channel socket in the domain's channel list, a re-pin reaches the map through the
 * `repinned` event alone (no re-read: the full re-read is hourly here), and set_pcpu writes
 * through domains@1's pinVcpu. The real libvirt-dbus is in libvirt-mapping.test.ts and the
 * real QEMU guest in test/integration/real-vm.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryDomains, bootAgent, inMemoryDomainsPlugin, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import { encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../../plugins/virtio-channels/protocol/packet-layout.js';
import { QemuSocket } from './support/qemu-socket.js';
import { cpufreq, eventually, settles } from './support/sim-files.js';

const UUID = '5a5a5a5a-1111-4222-8333-444455556666';
let dir: string;
let agent: BootedAgent;
let ch: QemuSocket;
const domains = new InMemoryDomains();
let lists = 0;

const power = (vcpu: number, unit: number): Buffer =>
  encodeRequest({ resourceId: BigInt(vcpu), unit, command: Command.CPU_POWER });
async function ask(s: QemuSocket, req: Buffer): Promise<number> {
  s.send(req);
  return (await s.read(REQUEST_SIZE)).readUInt32LE(12);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-dom-'));
  const sock = join(dir, 'elsewhere', 'g1.power.0');
  await mkdir(join(dir, 'elsewhere'));
  const list = domains.list.bind(domains);
  domains.list = () => {
    lists++;
    return list();
  };
  domains.start({
    uuid: UUID,
    name: 'g1',
    vcpus: [{ pins: [2] }, { pins: [3] }],
    channels: [
      { target: 'virtio.serial.port.poweragent.0', path: sock },
      { target: 'org.qemu.guest_agent.0', path: join(dir, 'elsewhere', 'agent') },
    ],
  });
  ch = await QemuSocket.listen(sock);
  agent = await bootAgent({
    plugins: [inMemoryDomainsPlugin(domains), plugin],
    sections: {
      'test-domains': {},
      'virtio-channels': { dir, refreshInterval: 3600, reconnect: { minMs: 20, maxMs: 200 } },
    },
  });
});
afterAll(async () => {
  await ch?.close();
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

// One domain's story on one agent (added, scaled, re-pinned, pinned by vpmd): kept in order.
describe('guest channels on domains@1', { shuffle: false }, () => {
  it('refuses add_vm of a domain domains@1 does not know, and adds a known one with its map', async () => {
    const refused = await agent.run(['add_vm', 'ghost']);
    expect(refused.type === 'error' && refused.error.message).toBe(
      "Unable to add VM 'ghost': libvirt knows no domain 'ghost' (virsh list --all)",
    );
    const added = await agent.run(['add_vm', 'g1']);
    expect(added.type === 'result' && added.human).toBe('');
    const vm = await agent.json<{ status: string; vcpus: Array<{ pcpus: number[] }> }>(['show_vm', 'g1']);
    expect(vm).toMatchObject({ status: 'ACTIVE' });
    expect(vm.vcpus.map((v) => v.pcpus)).toEqual([[2], [3]]);
  });

  it("finds the power channel socket in the domain's channel list, outside the channel directory", async () => {
    const r = await agent.run(['add_channels', 'g1', 'all']);
    expect(r.type === 'result' && r.human).toBe("Added 1 channels for VM 'g1'");
    await ch.connected();
    expect(await ask(ch, power(0, Unit.SCALE_MIN))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
  });

  it('follows a re-pin from the repinned event alone, without re-reading domains@1', async () => {
    const before = lists;
    domains.repin(UUID, 0, [4]);
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 4, 'scaling_setspeed').catch(() => '')) === '1200000',
      'the request to follow vCPU 0 to pCPU 4',
    );
    await settles(agent.hostRoot, 2, 'scaling_governor', 'schedutil');
    expect(lists).toBe(before);
  });

  it("pins through domains@1's pinVcpu (set_pcpu), and the map follows", async () => {
    const r = await agent.run(['set_pcpu', 'g1', '1', '5']);
    expect(r.type === 'result' && (r.result as { via: string }).via).toBe('libvirt');
    expect((await domains.get(UUID))?.vcpus[1]?.pins).toEqual([5]);
    expect(await ask(ch, power(1, Unit.SCALE_MIN))).toBe(1);
    await settles(agent.hostRoot, 5, 'scaling_setspeed', '1200000');
  });
});
