/**
 * vCPU to pCPU mapping from domains@1 (the libvirt-domains plugin) over the real libvirt-dbus
 * with libvirt's Test driver (domain "test", 2 vCPUs on 8 host CPUs) on a private bus: pin info,
 * set_pcpu through domains@1's PinVcpu, refresh after a re-pin made behind vpmd's back, unpinned
 * vCPUs refused, a libvirt domain vpmd does not manage protecting the pCPUs it runs on, and
 * without a domains@1 provider, host-side pins with the reason in health.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIBVIRT_BUS_NAME,
  LIBVIRT_CONNECT_IFACE,
  LIBVIRT_DOMAIN_IFACE,
  LIBVIRT_TEST_PATH,
  bootAgent,
  startLibvirtDbus,
  startPrivateBus,
  type BootedAgent,
  type BusClient,
  type LibvirtDbusPeer,
  type PrivateBus,
} from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import domainsPlugin from '../../../plugins/libvirt-domains/index.js';
import { encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../../plugins/virtio-channels/protocol/packet-layout.js';
import { QemuSocket } from './support/qemu-socket.js';
import { cpufreq, eventually, settles } from './support/sim-files.js';

let bus: PrivateBus;
let libvirt: LibvirtDbusPeer;
let client: BusClient;
let agent: BootedAgent;
let dir: string;
let ch: QemuSocket;
const savedAddress = process.env.DBUS_SESSION_BUS_ADDRESS;

const power = (vcpu: number, unit: number): Buffer =>
  encodeRequest({ resourceId: BigInt(vcpu), unit, command: Command.CPU_POWER });
async function ask(s: QemuSocket, req: Buffer): Promise<number> {
  s.send(req);
  return (await s.read(REQUEST_SIZE)).readUInt32LE(12);
}
const mask = (cpu: number): boolean[] => Array.from({ length: 8 }, (_, i) => i === cpu);

interface ShowVm {
  status: string;
  vcpus: Array<{ vcpu: number; pcpus: number[] }>;
  counters: { refused: number };
}

beforeAll(async () => {
  bus = await startPrivateBus();
  libvirt = await startLibvirtDbus(bus);
  client = await bus.connect();
  // The plugin reaches libvirt-dbus on the session bus named by the core config.
  process.env.DBUS_SESSION_BUS_ADDRESS = bus.address;
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-lv-'));
  agent = await bootAgent({
    plugins: [domainsPlugin, plugin],
    core: { libvirt: { bus: 'session', driver: 'Test' } },
    sections: {
      'libvirt-domains': {},
      'virtio-channels': {
        dir,
        refreshInterval: 0.2,
        reconnect: { minMs: 20, maxMs: 200 },
        // Not a libvirt domain: only the config can add it (add_vm refuses it, as DPDK does).
        vms: [{ name: 'other' }],
      },
    },
  });
  ch = await QemuSocket.listen(join(dir, 'test.0'));
});
afterAll(async () => {
  await ch?.close();
  await agent?.stop();
  client?.close();
  await bus?.stop();
  await rm(dir, { recursive: true, force: true });
  if (savedAddress === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
  else process.env.DBUS_SESSION_BUS_ADDRESS = savedAddress;
});

// One domain's life through libvirt-dbus (pin, scale, re-pin behind the agent's back): each step
// starts from the pinning the step before left, so the block keeps its order under shuffling.
describe('mapping through libvirt-dbus (Test driver)', { shuffle: false }, () => {
  it('reads the running domain’s vCPUs and their affinity', async () => {
    expect((await agent.run(['add_vm', 'test'])).type).toBe('result');
    const vm = await agent.json<ShowVm>(['show_vm', 'test']);
    expect(vm.status).toBe('ACTIVE');
    expect(vm.vcpus.map((v) => v.pcpus)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ]);
    const human = await agent.run(['show_vm', 'test']);
    expect(human.type === 'result' && human.human).toContain('  [0]: Physical CPU 7');
  });

  it('refuses to scale an unpinned vCPU (it could run on any core)', async () => {
    await agent.run(['add_channels', 'test', 'all']);
    await ch.connected();
    expect(await ask(ch, power(0, Unit.SCALE_MIN))).toBe(2);
    expect((await agent.json<ShowVm>(['show_vm', 'test'])).counters.refused).toBe(1);
    await settles(agent.hostRoot, 7, 'scaling_governor', 'schedutil');
  });

  it('pins through PinVcpu and scales the pinned pCPU', async () => {
    const r = await agent.run(['set_pcpu', 'test', '0', '5']);
    expect(r.type === 'result' && r.human).toBe('Pinned vCPU(0) to pCPU core 5');
    await agent.run(['set_pcpu', 'test', '1', '6']);
    const [pins] = await client.call({
      destination: LIBVIRT_BUS_NAME,
      path: libvirt.testDomainPath,
      interface: LIBVIRT_DOMAIN_IFACE,
      member: 'GetVcpuPinInfo',
      signature: 'u',
      body: [0],
    });
    expect(pins).toEqual([mask(5), mask(6)]);
    expect(await ask(ch, power(0, Unit.SCALE_MIN))).toBe(1);
    await settles(agent.hostRoot, 5, 'scaling_setspeed', '1200000');
  });

  it('follows a re-pin made behind its back, moving the request and restoring the old pCPU', async () => {
    await client.call({
      destination: LIBVIRT_BUS_NAME,
      path: libvirt.testDomainPath,
      interface: LIBVIRT_DOMAIN_IFACE,
      member: 'PinVcpu',
      signature: 'uabu',
      body: [0, mask(4), 0],
    });
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 4, 'scaling_setspeed')) === '1200000',
      'the request to follow vCPU 0 to pCPU 4',
    );
    await settles(agent.hostRoot, 5, 'scaling_governor', 'schedutil');
    expect((await agent.json<ShowVm>(['show_vm', 'test'])).vcpus[0]?.pcpus).toEqual([4]);
  });

  it('keeps a pCPU used by a domain it does not manage at full speed', async () => {
    await agent.run(['rm_vm', 'test']);
    await settles(agent.hostRoot, 4, 'scaling_governor', 'schedutil');
    const other = await QemuSocket.listen(join(dir, 'other.0'));
    try {
      const refused = await agent.run(['add_vm', 'ghost']);
      expect(refused.type === 'error' && refused.error.message).toBe(
        "Unable to add VM 'ghost': libvirt knows no domain 'ghost' (virsh list --all)",
      );
      const pinned = await agent.run(['set_pcpu', 'other', '0', '4']);
      expect(pinned.type === 'result' && (pinned.result as { via: string }).via).toBe('host');
      await agent.run(['add_channels', 'other', '0']);
      await other.connected();
      expect(await ask(other, power(0, Unit.SCALE_MIN))).toBe(1);
      // libvirt's "test" domain still runs vCPU 0 on pCPU 4: it must not be slowed down.
      await settles(agent.hostRoot, 4, 'scaling_setspeed', '3800000');
      expect(await ask(other, power(0, Unit.SCALE_MIN))).toBe(1);
      await settles(agent.hostRoot, 4, 'scaling_setspeed', '3800000');
    } finally {
      await other.close();
    }
  });
});

// Start, read the channels from the live XML, then stop: a sequence, kept in order.
describe('channels from the live domain XML', { shuffle: false }, () => {
  it('finds a started domain’s power channel sockets outside the channel directory, with its pins', async () => {
    const elsewhere = join(dir, 'qemu-elsewhere');
    await mkdir(elsewhere);
    const sock = join(elsewhere, 'dpdk1.power.0');
    const xml = `<domain type='test'><name>dpdk1</name><memory>1048576</memory><vcpu>2</vcpu>
      <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/></cputune>
      <os><type>hvm</type></os><devices>
      <channel type='unix'><source mode='bind' path='${sock}'/><target type='virtio' name='virtio.serial.port.poweragent.0'/></channel>
      <channel type='unix'><source mode='bind' path='${join(elsewhere, 'agent')}'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
      </devices></domain>`;
    const [path] = await client.call({
      destination: LIBVIRT_BUS_NAME,
      path: LIBVIRT_TEST_PATH,
      interface: LIBVIRT_CONNECT_IFACE,
      member: 'DomainCreateXML',
      signature: 'su',
      body: [xml, 0],
    });
    expect(typeof path).toBe('string');
    // libvirt's own "test" domain runs on every pCPU until the other block pins it: keep it off
    // pCPU 3 here (a pCPU a foreign domain uses stays at full speed), and give it back after.
    const pinTest = (vcpu: number, cpus: boolean[]): Promise<unknown> =>
      client.call({
        destination: LIBVIRT_BUS_NAME,
        path: libvirt.testDomainPath,
        interface: LIBVIRT_DOMAIN_IFACE,
        member: 'PinVcpu',
        signature: 'uabu',
        body: [vcpu, cpus, 0],
      });
    const [before] = (await client.call({
      destination: LIBVIRT_BUS_NAME,
      path: libvirt.testDomainPath,
      interface: LIBVIRT_DOMAIN_IFACE,
      member: 'GetVcpuPinInfo',
      signature: 'u',
      body: [0],
    })) as [boolean[][]];
    await pinTest(0, mask(4));
    await pinTest(1, mask(6));
    const q = await QemuSocket.listen(sock);
    try {
      await agent.run(['add_vm', 'dpdk1']);
      const r = await agent.run(['add_channels', 'dpdk1', 'all']);
      expect(r.type === 'result' && r.human).toBe("Added 1 channels for VM 'dpdk1'");
      await q.connected();
      const vm = await agent.json<ShowVm & { channels: Array<{ path: string }> }>(['show_vm', 'dpdk1']);
      expect(vm.channels.map((c) => c.path)).toEqual([sock]);
      expect(vm.vcpus.map((v) => v.pcpus)).toEqual([[2], [3]]);
      expect(await ask(q, power(1, Unit.SCALE_MIN))).toBe(1);
      await settles(agent.hostRoot, 3, 'scaling_setspeed', '1200000');
    } finally {
      await q.close();
      for (const [vcpu, cpus] of before.entries()) await pinTest(vcpu, cpus);
    }
  });
});
