/**
 * Per-VM budgets on the simulated host (issue #16's goals): a fully loaded VM with a 20 W budget
 * settles within ±5 % after two periods without overshooting by more than 5 %, a neighbour on
 * other pCPUs keeps its throughput, and removing the budget puts the knobs back within a period.
 * The last rung: when the ceiling and the quota are spent, the VM's guest requests to raise
 * their frequency are denied (cpu-limits@1) with the reason, and recovery lifts the denial.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFile } from '../../core/sim/sim-fixture.js';
import { ADMIN, powerRig, startVm, type PowerRig } from './power-fixture.js';
import { QUOTA_FLOOR, nextActuators } from '../../../plugins/power/budget-law.js';

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
    // Shared pCPUs and no quota: nothing gentler is left, so the guests' raises are denied.
    expect((await r.controller.status()).budgets[0]).toMatchObject({
      vm: 'web',
      state: 'throttled',
      actuators: ['guest-raise-denied'],
    });
    expect(r.audit.filter((a) => a.includes('guest requests to raise the frequency denied'))).toHaveLength(1);
  });
});

describe('the last rung: guest-channel denials', () => {
  it('denies the guests’ raises once ceiling and quota are spent, with the reason, and lifts it on recovery', async () => {
    const r = (rig = await powerRig());
    r.domains.start({
      uuid: WEB,
      name: 'web',
      vcpus: [0, 1, 2, 3].map(() => ({ pins: WEB_CPUS })),
      emulator: { pins: WEB_CPUS },
    });
    r.domains.start({ uuid: NEIGHBOUR, name: 'nb', vcpus: [{ pins: WEB_CPUS }], emulator: { pins: WEB_CPUS } });
    r.vms.add(WEB, 'web', [0, 1, 2, 3]);
    r.vms.add(NEIGHBOUR, 'nb', [4, 5, 6, 7]);
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 0.01, windowS: 60, priority: 50 }],
    }));
    expect(r.limits.raiseDenied('web')).toBeUndefined();
    for (let i = 0; i < 6; i++) await r.tick();
    // The quota is at its floor and the VM still draws more: its guests may not scale up.
    expect(r.vms.guests.get(WEB)?.quota.quotaUs).toBe(QUOTA_FLOOR * 100_000);
    const denial = r.limits.raiseDenied(WEB);
    expect(denial).toMatchObject({ owner: 'power:budget:web', uuid: WEB, name: 'web' });
    expect(denial?.reason).toBe(
      'VM web is over its 0.01 W power budget with its frequency ceiling and CPU quota spent',
    );
    expect(r.limits.raiseDenied('web')).toEqual(denial);
    expect(r.limits.raiseDenied('nb')).toBeUndefined();
    expect(
      r.audit.some((a) =>
        /web: guest requests to raise the frequency denied \(cause: web drew [\d.]+ W against 0\.0 W\)/.test(a),
      ),
    ).toBe(true);
    const status = await r.controller.status();
    expect(status.budgets[0]?.actuators).toContain('guest-raise-denied');
    expect(status.lastActions.some((a) => a.action === 'web: guest requests to raise the frequency denied')).toBe(true);
    // A period that finds everything in place keeps the denial and writes nothing.
    const audits = r.audit.length;
    await r.tick();
    expect(r.audit.length).toBe(audits);
    expect(r.limits.raiseDenied(WEB)).toBeDefined();
    // The budget grows past what the VM draws: the quota rises and the denial lifts first.
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 200, windowS: 60, priority: 50 }],
    }));
    await r.tick();
    expect(r.limits.raiseDenied(WEB)).toBeUndefined();
    expect(r.audit.some((a) => a.includes('web: guest requests to raise the frequency allowed again'))).toBe(true);
    for (let i = 0; i < 6; i++) await r.tick();
    expect(r.events.some((e) => (e.payload as { kind?: string }).kind === 'recovered')).toBe(true);
  });

  it('is lifted by the kill switch with the other knobs', async () => {
    const r = (rig = await powerRig());
    r.domains.start({ uuid: WEB, name: 'web', vcpus: [{ pins: WEB_CPUS }], emulator: { pins: WEB_CPUS } });
    r.domains.start({ uuid: NEIGHBOUR, name: 'nb', vcpus: [{ pins: WEB_CPUS }], emulator: { pins: WEB_CPUS } });
    r.vms.add(WEB, 'web', [0, 1, 2, 3]);
    await r.tick();
    await r.controller.change(ADMIN, 'budget', (p) => ({
      ...p,
      budgets: [{ vm: 'web', watts: 0.01, windowS: 60, priority: 50 }],
    }));
    for (let i = 0; i < 6; i++) await r.tick();
    expect(r.limits.raiseDenied(WEB)).toBeDefined();
    await r.controller.pause(ADMIN);
    expect(r.limits.raiseDenied(WEB)).toBeUndefined();
    expect(r.limits.raiseDenials()).toEqual([]);
  });

  it('the law: denial only when the gentler rungs are spent and the VM is still over', () => {
    const base = { targetW: 10, runKHz: 1_000_000, minKHz: 800_000, maxKHz: 3_000_000 };
    // Quota at its floor, still over: deny.
    expect(nextActuators({ quota: QUOTA_FLOOR }, { ...base, measuredW: 20, exclusive: false })).toEqual({
      quota: QUOTA_FLOOR,
      deny: true,
    });
    // Quota above its floor: not yet.
    expect(nextActuators({ quota: 0.5 }, { ...base, measuredW: 12, exclusive: false }).deny).toBeUndefined();
    // No quota actuator, exclusive pCPUs, the ceiling at the lowest frequency: deny.
    expect(
      nextActuators({ ceilingKHz: 800_000 }, { ...base, measuredW: 20, exclusive: true, quotaAvailable: false }),
    ).toEqual({ ceilingKHz: 800_000, deny: true });
    // No quota actuator, the ceiling still has room: the ceiling moves, no denial.
    expect(
      nextActuators({ ceilingKHz: 2_000_000 }, { ...base, measuredW: 12, exclusive: true, quotaAvailable: false }).deny,
    ).toBeUndefined();
    // Denied, and the VM falls well under: the quota moves up and the denial lifts.
    const after = nextActuators({ quota: QUOTA_FLOOR, deny: true }, { ...base, measuredW: 2, exclusive: false });
    expect(after.deny).toBeUndefined();
    expect(after.quota).toBeGreaterThan(QUOTA_FLOOR);
  });
});
