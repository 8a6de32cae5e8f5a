/**
 * The energy plugin in a real agent on a simulated host whose VMs burn CPU: domains@1 from
 * libvirt-domains' simulated source, `vpmctl vm energy` (human and JSON), wall scaling from a
 * telemetry metric, and the counters saved through the state store.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootAgent, openSimulatedHost, pollUntil, type BootedAgent } from '../../../testkit/index.js';
import energy from '../../../plugins/energy/index.js';
import libvirtDomains from '../../../plugins/libvirt-domains/index.js';
import type { EnergyReport } from '../../../plugins/energy/cli.js';

const A = '0a000000-0000-4000-8000-00000000000a';
const B = '0b000000-0000-4000-8000-00000000000b';

let agent: BootedAgent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

async function startVms(root: string): Promise<void> {
  const k = await openSimulatedHost(root);
  k.vms.start({
    uuid: A,
    name: 'web',
    vcpus: [
      { pins: [0], load: 0.8 },
      { pins: [1], load: 0.8 },
    ],
    novaProjectId: 'p1',
  });
  k.vms.start({ uuid: B, name: 'batch', vcpus: [{ pins: [2], load: 0.3 }] });
  await k.sync();
}

/** Waits until every VM has a power figure (two samples taken). */
async function report(a: BootedAgent, argv: readonly string[] = ['vm', 'energy']): Promise<EnergyReport> {
  return pollUntil({
    peer: 'vpmd',
    what: 'per-VM energy figures',
    timeoutMs: 20_000,
    intervalMs: 200,
    probe: async () => {
      const r = await a.json<EnergyReport>(argv);
      return r.vms.length > 0 && r.vms.every((v) => (v.rapl.watts ?? 0) > 0) ? r : undefined;
    },
  });
}

describe('energy plugin in the agent', () => {
  it('accounts the simulated VMs by UUID with source and model, and prints a table', async () => {
    agent = await bootAgent({
      plugins: [libvirtDomains, energy],
      sections: { 'libvirt-domains': { source: 'simulated' }, energy: { interval: 0.5 } },
      prepareHost: startVms,
    });
    const r = await report(agent);
    expect(r.vms.map((v) => v.uuid)).toEqual([A, B]);
    const web = r.vms[0];
    expect(web?.name).toBe('web');
    expect(web?.novaProjectId).toBe('p1');
    expect(web?.rapl).toMatchObject({ source: 'rapl', model: 'rapl-cputime-freq-v1' });
    expect(web?.zones['package-0']).toBeGreaterThan(0);
    // The busier VM, at a higher frequency, costs more than twice the other per vCPU.
    expect(web?.rapl.watts).toBeGreaterThan(2 * 2 * (r.vms[1]?.rapl.watts ?? 0));
    expect(web?.wall).toBeUndefined();
    const zone = r.host.zones.find((z) => z.zone === 'package-0');
    const sum =
      (zone?.idleJoules ?? 0) + (zone?.vmJoules ?? 0) + (zone?.hostJoules ?? 0) + (zone?.unattributedJoules ?? 0);
    expect(sum).toBeCloseTo(zone?.totalJoules ?? -1, 6);
    const human = await agent.run(['vm', 'energy']);
    expect(human.type).toBe('result');
    const text = human.type === 'result' ? human.human : '';
    expect(text).toMatch(/UUID\s+Name\s+State\s+Power W/);
    expect(text).toContain('web');
    expect(text).toMatch(/package-0: total .* idle floor/);
    const one = await agent.json<EnergyReport>(['vm', 'energy', 'batch']);
    expect(one.vms.map((v) => v.uuid)).toEqual([B]);
    const missing = await agent.run(['vm', 'energy', 'nope']);
    expect(missing.type === 'error' ? missing.error.code : '').toBe('E_VM_ENERGY_NOT_FOUND');
  });

  it('scales to a wall-power metric and reports the divergence from RAPL', async () => {
    agent = await bootAgent({
      plugins: [libvirtDomains, energy],
      // The RAPL package power metric stands in for a BMC's reading: wall = RAPL package only.
      sections: {
        'libvirt-domains': { source: 'simulated' },
        energy: { interval: 0.5, wallPower: 'host/rapl/package-0/power' },
      },
      prepareHost: startVms,
    });
    const r = await pollUntil({
      peer: 'vpmd',
      what: 'wall-scaled figures',
      timeoutMs: 20_000,
      intervalMs: 200,
      probe: async () => {
        const x = await report(agent as BootedAgent);
        return x.vms.every((v) => (v.wall?.watts ?? 0) > 0) ? x : undefined;
      },
    });
    const web = r.vms[0];
    expect(web?.wall).toMatchObject({ source: 'wall', model: 'wall-scaled-v1', origin: 'host/rapl/package-0/power' });
    expect(r.host.wall?.origin).toBe('host/rapl/package-0/power');
    // The wall source here sees the package but not DRAM: wall − RAPL is negative, and wall < RAPL per VM.
    expect(r.host.wall?.divergenceWatts ?? 0).toBeLessThan(0);
    expect(web?.wall?.joules ?? Infinity).toBeLessThan(web?.rapl.joules ?? 0);
  });

  it('keeps the counters in the state store, keyed by UUID', async () => {
    agent = await bootAgent({
      plugins: [libvirtDomains, energy],
      sections: { 'libvirt-domains': { source: 'simulated' }, energy: { interval: 0.5, persistEvery: 1 } },
      prepareHost: startVms,
    });
    const file = join(agent.dir, 'state', 'plugins', 'energy', 'ledger.json');
    const saved = await pollUntil({
      peer: 'vpmd',
      what: 'a saved ledger with both VMs',
      timeoutMs: 20_000,
      intervalMs: 200,
      probe: async () => {
        const text = await readFile(file, 'utf8').catch(() => undefined);
        if (text === undefined) return undefined;
        const data = (JSON.parse(text) as { data: { vms: Record<string, { zones: Record<string, number> }> } }).data;
        return (data.vms[A]?.zones['package-0'] ?? 0) > 0 && data.vms[B] !== undefined ? data : undefined;
      },
    });
    expect(Object.keys(saved.vms).sort()).toEqual([A, B]);
  });
});
