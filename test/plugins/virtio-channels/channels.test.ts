/**
 * The plugin in a real agent on the simulated acpi-cpufreq host, with QEMU's side of the channels
 * played by unix sockets: requests, replies, reassembly, reconnection, statuses, bounds, sharing,
 * rate limiting, queries, policies, restore and persistence.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import { decodeFreqList, encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import {
  Command,
  FREQ_LIST_SIZE,
  Policy,
  REQUEST_SIZE,
  Unit,
  Workload,
} from '../../../plugins/virtio-channels/protocol/packet-layout.js';
import { QemuSocket } from './support/qemu-socket.js';
import { cpufreq, eventually, mtimeNs, settles } from './support/sim-files.js';

let dir: string;
let agent: BootedAgent;
const sockets: QemuSocket[] = [];

const power = (vcpu: number, unit: number): Buffer =>
  encodeRequest({ resourceId: BigInt(vcpu), unit, command: Command.CPU_POWER });

async function channel(vm: string, n: number): Promise<QemuSocket> {
  const s = await QemuSocket.listen(join(dir, `${vm}.${n}`));
  sockets.push(s);
  return s;
}

async function ask(s: QemuSocket, req: Buffer): Promise<number> {
  s.send(req);
  return (await s.read(REQUEST_SIZE)).readUInt32LE(12);
}

interface ShowVm {
  status: string;
  channels: Array<{
    num: number;
    status: string;
    accepted: number;
    clamped: number;
    limited: number;
    refused: number;
    dropped: number;
  }>;
  vcpus: Array<{ vcpu: number; pcpus: number[] }>;
  counters: { accepted: number; clamped: number; limited: number; refused: number };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-'));
  agent = await bootAgent({
    plugins: [plugin],
    sections: {
      'virtio-channels': {
        dir,
        libvirt: false,
        reconnect: { minMs: 20, maxMs: 200 },
        rateLimit: { changesPerSecond: 20, burst: 2 },
        messageLimit: { perSecond: 200, burst: 20 },
        vms: [
          { name: 'vm1', pins: [2, 3] },
          { name: 'flood', pins: [6] },
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

// One guest session, told as a story: each step starts from the channel, frequencies and bounds the
// step before left (as a VM's requests do). Shuffling would break the story, not find a bug, so
// this block keeps its order under `--sequence.shuffle`; the file as a whole is independent.
describe('guest requests on the simulated acpi-cpufreq host', { shuffle: false }, () => {
  let ch0: QemuSocket;

  it('connects to a channel QEMU listens on, answers ACK and steps setspeed through the table', async () => {
    ch0 = await channel('vm1', 0);
    const added = await agent.run(['add_channels', 'vm1', '0']);
    expect(added.type === 'result' && added.human).toBe("[0]: Adding channel 0\nEnabled 1 channels for 'vm1'");
    await ch0.connected();
    expect(await ask(ch0, power(0, Unit.SCALE_MAX))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_governor', 'userspace');
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3800000');
    expect(await ask(ch0, power(0, Unit.SCALE_DOWN))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3600000');
    expect(await ask(ch0, power(0, Unit.SCALE_MIN))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
    expect(await ask(ch0, power(0, Unit.SCALE_UP))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1400000');
    // vCPU 1 is on pCPU 3: untouched so far.
    await settles(agent.hostRoot, 3, 'scaling_governor', 'schedutil');
  });

  it('reassembles requests split into pieces and coalesced into one write', async () => {
    const two = Buffer.concat([power(1, Unit.SCALE_MIN), power(1, Unit.SCALE_UP)]);
    ch0.send(two.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 50));
    ch0.send(two.subarray(100, 700));
    ch0.send(two.subarray(700));
    const replies = await ch0.read(2 * REQUEST_SIZE);
    expect([replies.readUInt32LE(12), replies.readUInt32LE(REQUEST_SIZE + 12)]).toEqual([1, 1]);
    await settles(agent.hostRoot, 3, 'scaling_setspeed', '1400000');
  });

  it('needs turbo enabled before a guest may use the turbo frequency, and ignores CONNECT', async () => {
    expect(await ask(ch0, power(0, Unit.SCALE_MAX))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3800000');
    expect(await ask(ch0, power(0, Unit.ENABLE_TURBO))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3801000');
    expect(await ask(ch0, power(0, Unit.DISABLE_TURBO))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3800000');
    const junk = Buffer.alloc(REQUEST_SIZE, 0xa5);
    junk.writeUInt32LE(Command.CPU_POWER_CONNECT, 12);
    ch0.send(junk);
    expect(await ch0.pending()).toBe(0);
  });

  it('writes nothing when the same state is applied twice', async () => {
    expect(await ask(ch0, power(0, Unit.SCALE_MAX))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3800000');
    const before = await mtimeNs(agent.hostRoot, 2, 'scaling_setspeed');
    await new Promise((r) => setTimeout(r, 20));
    expect(await ask(ch0, power(0, Unit.SCALE_MAX))).toBe(1);
    expect(await mtimeNs(agent.hostRoot, 2, 'scaling_setspeed')).toBe(before);
  });

  it('clamps requests into VM bounds and re-applies at once when the host changes them', async () => {
    const r = await agent.run(['set_vm_bounds', 'vm1', '--max', '3000000']);
    expect(r.type).toBe('result');
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3000000');
    const vm = await agent.json<ShowVm>(['show_vm', 'vm1']);
    expect(await ask(ch0, power(0, Unit.SCALE_UP))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3000000');
    const after = await agent.json<ShowVm>(['show_vm', 'vm1']);
    expect(after.counters.clamped).toBe(vm.counters.clamped + 1);
    await agent.run(['set_vm_bounds', 'vm1']);
  });

  it('refuses bounds with min above max and changes nothing', async () => {
    const r = await agent.run(['set_pcpu_bounds', '2', '--min', '3000000', '--max', '2000000']);
    expect(r.type === 'error' && r.error.code).toBe('E_VC_BOUNDS');
    expect(await agent.json<unknown[]>(['show_channel_stats'])).toBeDefined();
  });

  it('never lets one VM slow down a pCPU another VM shares', async () => {
    await agent.run(['add_vm', 'vm2']);
    await agent.run(['set_pcpu', 'vm2', '0', '2']);
    const ch = await channel('vm2', 0);
    await agent.run(['add_channels', 'vm2', '0']);
    await ch.connected();
    expect(await ask(ch0, power(0, Unit.SCALE_MIN))).toBe(1);
    // vm2 has not asked: the shared pCPU stays at the nominal maximum.
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '3800000');
    expect(await ask(ch, power(0, Unit.SCALE_MIN))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
    expect(await ask(ch, power(0, Unit.SCALE_UP))).toBe(1);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1400000');
    await agent.run(['rm_vm', 'vm2']);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
  });

  it('drops a disabled channel’s messages without reply, as DPDK', async () => {
    const r = await agent.run(['set_channel_status', 'vm1', '0', 'disabled']);
    expect(r.type === 'result' && r.human).toBe("Updated status of 1 channels for VM 'vm1'");
    expect((await agent.json<ShowVm>(['show_vm', 'vm1'])).channels[0]?.status).toBe('DISABLED');
    ch0.send(power(0, Unit.SCALE_MAX));
    expect(await ch0.pending()).toBe(0);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
    await agent.run(['set_channel_status', 'vm1', 'all', 'enabled']);
  });

  it('answers queries only once enabled, and only about the channel’s own VM', async () => {
    ch0.send(encodeRequest({ command: Command.QUERY_FREQ_LIST, vmName: 'vm1' }));
    expect(await ch0.pending()).toBe(0);
    await agent.run(['set_query', 'vm1', 'enable']);
    ch0.send(encodeRequest({ command: Command.QUERY_FREQ_LIST, vmName: 'vm1' }));
    const list = decodeFreqList(await ch0.read(FREQ_LIST_SIZE));
    expect(list).toMatchObject({ command: 3, vmName: 'vm1', numVcpu: 2 });
    expect(list.freqList.slice(0, 2)).toEqual([1200000, 1400000]);
    ch0.send(encodeRequest({ command: Command.QUERY_FREQ_LIST, vmName: 'flood' }));
    expect(await ch0.pending()).toBe(0);
  });

  it('applies WORKLOAD policies and refuses TRAFFIC explicitly', async () => {
    const wl = encodeRequest({
      command: Command.PKT_POLICY,
      policyToUse: Policy.WORKLOAD,
      workload: Workload.MEDIUM,
      vcpuToControl: [1],
      numVcpu: 1,
      vmName: 'vm1',
    });
    expect(await ask(ch0, wl)).toBe(1);
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 3, 'scaling_setspeed')) === '2400000',
      'the MEDIUM frequency on pCPU 3',
    );
    const traffic = encodeRequest({
      command: Command.PKT_POLICY,
      policyToUse: Policy.TRAFFIC,
      vcpuToControl: [1],
      numVcpu: 1,
    });
    expect(await ask(ch0, traffic)).toBe(2);
    // Not a request a guest sends: dropped without a reply (DPDK answers nothing either, and a
    // NACK would be read as the reply to the guest's next request).
    ch0.send(encodeRequest({ command: 42 }));
    expect(await ch0.pending()).toBe(0);
    await eventually(
      async () => (await agent.json<ShowVm>(['show_vm', 'vm1'])).channels[0]?.dropped === 1,
      'the dropped frame counted',
    );
  });

  it('ACKs a flooding guest, coalesces its changes to the latest, and delays what is over its budget', async () => {
    await agent.run(['set_pcpu', 'flood', '0', '6']);
    const ch = await channel('flood', 0);
    await agent.run(['add_channels', 'flood', '0']);
    await ch.connected();
    const flood = Buffer.concat(
      Array.from({ length: 60 }, (_, i) => power(0, i % 2 ? Unit.SCALE_MAX : Unit.SCALE_MIN)),
    );
    ch.send(flood);
    const replies = await ch.read(60 * REQUEST_SIZE);
    const commands = Array.from({ length: 60 }, (_, i) => replies.readUInt32LE(i * REQUEST_SIZE + 12));
    const units = Array.from({ length: 60 }, (_, i) => replies.readUInt32LE(i * REQUEST_SIZE + 8));
    // Every request is ACKed, in order: the limits protect the core, they do not refuse the guest.
    expect(commands).toEqual(Array.from({ length: 60 }, () => 1));
    expect(units).toEqual(Array.from({ length: 60 }, (_, i) => (i % 2 ? Unit.SCALE_MAX : Unit.SCALE_MIN)));
    // 2 changes at once, then 20 per second: the core ends at the latest request.
    await settles(agent.hostRoot, 6, 'scaling_setspeed', '3800000');
    const stats = await agent.json<
      Array<{ vm: string; channel: string; accepted: number; coalesced: number; limited: number; refused: number }>
    >(['show_channel_stats']);
    const all = stats.find((s) => s.vm === 'flood' && s.channel === 'all');
    expect(all?.accepted).toBe(60);
    expect(all?.refused).toBe(0);
    expect(all?.coalesced).toBeGreaterThan(40);
    // The channel's budget is 20 at once, then 200 per second: the rest waited.
    expect(all?.limited).toBeGreaterThan(0);
  });

  it('shows the VM as DPDK does, and reconnects when the VM restarts', async () => {
    const r = await agent.run(['show_vm', 'vm1']);
    expect(r.type === 'result' && r.human).toBe(
      [
        `VM: 'vm1', status = ACTIVE`,
        'Channels 1',
        `  [0]: ${join(dir, 'vm1.0')}, status = CONNECTED`,
        'Virtual CPU(s): 2',
        '  [0]: Physical CPU 2',
        '  [1]: Physical CPU 3',
      ].join('\n'),
    );
    await ch0.close();
    await eventually(
      async () => (await agent.json<ShowVm>(['show_vm', 'vm1'])).channels[0]?.status === 'DISCONNECTED',
      'DISCONNECTED',
    );
    ch0 = await channel('vm1', 0);
    await ch0.connected();
    expect(await ask(ch0, power(0, Unit.SCALE_MAX))).toBe(1);
    expect((await agent.json<ShowVm>(['show_vm', 'vm1'])).channels[0]?.status).toBe('CONNECTED');
  });

  it('lets a ReadOnly VM query but not scale, and audits the refusal', async () => {
    expect((await agent.run(['set_vm_role', 'vm1', 'ReadOnly'])).type).toBe('result');
    const before = await cpufreq(agent.hostRoot, 2, 'scaling_setspeed');
    expect(await ask(ch0, power(0, Unit.SCALE_MIN))).toBe(2);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', before);
    ch0.send(encodeRequest({ command: Command.QUERY_FREQ, vmName: 'vm1' }));
    expect(decodeFreqList(await ch0.read(FREQ_LIST_SIZE)).command).toBe(3);
    const audit = await agent.json<Array<{ principal: string; origin: string; action: string; outcome: string }>>([
      'audit',
    ]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'vm:vm1',
        origin: 'guest-channel',
        action: 'guest CPU_POWER',
        outcome: 'denied',
      }),
    );
    await agent.run(['set_vm_role', 'vm1', 'Operator']);
    expect(await ask(ch0, power(0, Unit.SCALE_MIN))).toBe(1);
  });

  it('gives clear errors for bad operator input', async () => {
    const bad = await agent.run(['add_vm', 'bad name!']);
    expect(bad.type === 'error' && bad.error.code).toBe('E_COMMAND_USAGE');
    const dup = await agent.run(['add_vm', 'vm1']);
    expect(dup.type === 'error' && dup.error.message).toMatch(/Unable to add VM 'vm1'/);
    const list = await agent.run(['add_channels', 'vm1', '3-1']);
    expect(list.type === 'error' && list.error.code).toBe('E_VC_CHANNEL');
    const gone = await agent.run(['rm_vm', 'nope']);
    expect(gone.type === 'error' && gone.error.message).toMatch(/Unable to remove VM 'nope'/);
    const core = await agent.run(['set_cpu_freq', '99', 'up']);
    expect(core.type === 'error' && core.error.message).toMatch(/Error scaling core\(99\) 'up'/);
  });

  it('lets the operator scale a core and read it back in DPDK’s format', async () => {
    expect((await agent.run(['set_cpu_freq', '5', 'min'])).type).toBe('result');
    const r = await agent.run(['show_cpu_freq', '5']);
    expect(r.type === 'result' && r.human).toBe('Core 5 frequency: 1200000');
    await settles(agent.hostRoot, 5, 'scaling_setspeed', '1200000');
  });
});
