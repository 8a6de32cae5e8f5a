/**
 * The host cap on the simulated host: full load under a cap of X W stays at or under X + 3 %
 * in 95 % of 1 s samples, an outside write to the RAPL limit is undone within one period, a
 * limit that does not stick or is locked is reported, and pause puts the found limits back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VpmdError } from '../../../core/errors.js';
import { ADMIN, powerRig, type PowerRig } from './power-fixture.js';

const PL1 = (pkg: number): string => `sys/class/powercap/intel-rapl:${pkg}/constraint_0_power_limit_uw`;
const WINDOW = (pkg: number): string => `sys/class/powercap/intel-rapl:${pkg}/constraint_0_time_window_us`;

let rig: PowerRig | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

async function fullLoad(r: PowerRig): Promise<void> {
  r.sim.kernel.setLoad('all', 1);
  expect(r.hostWatts()).toBeGreaterThan(150); // uncapped: the cap must bind
  await r.tick();
}

describe('host power cap', () => {
  it('keeps 95 % of 1 s samples at or under X + 3 % under full load', async () => {
    const r = (rig = await powerRig({ cap: { watts: 120, correctionMs: 1000 } }));
    await fullLoad(r);
    const samples: number[] = [];
    for (let s = 0; s < 60; s++) {
      const e0 = r.hostWatts();
      await r.tick();
      samples.push(e0);
    }
    const within = samples.filter((w) => w <= 120 * 1.03).length / samples.length;
    expect(within).toBeGreaterThanOrEqual(0.95);
    expect(await r.sim.disk(PL1(0))).toBe('60000000');
    expect(await r.sim.disk(WINDOW(1))).toBe('1000000');
    const cap = await r.controller.capStatus();
    expect(cap).toMatchObject({ watts: 120, effectiveWatts: 120, mode: 'Automatic', health: 'ok' });
    expect(cap.readingWatts).toBeCloseTo(120, 0);
  });

  it('undoes an outside write within one period and says so', async () => {
    const r = (rig = await powerRig({ cap: { watts: 120, correctionMs: 1000 } }));
    await fullLoad(r);
    await r.sim.kernel.write(PL1(0), '85000000'); // firmware or another agent
    await r.tick();
    expect(await r.sim.disk(PL1(0))).toBe('60000000');
    expect(r.audit.some((a) => /written by someone else, put back .*cause: an outside write/.test(a))).toBe(true);
    expect(r.events.some((e) => (e.payload as { kind?: string }).kind === 'reapplied')).toBe(true);
  });

  it('is idempotent: a second period writes nothing', async () => {
    const r = (rig = await powerRig({ cap: { watts: 120, correctionMs: 1000 } }));
    await fullLoad(r);
    const n = r.audit.length;
    const writes: string[] = [];
    const write = r.sim.kernel.write.bind(r.sim.kernel);
    r.sim.kernel.write = (p: string, v: string): Promise<void> => {
      writes.push(p);
      return write(p, v);
    };
    await r.tick();
    await r.tick();
    expect(writes).toEqual([]);
    expect(r.audit.length).toBe(n);
  });

  it('reports a locked limit and a limit that does not stick', async () => {
    const r = (rig = await powerRig());
    const write = r.sim.kernel.write.bind(r.sim.kernel);
    r.sim.kernel.write = (p: string, v: string): Promise<void> =>
      p.endsWith('power_limit_uw')
        ? Promise.reject(new VpmdError('E_HOST_IO', `write ${p}: EACCES`, { errno: 'EACCES' }))
        : write(p, v);
    await r.controller.change(ADMIN, 'cap', (p) => ({ ...p, cap: { watts: 100, correctionMs: 1000 } }));
    expect(await r.controller.capStatus()).toMatchObject({ health: 'locked' });
    expect(r.events.some((e) => (e.payload as { kind?: string }).kind === 'locked')).toBe(true);
    // Firmware that takes the write and puts its own value back.
    r.sim.kernel.write = async (p: string, v: string): Promise<void> => {
      await write(p, v);
      if (p.endsWith('power_limit_uw')) await write(p, '85000000');
    };
    await r.tick();
    const s = await r.controller.capStatus();
    expect(s.health).toBe('not-sticking');
    expect(s.detail).toMatch(/read back PL1 85000000 µW \(wanted 50000000\)/);
  });

  it('pause puts back the limits found before the first write; resume applies again', async () => {
    const r = (rig = await powerRig({ cap: { watts: 120, correctionMs: 1000 } }));
    const found = [await r.sim.disk(PL1(0)), await r.sim.disk(WINDOW(0))];
    await r.tick();
    expect(await r.sim.disk(PL1(0))).toBe('60000000');
    await r.controller.pause(ADMIN);
    expect([await r.sim.disk(PL1(0)), await r.sim.disk(WINDOW(0))]).toEqual(found);
    await r.tick();
    expect(await r.sim.disk(PL1(0))).toBe(found[0]);
    expect((await r.controller.capStatus()).health).toBe('paused');
    await r.controller.resume(ADMIN);
    expect(await r.sim.disk(PL1(0))).toBe('60000000');
  });

  it('resumes after a restart from the persisted policy and knobs', async () => {
    const r = (rig = await powerRig());
    const found = await r.sim.disk(PL1(0));
    await r.controller.change(ADMIN, 'cap', (p) => ({ ...p, cap: { watts: 110, correctionMs: 2000 } }));
    const c2 = await r.reopen();
    expect(c2.policy.cap).toEqual({ watts: 110, correctionMs: 2000 });
    await r.tick();
    expect(await r.sim.disk(PL1(0))).toBe('55000000');
    await c2.pause(ADMIN);
    expect(await r.sim.disk(PL1(0))).toBe(found);
  });
});
