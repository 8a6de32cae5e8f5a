/**
 * Actuation on every kind of cpufreq driver of the simulated hosts (window under performance for
 * intel_pstate and amd-pstate-epp, userspace setspeed without a table for cppc), turbo refused
 * where the hardware has none, originals restored when the agent stops, and the operator's
 * settings surviving a restart.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import domainsPlugin from '../../../plugins/libvirt-domains/index.js';
import { cpufreq, settles } from './support/sim-files.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vpmd-vc-drv-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Stops the agent but keeps its host tree to inspect. */
async function stopKeepingHost(a: BootedAgent): Promise<void> {
  await a.agent.stop();
}

describe('actuation per driver', () => {
  it('intel_pstate (active, HWP): performance governor and a min = max window; turbo above base_frequency', async () => {
    const a = await bootAgent({
      plugins: [plugin],
      profile: 'intel-pstate-hwp-32',
      sections: { 'virtio-channels': { dir: await tempDir(), libvirt: false } },
    });
    try {
      expect((await a.run(['set_cpu_freq', '1', 'min'])).type).toBe('result');
      await settles(a.hostRoot, 1, 'scaling_governor', 'performance');
      expect([
        await cpufreq(a.hostRoot, 1, 'scaling_min_freq'),
        await cpufreq(a.hostRoot, 1, 'scaling_max_freq'),
      ]).toEqual(['800000', '800000']);
      await a.run(['set_cpu_freq', '1', 'max']);
      await settles(a.hostRoot, 1, 'scaling_max_freq', '2100000');
      await a.run(['set_cpu_freq', '1', 'enable_turbo']);
      await a.run(['set_cpu_freq', '1', 'max']);
      await settles(a.hostRoot, 1, 'scaling_max_freq', '3000000');
      await a.run(['set_cpu_freq', '1', 'down']);
      await settles(a.hostRoot, 1, 'scaling_max_freq', '2900000');
    } finally {
      await stopKeepingHost(a);
    }
    // Stopping gave the policy back exactly as it was.
    await settles(a.hostRoot, 1, 'scaling_governor', 'powersave');
    expect([
      await cpufreq(a.hostRoot, 1, 'scaling_min_freq'),
      await cpufreq(a.hostRoot, 1, 'scaling_max_freq'),
    ]).toEqual(['800000', '3000000']);
    await rm(a.dir, { recursive: true, force: true });
  });

  it('cppc_cpufreq: userspace setspeed in 100 MHz steps; turbo requests refused (no turbo)', async () => {
    const a = await bootAgent({
      plugins: [plugin],
      profile: 'arm-cppc-8',
      sections: { 'virtio-channels': { dir: await tempDir(), libvirt: false } },
    });
    try {
      await a.run(['set_cpu_freq', '1', 'max']);
      await a.run(['set_cpu_freq', '1', 'down']);
      await settles(a.hostRoot, 1, 'scaling_governor', 'userspace');
      await settles(a.hostRoot, 1, 'scaling_setspeed', '2900000');
      const turbo = await a.run(['set_cpu_freq', '1', 'enable_turbo']);
      expect(turbo.type === 'error' && turbo.error.message).toMatch(
        /^Error scaling core\(1\) 'enable_turbo': pCPU 1 has no turbo frequencies/,
      );
      await settles(a.hostRoot, 1, 'scaling_setspeed', '2900000');
    } finally {
      await a.stop();
    }
  });

  it('amd-pstate-epp: a window under performance', async () => {
    const a = await bootAgent({
      plugins: [plugin],
      profile: 'amd-pstate-epp-64',
      sections: { 'virtio-channels': { dir: await tempDir(), libvirt: false } },
    });
    try {
      await a.run(['set_cpu_freq', '3', 'min']);
      await a.run(['set_cpu_freq', '3', 'up']);
      await settles(a.hostRoot, 3, 'scaling_governor', 'performance');
      expect([
        await cpufreq(a.hostRoot, 3, 'scaling_min_freq'),
        await cpufreq(a.hostRoot, 3, 'scaling_max_freq'),
      ]).toEqual(['500000', '500000']);
    } finally {
      await a.stop();
    }
  });
});

describe('persistence', () => {
  it('keeps VMs, channels, statuses, query permission, bounds and pins across a restart', async () => {
    const state = await tempDir();
    const dir = await tempDir();
    const section = { 'virtio-channels': { dir, libvirt: false } };
    const a = await bootAgent({ plugins: [plugin], sections: section, core: { state: { dir: state } } });
    try {
      for (const argv of [
        ['add_vm', 'vmp'],
        ['add_channels', 'vmp', '0,1'],
        ['set_channel_status', 'vmp', '1', 'disabled'],
        ['set_query', 'vmp', 'enable'],
        ['set_vm_bounds', 'vmp', '--max', '3000000'],
        ['set_pcpu', 'vmp', '0', '4'],
        ['set_pcpu_bounds', '4', '--min', '1600000'],
        ['set_vm_role', 'vmp', 'ReadOnly'],
      ]) {
        const r = await a.run(argv);
        expect(r.type, `${argv.join(' ')}: ${JSON.stringify(r)}`).toBe('result');
      }
    } finally {
      await a.stop();
    }
    const b = await bootAgent({ plugins: [plugin], sections: section, core: { state: { dir: state } } });
    try {
      const vm = await b.json<{
        query: boolean;
        role: string;
        bounds: object;
        channels: Array<{ num: number; status: string }>;
        vcpus: Array<{ pcpus: number[] }>;
      }>(['show_vm', 'vmp']);
      expect(vm.query).toBe(true);
      expect(vm.role).toBe('ReadOnly');
      expect(vm.bounds).toEqual({ maxKHz: 3000000 });
      expect(vm.channels.map((c) => [c.num, c.status])).toEqual([
        [0, 'DISCONNECTED'],
        [1, 'DISABLED'],
      ]);
      expect(vm.vcpus.map((v) => v.pcpus)).toEqual([[4]]);
      expect(await b.json(['show_bounds'])).toEqual([
        { scope: 'vm vmp', minKHz: null, maxKHz: 3000000 },
        { scope: 'pcpu 4', minKHz: 1600000, maxKHz: null },
      ]);
    } finally {
      await b.stop();
    }
  });
});

describe('after a crash', () => {
  it('gives back the cpufreq settings a previous run left behind', async () => {
    const state = await tempDir();
    const dir = await tempDir();
    const section = { 'virtio-channels': { dir, libvirt: false } };
    const a = await bootAgent({ plugins: [plugin], sections: section, core: { state: { dir: state } } });
    await a.run(['set_cpu_freq', '2', 'min']);
    await settles(a.hostRoot, 2, 'scaling_governor', 'userspace');
    // Keep the state as a killed agent would leave it, then let the tree keep the changed governor.
    const crashed = await tempDir();
    await cp(state, crashed, { recursive: true });
    await a.agent.stop();
    const policy = join(a.hostRoot, 'sys/devices/system/cpu/cpufreq/policy2');
    await writeFile(join(policy, 'scaling_governor'), 'userspace\n');
    await writeFile(join(policy, 'scaling_setspeed'), '1200000\n');
    const b = await bootAgent({
      plugins: [plugin],
      sections: section,
      core: { state: { dir: crashed }, host: { root: a.hostRoot, simulated: true, sampleInterval: 1 } },
    });
    try {
      await settles(a.hostRoot, 2, 'scaling_governor', 'schedutil');
    } finally {
      await b.stop();
      await rm(a.dir, { recursive: true, force: true });
    }
  });
});

describe('libvirt-dbus unreachable', () => {
  it('runs degraded with host-side pins, and says why set_pcpu cannot pin', async () => {
    const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${join(await tempDir(), 'no-bus')}`;
    const a = await bootAgent({
      plugins: [domainsPlugin, plugin],
      core: { libvirt: { bus: 'system', driver: 'QEMU' } },
      sections: {
        'libvirt-domains': {},
        'virtio-channels': { dir: await tempDir(), vms: [{ name: 'solo', pins: [2] }] },
      },
    });
    try {
      const st = (await a.status()).find((p) => p.name === 'virtio-channels');
      expect(st?.state).toBe('running');
      expect(st?.health).toMatchObject({
        status: 'degraded',
        detail: expect.stringMatching(/^domains@1: libvirt-dbus \(system bus\) is unreachable: .*host-side pins only$/),
      });
      const vm = await a.json<{ vcpus: Array<{ pcpus: number[] }> }>(['show_vm', 'solo']);
      expect(vm.vcpus).toEqual([{ vcpu: 0, pcpus: [2] }]);
      const pin = await a.run(['set_pcpu', 'solo', '0', '3']);
      expect(pin.type === 'error' && pin.error.code).toBe('E_VC_LIBVIRT');
      expect(pin.type === 'error' && pin.error.message).toMatch(/libvirt-dbus \(system bus\) is unreachable/);
    } finally {
      await a.stop();
      if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    }
  });

  it('without a domains@1 provider, says so in its health and pins host-side', async () => {
    const a = await bootAgent({
      plugins: [plugin],
      sections: { 'virtio-channels': { dir: await tempDir(), vms: [{ name: 'solo', pins: [2] }] } },
    });
    try {
      const st = (await a.status()).find((p) => p.name === 'virtio-channels');
      expect(st?.health).toMatchObject({
        status: 'degraded',
        detail: expect.stringMatching(/^no domains@1 provider \(enable the libvirt-domains plugin/),
      });
      const added = await a.run(['add_vm', 'ghost']);
      expect(added.type === 'result' && added.human).toMatch(/not checked against libvirt: .*no domains@1 provider/);
      const pin = await a.run(['set_pcpu', 'solo', '0', '3']);
      expect(pin.type === 'result' && (pin.result as { via: string }).via).toBe('host');
    } finally {
      await a.stop();
    }
  });
});
