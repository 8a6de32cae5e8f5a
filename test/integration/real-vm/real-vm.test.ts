/**
 * A real hypervisor end to end: libvirtd's QEMU driver runs a booted guest (Debian's kernel, a
 * busybox initramfs) with two virtio-serial power channels as DPDK's guide sets them up, and
 * a librte_power program inside the guest asks vpmd to scale its core. vpmd reaches libvirtd
 * through the real libvirt-dbus (`libvirt.driver: QEMU`). The assertion is DPDK's own: the
 * guest does ONE 10 ms receive after each request (guest_cli's check_response_cmd), so a reply
 * that misses the window reads as "timeout" here.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootAgent,
  pollUntil,
  startLibvirtDbus,
  startPrivateBus,
  startRealVm,
  testPlugin,
  type BootedAgent,
  type PrivateBus,
  type RealVm,
} from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import domainsPlugin from '../../../plugins/libvirt-domains/index.js';
import { LibvirtDomains } from '../../../plugins/libvirt-domains/libvirt-domains.js';
import { DOMAINS, type DomainInfo, type Domains } from '../../../core/index.js';

const VM = 'vpmd-vm';
let vm: RealVm;
let bus: PrivateBus;
let agent: BootedAgent;
const savedAddress = process.env.DBUS_SYSTEM_BUS_ADDRESS;
/** domains@1 as the agent's plugins reach it (the power plugin's quota rung goes through it). */
let domains: (() => Domains | undefined) | undefined;
const reacher = testPlugin({
  name: 'reacher',
  description: 'reaches domains@1 as a plugin would',
  optional: [DOMAINS.id],
  register(ctx) {
    domains = () => ctx.capabilities.find(DOMAINS);
    return { start: () => undefined, stop: () => undefined };
  },
});

interface ShowVm {
  status: string;
  vcpus: Array<{ vcpu: number; pcpus: number[] }>;
  channels: Array<{ path: string; status: string }>;
}

const setspeed = async (cpu: number): Promise<string> =>
  (
    await readFile(join(agent.hostRoot, 'sys/devices/system/cpu/cpufreq', `policy${cpu}`, 'scaling_setspeed'), 'utf8')
  ).trim();

/**
 * Runs the DPDK guest program on LCORE with WORDS (each run is a new process: start with `init`,
 * which opens the channel); returns its result lines (stdout).
 */
async function guestAsks(lcore: number, ...words: string[]): Promise<string[]> {
  const r = await vm.guest(`vm-guest ${lcore} ${words.join(' ')} 2>/tmp/vm-guest.err`, 60_000);
  const lines = r.output.trim().split('\n');
  // librte_power's own log (stderr) explains a failure: attach it to the assertion.
  const log = (await vm.guest('cat /tmp/vm-guest.err')).output;
  expect(r.status, `${r.output}\n--- librte_power log ---\n${log}`).toBe(0);
  for (const [i, word] of words.entries())
    if (/^(up|down|max|min)$/.test(word))
      expect(lines[i], `${r.output}\n--- librte_power log ---\n${log}`).toMatch(new RegExp(`^${word} ack us=\\d+$`));
  return lines;
}

/** A thread's CPU bandwidth from its cgroup: v2 `cpu.max`, or v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`. */
async function cgroupQuota(tid: number): Promise<{ quotaUs: number; periodUs: number }> {
  const lines = (await readFile(`/proc/${tid}/cgroup`, 'utf8')).trim().split('\n');
  const v1 = lines.map((l) => /^\d+:([^:]*\bcpu\b[^:]*):(.*)$/.exec(l)).find((m) => m !== null);
  if (v1) {
    const dir = join('/sys/fs/cgroup', v1[1] ?? 'cpu', v1[2] ?? '/');
    const read = async (f: string): Promise<number> => Number((await readFile(join(dir, f), 'utf8')).trim());
    return { quotaUs: await read('cpu.cfs_quota_us'), periodUs: await read('cpu.cfs_period_us') };
  }
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3) ?? '/';
  const [quota, period] = (await readFile(join('/sys/fs/cgroup', v2, 'cpu.max'), 'utf8')).trim().split(' ');
  return { quotaUs: quota === 'max' ? -1 : Number(quota), periodUs: Number(period) };
}

async function pinsOf(): Promise<number[][]> {
  return (await agent.json<ShowVm>(['show_vm', VM])).vcpus.map((v) => v.pcpus);
}

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

beforeAll(async () => {
  vm = await startRealVm({ name: VM, pins: [0, 1] });
  bus = await startPrivateBus();
  await startLibvirtDbus(bus, { mode: 'system' });
  // The plugin reaches libvirt-dbus on the system bus named by the core config.
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  agent = await bootAgent({
    plugins: [domainsPlugin, plugin, reacher],
    core: { libvirt: { bus: 'system', driver: 'QEMU' } },
    sections: {
      // Structure re-read only on libvirt's signals here: a steady list() must make no D-Bus call.
      'libvirt-domains': { refreshInterval: 3600 },
      'virtio-channels': {
        dir: vm.channelDir,
        // Once an hour: a re-pin must reach the map through libvirt's events, not a periodic re-read.
        refreshInterval: 3600,
        reconnect: { minMs: 50, maxMs: 500 },
      },
    },
  });
  expect((await agent.run(['add_vm', VM])).type).toBe('result');
  expect((await agent.run(['add_channels', VM, 'all'])).type).toBe('result');
  // The agent connects to QEMU's sockets in the background; a guest write before that fails.
  await pollUntil({
    peer: 'vpmd',
    what: 'both power channels CONNECTED in show_vm',
    timeoutMs: 30_000,
    intervalMs: 100,
    probe: async () => {
      const shown = await agent.json<ShowVm>(['show_vm', VM]);
      return shown.channels.length === 2 && shown.channels.every((c) => c.status === 'CONNECTED') ? true : undefined;
    },
  });
}, 900_000);

afterAll(async () => {
  await agent?.stop();
  await bus?.stop();
  await vm?.stop();
  if (savedAddress === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
  else process.env.DBUS_SYSTEM_BUS_ADDRESS = savedAddress;
}, 300_000);

describe('a real QEMU guest through libvirtd and libvirt-dbus', () => {
  it('maps each vCPU to the pCPU libvirt pinned it to, from the running domain', async () => {
    const shown = await agent.json<ShowVm>(['show_vm', VM]);
    expect(shown.status).toBe('ACTIVE');
    expect(shown.vcpus.map((v) => v.pcpus)).toEqual([[0], [1]]);
    expect(shown.channels.map((c) => c.path).sort()).toEqual([
      join(vm.channelDir, `${VM}.0`),
      join(vm.channelDir, `${VM}.1`),
    ]);
  });

  it(
    "scales the pCPU a guest's vCPU runs on, each reply inside DPDK's 10 ms receive",
    { timeout: 120_000 },
    async () => {
      const lines = await guestAsks(0, 'init', 'max', 'min');
      expect(lines[0]).toBe('init rc=0');
      expect(await setspeed(0)).toBe('1200000');
      await guestAsks(0, 'init', 'max');
      expect(await setspeed(0)).not.toBe('1200000');
      await guestAsks(1, 'init', 'max', 'min');
      expect(await setspeed(1)).toBe('1200000');
    },
  );

  it('follows a re-pin made with virsh vcpupin, through libvirt domain events', { timeout: 120_000 }, async () => {
    // Swap the pins so that neither pCPU is shared: each request then lands alone on its core.
    await vm.virsh('vcpupin', VM, '0', '1');
    await vm.virsh('vcpupin', VM, '1', '0');
    try {
      // No show_vm first (it re-reads libvirt): only libvirt's Tunable event can move the map
      // before vCPU 1's request lands on pCPU 0 (pCPU 1 is already at its minimum).
      await pollUntil({
        peer: 'vpmd',
        what: "vCPU 1's request to land on pCPU 0 after the re-pin",
        timeoutMs: 30_000,
        intervalMs: 200,
        probe: async () => {
          await guestAsks(1, 'init', 'min');
          return (await setspeed(0)) === '1200000' ? true : undefined;
        },
      });
      expect(JSON.stringify(await pinsOf())).toBe('[[1],[0]]');
      await guestAsks(0, 'init', 'min');
      expect(await setspeed(1)).toBe('1200000');
      await guestAsks(1, 'init', 'max');
      expect(await setspeed(0)).not.toBe('1200000');
    } finally {
      await vm.virsh('vcpupin', VM, '0', '0');
      await vm.virsh('vcpupin', VM, '1', '1');
    }
  });

  it(
    'domains@1 names the vCPU threads and sees the busy vCPU’s CPU time rise, not the idle one’s',
    { timeout: 120_000 },
    async () => {
      const before = await agent.json<DomainInfo>(['domains', 'show', VM]);
      expect(before.uuid).toBe(vm.uuid);
      const threads = before.vcpus.map((v) => v.threadId);
      expect(threads.every((t) => typeof t === 'number' && t > 0)).toBe(true);
      expect(new Set(threads).size).toBe(2);
      const provider = domains?.();
      if (!(provider instanceof LibvirtDomains)) throw new Error('domains@1 is not the libvirt source');
      const listed = async (): Promise<DomainInfo> => {
        const d = (await provider.list()).find((x) => x.uuid === vm.uuid);
        if (d === undefined) throw new Error(`${VM} is not listed`);
        return d;
      };
      const firstList = await listed();
      // The per-interval read: the threads' /proc schedstat, no D-Bus call at all.
      const callsBefore = provider.dbusCalls;
      const steady = await listed();
      expect(provider.dbusCalls - callsBefore).toBe(0);
      expect(provider.cpuSourceOf(vm.uuid)).toBe('proc');
      expect(provider.cpuSources).toEqual({ proc: 1, libvirt: 0 });
      expect(steady.vcpus.map((v) => v.threadId)).toEqual(threads);
      const r = await vm.guest('vm-guest 1 burn:3', 60_000);
      expect(r.output).toContain('burn done');
      const after = await agent.json<DomainInfo>(['domains', 'show', VM]);
      const busy = (after.vcpus[1]?.cpuTimeUs ?? 0) - (before.vcpus[1]?.cpuTimeUs ?? 0);
      const idle = (after.vcpus[0]?.cpuTimeUs ?? 0) - (before.vcpus[0]?.cpuTimeUs ?? 0);
      // 3 s of spinning in the guest: most of it shows on vCPU 1's thread.
      expect(busy).toBeGreaterThan(1_500_000);
      expect(busy).toBeGreaterThan(3 * idle);
      // The same through the steady list(), still without a D-Bus call.
      const callsAfterBurn = provider.dbusCalls;
      const steadyAfter = await listed();
      expect(provider.dbusCalls - callsAfterBurn).toBe(0);
      const listedBusy = (steadyAfter.vcpus[1]?.cpuTimeUs ?? 0) - (firstList.vcpus[1]?.cpuTimeUs ?? 0);
      expect(listedBusy).toBeGreaterThan(1_500_000);
      expect(steadyAfter.emulator.cpuTimeUs).toBeGreaterThanOrEqual(firstList.emulator.cpuTimeUs);
    },
  );

  it(
    'keeps serving across a guest reboot (the guest resets, QEMU and its sockets stay)',
    { timeout: 300_000 },
    async () => {
      const before = await openFds();
      // busybox's reboot -f resets the guest at once: its command never ends, so only the bound ends the wait.
      await vm.guest('reboot -f', 2_000).catch(() => undefined);
      await vm.waitForShell();
      await guestAsks(1, 'init', 'min');
      expect(await setspeed(1)).toBe('1200000');
      await guestAsks(1, 'init', 'max');
      expect(await setspeed(1)).not.toBe('1200000');
      expect(Math.abs((await openFds()) - before)).toBeLessThanOrEqual(2);
    },
  );

  it("sets the VM's vCPU bandwidth through libvirt, as virsh schedinfo and the vCPU cgroups see it", async () => {
    // The power plugin's second rung (a VM on shared pCPUs over its budget) is this call.
    const d = domains?.();
    if (d?.vcpuQuota === undefined || d.setVcpuQuota === undefined) throw new Error('domains@1 has no quota calls');
    const found = await d.vcpuQuota(vm.uuid);
    await d.setVcpuQuota(vm.uuid, { quotaUs: 25_000, periodUs: 100_000 });
    try {
      const info = await vm.virsh('schedinfo', VM);
      expect(info).toMatch(/^vcpu_period\s*:\s*100000$/m);
      expect(info).toMatch(/^vcpu_quota\s*:\s*25000$/m);
      expect(await d.vcpuQuota(vm.uuid)).toEqual({ quotaUs: 25_000, periodUs: 100_000 });
      // What the kernel enforces: the CPU bandwidth of the cgroup the vCPU thread runs in.
      const tid = (await d.get(vm.uuid))?.vcpus[0]?.threadId;
      expect(tid).toBeGreaterThan(0);
      expect(await cgroupQuota(Number(tid))).toEqual({ quotaUs: 25_000, periodUs: 100_000 });
    } finally {
      await d.setVcpuQuota(vm.uuid, found);
    }
    expect(await d.vcpuQuota(vm.uuid)).toEqual(found);
    expect(await vm.virsh('schedinfo', VM)).toMatch(new RegExp(`^vcpu_quota\\s*:\\s*${found.quotaUs}$`, 'm'));
  });

  it(
    'reconnects the channels after a destroy and start, with the mapping refreshed and no leaked descriptors',
    { timeout: 300_000 },
    async () => {
      const before = await openFds();
      await vm.virsh('destroy', VM);
      await pollUntil({
        peer: 'vpmd',
        what: 'show_vm to see the domain stopped',
        timeoutMs: 20_000,
        intervalMs: 100,
        probe: async () => ((await agent.json<ShowVm>(['show_vm', VM])).status !== 'ACTIVE' ? true : undefined),
      });
      await vm.virsh('start', VM);
      await vm.waitForShell();
      const [, max] = await guestAsks(0, 'init', 'max');
      expect(max).toMatch(/^max ack/);
      expect(await pinsOf()).toEqual([[0], [1]]);
      // Each channel socket is replaced, not added to: the count settles back (± the console's).
      expect(Math.abs((await openFds()) - before)).toBeLessThanOrEqual(2);
    },
  );
});
