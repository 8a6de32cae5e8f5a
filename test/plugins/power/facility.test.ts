/**
 * Facility limits on the simulated host: a replayed PDU trace crossing 90 % of a branch rating
 * gets a first action within 5 s, keeps the branch at or under 100 % except for at most 1 s,
 * throttles the low-priority VM before the high-priority one, and cycles at most once per dwell
 * window while the load oscillates around the threshold. The thermal policy acts on its
 * prediction before the zone crosses its limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { predictTemperature } from '../../../plugins/power/facility.js';
import { powerRig, startVm, type PowerRig } from './power-fixture.js';

const BATCH = '33333333-3333-4333-8333-333333333333';
const DB = '44444444-4444-4444-8444-444444444444';
const HOST_OUTLET = 'snmp/pdu1/outlet/1/power';
const OTHER_OUTLET = 'snmp/pdu1/outlet/2/power';
const RATING = 300;
const PLATFORM_W = 40; // fans, disks, PSU losses: what the outlet sees beyond the packages

let rig: PowerRig | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

/** Other equipment on the branch: ramps across the threshold, holds high, then oscillates around it. */
function trace(s: number): number {
  if (s < 30) return 100 + 2.5 * s; // 100 → 175 W: the branch crosses 90 % at about 22 s
  if (s < 90) return 175;
  return 127 + 12 * Math.sin(((s - 90) / 20) * 2 * Math.PI);
}

describe('PDU branch rating', () => {
  it('acts within 5 s, never above 100 % for over 1 s, low priority first, one cycle per dwell', async () => {
    const dwellMs = 60_000;
    const r = (rig = await powerRig({
      budgets: [
        { vm: 'batch', watts: 40, windowS: 60, priority: 10 },
        { vm: 'db', watts: 40, windowS: 60, priority: 90 },
      ],
      facility: {
        highWater: 0.9,
        releaseBelow: 0.8,
        dwellMs,
        tightenFactor: 0.7,
        pdu: [{ name: 'branch-a', kind: 'branch', metrics: [HOST_OUTLET, OTHER_OUTLET], rating: RATING }],
        thermal: [],
      },
    }));
    startVm(r, BATCH, 'batch', [0, 1, 2, 3, 4, 5, 6, 7]);
    startVm(r, DB, 'db', [8, 9, 10, 11, 12, 13, 14, 15]);
    const t0 = r.sim.kernel.nowMs();
    // Left alone, the trace's plateau would put the branch over its rating.
    expect((r.hostWatts() + PLATFORM_W + trace(40)) / RATING).toBeGreaterThan(1.05);
    const branch: { s: number; u: number }[] = [];
    let crossedAt: number | undefined;
    for (let s = 0; s < 600; s++) {
      const now = r.sim.kernel.nowMs();
      const host = r.hostWatts() + PLATFORM_W;
      r.readings.set(HOST_OUTLET, { value: host, timestamp: now });
      r.readings.set(OTHER_OUTLET, { value: trace(s), timestamp: now });
      const u = (host + trace(s)) / RATING;
      branch.push({ s, u });
      if (crossedAt === undefined && u >= 0.9) crossedAt = now;
      await r.tick();
    }
    const facility = r.events
      .filter((e) => e.type === 'power.facility.v1')
      .map((e) => e.payload as { kind: string; level: number; timestamp: number });
    expect(crossedAt).toBeDefined();
    const first = facility[0];
    expect(first?.kind).toBe('tighten');
    expect((first?.timestamp ?? Infinity) - (crossedAt ?? 0)).toBeLessThanOrEqual(5_000);
    // Never above 100 % for more than 1 s in a row.
    let run = 0;
    let longest = 0;
    for (const b of branch) {
      run = b.u > 1 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThanOrEqual(1);
    // The low-priority VM is throttled before the high-priority one.
    const batchAt = r.audit.findIndex((a) => /batch: (frequency ceiling|vCPU quota)/.test(a));
    const dbAt = r.audit.findIndex((a) => /db: (frequency ceiling|vCPU quota)/.test(a));
    expect(batchAt).toBeGreaterThanOrEqual(0);
    expect(dbAt === -1 || batchAt < dbAt).toBe(true);
    // At most one tighten/release cycle per dwell window: releases are a dwell apart and a
    // dwell after the last tightening.
    const releases = facility.filter((e) => e.kind === 'release');
    expect(releases.length).toBeGreaterThan(0); // it does let go once the load drops
    for (let i = 0; i < facility.length; i++) {
      const e = facility[i];
      if (e?.kind !== 'release') continue;
      const prior = facility.slice(0, i);
      const lastTighten = prior.filter((x) => x.kind === 'tighten').pop();
      const lastRelease = prior.filter((x) => x.kind === 'release').pop();
      if (lastTighten !== undefined) expect(e.timestamp - lastTighten.timestamp).toBeGreaterThanOrEqual(dwellMs);
      if (lastRelease !== undefined) expect(e.timestamp - lastRelease.timestamp).toBeGreaterThanOrEqual(dwellMs);
    }
    const oscillating = facility.filter((e) => e.timestamp >= t0 + 90_000);
    const cycles = oscillating.filter((e) => e.kind === 'release').length;
    expect(cycles).toBeLessThanOrEqual(Math.ceil(510_000 / dwellMs));
    const status = await r.controller.status();
    expect(status.facility.constraints[0]).toMatchObject({ name: 'branch-a', kind: 'branch', limit: RATING });
  });
});

describe('thermal zone', () => {
  it('predicts the crossing from the zone inertia and tightens before the limit is reached', async () => {
    const r = (rig = await powerRig({
      cap: { watts: 170, correctionMs: 1000 },
      facility: {
        highWater: 0.9,
        releaseBelow: 0.8,
        dwellMs: 60_000,
        tightenFactor: 0.7,
        pdu: [],
        thermal: [{ name: 'package-0', metric: 'temp', limitC: 64, timeConstantS: 30, horizonS: 30, marginC: 2 }],
      },
    }));
    // The simulator's zone: 25 °C ambient + 0.5 °C/W · P with τ = 30 s; full load heads for 67.5 °C.
    r.sim.kernel.setLoad('all', 1);
    let tightenedAtC: number | undefined;
    let peak = 0;
    for (let s = 0; s < 240; s++) {
      const c = Number(await r.sim.kernel.read('sys/class/thermal/thermal_zone1/temp')) / 1000;
      peak = Math.max(peak, c);
      r.readings.set('temp', { value: c, timestamp: r.sim.kernel.nowMs() });
      await r.tick();
      if (tightenedAtC === undefined && r.events.some((e) => e.type === 'power.facility.v1')) tightenedAtC = c;
    }
    expect(tightenedAtC).toBeDefined();
    expect(tightenedAtC).toBeLessThan(58); // acted on the prediction, well before the crossing
    expect(peak).toBeLessThan(64);
    expect(predictTemperature(50, 0.5, 30, 30)).toBeCloseTo(50 + 15 * (1 - Math.exp(-1)), 6);
  });
});
