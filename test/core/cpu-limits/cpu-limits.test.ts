/** cpu-limits@1: owners' claims intersect, the core writes the window, and puts back what it found. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuLimitsService } from '../../../core/cpu-limits/cpu-limits-service.js';
import { createLogger } from '../../../core/logger.js';
import { StateStore } from '../../../core/state/index.js';
import { expectCode, policyFile, simHost, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await sim?.dispose();
  if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  sim = undefined;
  stateDir = undefined;
});

async function open(): Promise<{ sim: SimFixture; limits: () => CpuLimitsService }> {
  sim = await simHost('intel-acpi-cpufreq-8');
  stateDir = await mkdtemp(join(tmpdir(), 'vpmd-cpu-limits-'));
  const state = new StateStore(stateDir);
  const s = sim;
  const limits = (): CpuLimitsService =>
    new CpuLimitsService({ cpufreq: s.host.cpufreq, state, log: createLogger({ level: 'silent' }) });
  return { sim: s, limits };
}

describe('claims by several owners', () => {
  it('writes the lowest ceiling and the highest floor, and says who set each', async () => {
    const { sim, limits } = await open();
    const l = limits();
    await l.claim('profiles:bulk', [2, 3], { minKHz: 1_600_000, maxKHz: 3_000_000 }, 'profile bulk');
    await l.claim('power:budget:web-1', [3], { maxKHz: 2_000_000 }, 'VM web-1 over its 20 W budget');
    expect(await sim.disk(policyFile(2, 'scaling_max_freq'))).toBe('3000000');
    expect(await sim.disk(policyFile(3, 'scaling_max_freq'))).toBe('2000000');
    expect(await sim.disk(policyFile(3, 'scaling_min_freq'))).toBe('1600000');
    const e = l.effective(3);
    expect(e.maxBy?.owner).toBe('power:budget:web-1');
    expect(e.minBy?.owner).toBe('profiles:bulk');
    // Untouched CPUs keep what they had.
    expect(await sim.disk(policyFile(4, 'scaling_max_freq'))).toBe('3801000');
  });

  it('lets a ceiling win over a floor that crosses it', async () => {
    const { sim, limits } = await open();
    const l = limits();
    await l.claim('profiles:fast', [1], { minKHz: 3_000_000 }, 'profile fast');
    await l.claim('power:thermal', [1], { maxKHz: 2_000_000 }, 'zone 0 near its limit');
    expect(l.effective(1)).toMatchObject({ minKHz: 2_000_000, maxKHz: 2_000_000 });
    expect(await sim.disk(policyFile(1, 'scaling_min_freq'))).toBe('2000000');
  });

  it('refuses a claim with min above max and changes nothing', async () => {
    const { sim, limits } = await open();
    const l = limits();
    const err = await expectCode(
      l.claim('profiles:x', [0], { minKHz: 3_000_000, maxKHz: 2_000_000 }, 'x'),
      'E_CPU_LIMITS_INVALID',
    );
    expect(err.message).toMatch(/minKHz 3000000 is above maxKHz 2000000/);
    expect(l.claimed()).toEqual([]);
    expect(await sim.disk(policyFile(0, 'scaling_max_freq'))).toBe('3801000');
  });
});

describe('restoring', () => {
  it('puts back the found window when the last claim goes, and writes nothing when nothing changes', async () => {
    const { sim, limits } = await open();
    const l = limits();
    const changes: number[][] = [];
    l.onChange((cpus) => changes.push([...cpus]));
    await l.claim('power:cap', [5], { maxKHz: 2_200_000 }, 'cap');
    await l.claim('power:cap', [5], { maxKHz: 2_200_000 }, 'cap');
    expect(changes).toEqual([[5]]);
    await l.release('power:cap');
    expect(await sim.disk(policyFile(5, 'scaling_max_freq'))).toBe('3801000');
    expect(changes).toEqual([[5], [5]]);
  });

  it('restores, at the next start, what a run that crashed had found', async () => {
    const { sim, limits } = await open();
    await limits().claim('power:cap', [6], { maxKHz: 1_800_000 }, 'cap');
    expect(await sim.disk(policyFile(6, 'scaling_max_freq'))).toBe('1800000');
    // The first service is dropped without stop: a new one at start finds what it saved.
    await limits().restoreLeftovers();
    expect(await sim.disk(policyFile(6, 'scaling_max_freq'))).toBe('3801000');
  });

  it('leaves a held CPU to its holder', async () => {
    const { sim, limits } = await open();
    const l = limits();
    l.hold('virtio-channels', [7]);
    await l.claim('profiles:bulk', [7], { maxKHz: 2_000_000 }, 'profile bulk');
    expect(await sim.disk(policyFile(7, 'scaling_max_freq'))).toBe('3801000');
    expect(l.effective(7)).toMatchObject({ maxKHz: 2_000_000, heldBy: 'virtio-channels' });
    await l.unhold('virtio-channels');
    expect(await sim.disk(policyFile(7, 'scaling_max_freq'))).toBe('2000000');
  });
});
