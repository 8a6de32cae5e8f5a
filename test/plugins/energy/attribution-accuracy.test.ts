/**
 * Accuracy against the simulator's ground truth, 10 simulated minutes per scenario at 1 Hz:
 * each VM within 2 % of its true energy, and idle + VMs + host + unattributed within 0.5 % of
 * the RAPL counters. Kepler's CPU-time split of the same energy is printed beside vpmd's, and
 * must be measurably worse where the physics makes it so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimLoad } from '../../../core/sim/index.js';
import { ENGINE_OPTIONS, report, Scenario } from './energy-harness.js';

const A = '0a000000-0000-4000-8000-00000000000a';
const B = '0b000000-0000-4000-8000-00000000000b';
const C = '0c000000-0000-4000-8000-00000000000c';
const TEN_MINUTES = 600;

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});

/** The agent starts on an idle host (30 s) before the VMs: it measures the idle floor there. */
async function warm(s: Scenario): Promise<void> {
  await s.run(30);
}

/** VM `a` on pCPUs 0 and 1 and VM `b` on pCPUs 2 and 3, one vCPU pinned to each, at these loads. */
function startPinnedPair(s: Scenario, a: SimLoad, b: SimLoad): void {
  s.kernel.vms.start({ uuid: A, name: 'a', vcpus: [0, 1].map((cpu) => ({ pins: [cpu], load: a })) });
  s.kernel.vms.start({ uuid: B, name: 'b', vcpus: [2, 3].map((cpu) => ({ pins: [cpu], load: b })) });
}

describe('energy attribution against the simulator', () => {
  it('two pinned VMs at 3:1 load, host processes beside them', async () => {
    const s = (scenario = await Scenario.open());
    await warm(s);
    s.kernel.vms.setHostLoad([6], 0.1);
    startPinnedPair(s, 0.6, 0.2);
    await s.run(TEN_MINUTES);
    const results = s.results();
    report('two pinned VMs at 3:1', results, s.balanceError());
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.02);
    expect(s.balanceError()).toBeLessThan(0.005);
    // Kepler's split is far off here (the idle split and the frequency both bias it).
    expect(Math.max(...results.map((r) => Math.abs(r.naiveError)))).toBeGreaterThan(0.1);
    expect(s.engine.host().zones[0]?.hostJoules).toBeGreaterThan(0);
  });

  it('VMs sharing pCPUs, and one alone at a higher frequency', async () => {
    const s = (scenario = await Scenario.open());
    await warm(s);
    s.kernel.vms.start({
      uuid: A,
      name: 'a',
      vcpus: [
        { pins: [0, 1], load: 0.5 },
        { pins: [0, 1], load: 0.5 },
      ],
    });
    s.kernel.vms.start({
      uuid: B,
      name: 'b',
      vcpus: [
        { pins: [0, 1], load: 0.3 },
        { pins: [0, 1], load: 0.3 },
      ],
    });
    s.kernel.vms.start({ uuid: C, name: 'c', vcpus: [{ pins: [2], load: 0.95 }], emulator: { pins: [3], load: 0.05 } });
    await s.run(TEN_MINUTES);
    const results = s.results();
    report('VMs sharing pCPUs', results, s.balanceError());
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.02);
    expect(s.balanceError()).toBeLessThan(0.005);
  });

  it('an idle host: the floor is measured and nothing is given to VMs', async () => {
    const s = (scenario = await Scenario.open());
    await s.run(TEN_MINUTES);
    const h = s.engine.host();
    report('idle host', [], s.balanceError());
    const idleW = s.kernel.power().packageW[0] as number;
    expect(h.idleFloor['package-0']?.method).toMatch(/^measured/);
    expect(Math.abs((h.idleFloor['package-0']?.watts ?? 0) - idleW) / idleW).toBeLessThan(0.005);
    const z = h.zones[0];
    expect(z?.vmJoules).toBe(0);
    expect((z?.idleJoules ?? 0) / (z?.totalJoules ?? 1)).toBeGreaterThan(0.99);
    expect(s.balanceError()).toBeLessThan(0.005);
  });

  it('a VM restart and an agent restart mid-run keep the counters monotonic and accurate', async () => {
    const s = (scenario = await Scenario.open());
    await warm(s);
    s.kernel.vms.start({
      uuid: A,
      name: 'a',
      vcpus: [
        { pins: [0], load: 0.7 },
        { pins: [1], load: 0.7 },
      ],
    });
    s.kernel.vms.start({ uuid: B, name: 'b', vcpus: [{ pins: [2], load: 0.3 }] });
    await s.run(200);
    const before = s.engine.vm(A)?.rapl.joules ?? 0;
    s.kernel.vms.stop(A);
    await s.run(20);
    expect(s.engine.vm(A)?.running).toBe(false);
    expect(s.engine.vm(A)?.rapl.joules).toBeGreaterThanOrEqual(before);
    // Same UUID, new QEMU process: its CPU times start from zero again.
    s.kernel.vms.start({
      uuid: A,
      name: 'a',
      vcpus: [
        { pins: [0], load: 0.4 },
        { pins: [1], load: 0.4 },
      ],
    });
    await s.run(180);
    const saved = await s.restartAgent();
    expect(saved.vms[A]?.zones['package-0']).toBeGreaterThan(0);
    expect(s.engine.vm(A)?.rapl.joules).toBeCloseTo(saved.vms[A]?.zones['package-0'] ?? 0, -3);
    await s.run(200);
    const results = s.results();
    report('VM restart + agent restart', results, s.balanceError());
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.02);
    const history = s.engine.history(A, 0).map((p) => p.joules);
    for (let i = 1; i < history.length; i++) expect(history[i]).toBeGreaterThanOrEqual(history[i - 1] as number);
  });

  it('fluctuating loads fit the weight curve even from a wrong static share (0.45 instead of 0.2)', async () => {
    const prior = { ...ENGINE_OPTIONS.model, staticShare: 0.45 };
    const s = (scenario = await Scenario.open({ options: { model: prior } }));
    await warm(s);
    s.kernel.vms.setHostLoad([6], 0.1);
    const a = { mean: 0.6, amplitude: 0.3, periodS: 70 };
    const b = { mean: 0.2, amplitude: 0.1, periodS: 110 };
    startPinnedPair(s, a, b);
    await s.run(TEN_MINUTES);
    const results = s.results();
    report('fluctuating 3:1, wrong prior', results, s.balanceError());
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.02);
  });

  it('VMs running before the agent: no quiet interval, the floor is estimated (reported, looser bound)', async () => {
    const s = (scenario = await Scenario.open());
    const a = { mean: 0.6, amplitude: 0.3, periodS: 70 };
    const b = { mean: 0.2, amplitude: 0.1, periodS: 110 };
    startPinnedPair(s, a, b);
    await s.run(TEN_MINUTES);
    const results = s.results();
    report('VMs before the agent (floor estimated)', results, s.balanceError());
    expect(s.engine.host().idleFloor['package-0']?.method).toMatch(/^estimated: intercept/);
    // Outside the 2 % goal (docs/energy.md): the estimated floor comes out a little high.
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.06);
    expect(s.balanceError()).toBeLessThan(0.005);
  });

  it('a RAPL counter wrap during the run', async () => {
    // 200 J below max_energy_range_uj: at about 20 W the counter wraps within the first minute.
    const s = (scenario = await Scenario.open({ raplStartUj: 262_143_328_850 - 200_000_000 }));
    await warm(s);
    // Loads that move, as real guests' do: the weight curve is fitted from how power follows them.
    const a = { mean: 0.8, amplitude: 0.15, periodS: 90 };
    const b = { mean: 0.3, amplitude: 0.1, periodS: 130 };
    startPinnedPair(s, a, b);
    await s.run(TEN_MINUTES);
    const results = s.results();
    report('RAPL wrap', results, s.balanceError());
    expect(s.raplDeltaJ()[0]).toBeGreaterThan(200);
    for (const r of results) expect(Math.abs(r.vpmdError)).toBeLessThan(0.02);
    expect(s.balanceError()).toBeLessThan(0.005);
  });
});
