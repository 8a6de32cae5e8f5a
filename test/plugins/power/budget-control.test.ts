/**
 * Per-VM budgets on the simulated host (issue #16's goals): a fully loaded VM with a 20 W budget
 * settles within ±5 % after two periods without overshooting by more than 5 %, a neighbour on
 * other pCPUs keeps its throughput, and removing the budget puts the knobs back within a period.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFile } from '../../core/sim/sim-fixture.js';
import { ADMIN, powerRig, startVm, type PowerRig } from './power-fixture.js';

const WEB = '11111111-1111-4111-8111-111111111111';
const NEIGHBOUR = '22222222-2222-4222-8222-222222222222';
const WEB_CPUS = [0, 1, 2, 3, 4, 5, 6, 7];
const NEIGHBOUR_CPUS = [8, 9, 10, 11, 12, 13, 14, 15];

let rig: PowerRig | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

describe('a 20 W budget under full load', () => {
  it('holds the 60 s average within ±5 % after two periods, overshoot ≤ 5 %, neighbour unchanged', async () => {
    const r = (rig = await powerRig({ periodMs: 1000 }));
    startVm(r, WEB, 'web', WEB_CPUS);
    startVm(r, NEIGHBOUR, 'neighbour', NEIGHBOUR_CPUS);
    const unbudgetedW = r.vms.cpuWatts(WEB_CPUS);
    expect(unbudgetedW).toBeGreaterThan(25); // the budget must bind
    const neighbourBefore = r.vms.throughput(NEIGHBOUR_CPUS);
    await r.tick();
    await r.controller.change(ADMIN, 'power budget web 20 W', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 20, windowS: 60, priority: 50 }],
    }));
    // Two control periods to settle.
    await r.tick();
    await r.tick();
    const samples: number[] = [];
    const neighbour: number[] = [];
    for (let s = 0; s < 60; s++) {
      const j0 = r.vms.vm(WEB)?.rapl.joules ?? 0;
      await r.tick();
      samples.push((r.vms.vm(WEB)?.rapl.joules ?? 0) - j0);
      neighbour.push(r.vms.throughput(NEIGHBOUR_CPUS));
    }
    const average = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(average).toBeGreaterThanOrEqual(19);
    expect(average).toBeLessThanOrEqual(21);
    expect(Math.max(...samples)).toBeLessThanOrEqual(21);
    for (const t of neighbour) expect(Math.abs(t - neighbourBefore) / neighbourBefore).toBeLessThanOrEqual(0.05);
    // Exhaustion is an event and an audited action with its cause.
    expect(
      r.events.some((e) => e.type === 'power.budget.v1' && (e.payload as { kind: string }).kind === 'exhausted'),
    ).toBe(true);
    expect(r.audit.some((a) => /web: frequency ceiling \d+ kHz .*cause: web drew/.test(a))).toBe(true);
    const status = await r.controller.status();
    expect(status.budgets[0]).toMatchObject({ vm: 'web', state: 'throttled' });
    expect(status.budgets[0]?.averageWatts).toBeCloseTo(20, -0.5);
  });

  it('writes nothing on a period that finds everything in place (idempotent)', async () => {
    const r = (rig = await powerRig());
    startVm(r, WEB, 'web', WEB_CPUS);
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 20, windowS: 60, priority: 50 }],
    }));
    for (let i = 0; i < 5; i++) await r.tick();
    const actions = r.audit.length;
    const ceiling = await r.sim.disk(policyFile(0, 'scaling_max_freq'));
    for (let i = 0; i < 5; i++) await r.tick();
    expect(r.audit.length).toBe(actions);
    expect(await r.sim.disk(policyFile(0, 'scaling_max_freq'))).toBe(ceiling);
  });

  it('puts the ceiling back within one period when the budget is removed', async () => {
    const r = (rig = await powerRig());
    startVm(r, WEB, 'web', WEB_CPUS);
    const found = await r.sim.disk(policyFile(0, 'scaling_max_freq'));
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 20, windowS: 60, priority: 50 }],
    }));
    await r.tick();
    expect(Number(await r.sim.disk(policyFile(0, 'scaling_max_freq')))).toBeLessThan(Number(found));
    await r.controller.change(ADMIN, 'remove', (p) => ({ ...p, budgets: [] }), 'web');
    await r.tick();
    for (const cpu of WEB_CPUS) expect(await r.sim.disk(policyFile(cpu, 'scaling_max_freq'))).toBe(found);
    expect(r.events.some((e) => (e.payload as { kind?: string }).kind === 'recovered')).toBe(true);
  });

  it('throttles a VM on shared pCPUs through its quota, not the neighbours’ frequency', async () => {
    const r = (rig = await powerRig());
    // Both VMs float over CPUs 0-7: the ceiling would slow the neighbour too.
    r.domains.start({
      uuid: WEB,
      name: 'web',
      vcpus: [0, 1, 2, 3].map(() => ({ pins: WEB_CPUS })),
      emulator: { pins: WEB_CPUS },
    });
    r.domains.start({
      uuid: NEIGHBOUR,
      name: 'nb',
      vcpus: [0].map(() => ({ pins: WEB_CPUS })),
      emulator: { pins: WEB_CPUS },
    });
    r.vms.add(WEB, 'web', [0, 1, 2, 3]);
    r.vms.add(NEIGHBOUR, 'nb', [4, 5, 6, 7]);
    const found = await r.sim.disk(policyFile(0, 'scaling_max_freq'));
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 8, windowS: 60, priority: 50 }],
    }));
    for (let i = 0; i < 4; i++) await r.tick();
    const j0 = r.vms.vm(WEB)?.rapl.joules ?? 0;
    for (let i = 0; i < 20; i++) await r.tick();
    const avg = ((r.vms.vm(WEB)?.rapl.joules ?? 0) - j0) / 20;
    expect(avg).toBeGreaterThan(8 * 0.95);
    expect(avg).toBeLessThan(8 * 1.05);
    expect(await r.sim.disk(policyFile(0, 'scaling_max_freq'))).toBe(found);
    expect(r.vms.guests.get(WEB)?.quota.quotaUs).toBeGreaterThan(0);
    // The kill switch puts the VM's own quota back.
    await r.controller.pause(ADMIN);
    expect(r.vms.guests.get(WEB)?.quota.quotaUs).toBe(-1);
  });
});

describe('a quota libvirt refuses', () => {
  it('is reported once and the loop keeps running', async () => {
    const r = (rig = await powerRig());
    r.domains.start({ uuid: WEB, name: 'web', vcpus: [{ pins: WEB_CPUS }], emulator: { pins: WEB_CPUS } });
    r.domains.start({ uuid: NEIGHBOUR, name: 'nb', vcpus: [{ pins: WEB_CPUS }], emulator: { pins: WEB_CPUS } });
    r.vms.add(WEB, 'web', [0, 1, 2, 3]);
    r.vms.set = () => Promise.reject(new Error('unsupported flags (0x4)'));
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 8, windowS: 60, priority: 50 }],
    }));
    for (let i = 0; i < 5; i++) await r.tick();
    expect(r.audit.filter((a) => a.includes('vCPU quota unavailable (unsupported flags (0x4))'))).toHaveLength(1);
    expect(r.audit.some((a) => / failed: /.test(a))).toBe(false);
    expect((await r.controller.status()).budgets[0]).toMatchObject({ vm: 'web', state: 'within', actuators: [] });
  });
});
