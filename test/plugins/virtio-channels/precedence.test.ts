/** Frequency ladders per driver and the host precedence policy, as pure functions. */
import { describe, expect, it } from 'vitest';
import type { CpufreqPolicy } from '../../../core/index.js';
import {
  ladderOf,
  middleStep,
  stepDown,
  stepUp,
  type FrequencyLadder,
} from '../../../plugins/virtio-channels/power/frequency-ladder.js';
import { effectiveRequest, resolvePcpu } from '../../../plugins/virtio-channels/power/precedence.js';

const base: CpufreqPolicy = {
  id: 0,
  path: 'p',
  affectedCpus: [0],
  relatedCpus: [0],
  driver: 'acpi-cpufreq',
  governor: 'schedutil',
  availableGovernors: ['userspace', 'performance', 'schedutil'],
  cpuinfoMinKHz: 1_200_000,
  cpuinfoMaxKHz: 3_801_000,
  scalingMinKHz: 1_200_000,
  scalingMaxKHz: 3_801_000,
  setspeed: 'unsupported',
  availableFrequenciesKHz: [3_801_000, 3_800_000, 3_000_000, 2_000_000, 1_200_000],
};
const ladder = (p: CpufreqPolicy): FrequencyLadder => {
  const l = ladderOf(p);
  if ('error' in l) throw new Error(l.error);
  return l;
};

describe('frequency ladders', () => {
  it('treats the first table entry as turbo only when it is 1000 kHz above the second (DPDK’s rule)', () => {
    const l = ladder(base);
    expect(l).toMatchObject({
      mode: 'setspeed',
      nominalMaxKHz: 3_800_000,
      maxKHz: 3_801_000,
      hasTurbo: true,
      minKHz: 1_200_000,
    });
    const noTurbo = ladder({ ...base, availableFrequenciesKHz: [3_600_000, 3_000_000, 1_200_000] });
    expect(noTurbo).toMatchObject({ nominalMaxKHz: 3_600_000, hasTurbo: false });
  });

  it('synthesises 100 MHz steps without a table, with turbo above base_frequency', () => {
    const l = ladder({
      ...base,
      driver: 'intel_pstate',
      availableGovernors: ['performance', 'powersave'],
      setspeed: 'unsupported',
      availableFrequenciesKHz: undefined,
      cpuinfoMinKHz: 800_000,
      cpuinfoMaxKHz: 3_000_000,
      baseFrequencyKHz: 2_100_000,
    });
    expect(l).toMatchObject({ mode: 'window', nominalMaxKHz: 2_100_000, maxKHz: 3_000_000, hasTurbo: true });
    expect(l.steps.slice(0, 3)).toEqual([800_000, 900_000, 1_000_000]);
    expect(stepUp(l, 2_000_000, l.nominalMaxKHz)).toBe(2_100_000);
    expect(stepUp(l, 2_100_000, l.nominalMaxKHz)).toBe(2_100_000);
    expect(stepDown(l, 800_000)).toBe(800_000);
  });

  it('refuses a policy with neither userspace nor performance', () => {
    expect(ladderOf({ ...base, availableGovernors: ['schedutil'] })).toEqual({
      error: expect.stringMatching(/neither the userspace nor the performance/),
    });
  });

  it('picks the middle nominal step for MEDIUM', () => {
    expect(middleStep(ladder(base))).toBe(2_000_000);
  });
});

describe('precedence', () => {
  const l = ladder(base);

  it('clamps into VM and pCPU bounds and snaps to a step; the upper bound wins a conflict', () => {
    expect(effectiveRequest(l, 3_800_000, { maxKHz: 3_500_000 }, {}, false)).toEqual({ kHz: 3_000_000, clamped: true });
    expect(effectiveRequest(l, 1_200_000, {}, { minKHz: 1_900_000 }, false)).toEqual({ kHz: 2_000_000, clamped: true });
    expect(effectiveRequest(l, 2_000_000, { minKHz: 3_000_000 }, { maxKHz: 2_000_000 }, false).kHz).toBe(2_000_000);
    expect(effectiveRequest(l, 3_801_000, {}, {}, false).kHz).toBe(3_800_000);
    expect(effectiveRequest(l, 3_801_000, {}, {}, true)).toEqual({ kHz: 3_801_000, clamped: false });
  });

  const vm = (requests: Record<number, number>, turbo: number[] = [], bounds = {}) => ({
    requests: new Map(Object.entries(requests).map(([v, kHz]) => [Number(v), kHz])),
    turbo: new Set(turbo),
    bounds,
  });

  it('runs a shared pCPU at the highest request; silent VMs and foreign domains count as nominal max', () => {
    const a = { vm: vm({ 0: 1_200_000 }), vcpus: [0] };
    const b = { vm: vm({ 1: 2_000_000 }), vcpus: [1] };
    const silent = { vm: vm({}), vcpus: [0] };
    expect(resolvePcpu(l, [a, b], {}, 0)).toEqual({ kHz: 2_000_000, asked: true });
    expect(resolvePcpu(l, [a, silent], {}, 0)).toEqual({ kHz: 3_800_000, asked: true });
    expect(resolvePcpu(l, [a], {}, 1)).toEqual({ kHz: 3_800_000, asked: true });
    expect(resolvePcpu(l, [a], { maxKHz: 2_000_000 }, 1)).toEqual({ kHz: 2_000_000, asked: true });
    expect(resolvePcpu(l, [silent], {}, 0)).toEqual({ kHz: 3_800_000, asked: false });
  });

  it('takes a VM at nominal max until all its vCPUs on the pCPU asked, then at its highest request', () => {
    const half = { vm: vm({ 0: 1_200_000 }), vcpus: [0, 1] };
    expect(resolvePcpu(l, [half], {}, 0)).toEqual({ kHz: 3_800_000, asked: true });
    const both = { vm: vm({ 0: 1_200_000, 1: 2_000_000 }), vcpus: [0, 1] };
    expect(resolvePcpu(l, [both], {}, 0).kHz).toBe(2_000_000);
  });

  it('uses turbo steps only for a VM that enabled turbo on a vCPU there, within its bounds', () => {
    expect(resolvePcpu(l, [{ vm: vm({ 0: 3_801_000 }), vcpus: [0] }], {}, 0).kHz).toBe(3_800_000);
    expect(resolvePcpu(l, [{ vm: vm({ 0: 3_801_000 }, [0]), vcpus: [0] }], {}, 0).kHz).toBe(3_801_000);
    expect(resolvePcpu(l, [{ vm: vm({ 0: 3_801_000 }, [0], { maxKHz: 3_000_000 }), vcpus: [0] }], {}, 0).kHz).toBe(
      3_000_000,
    );
  });

  it('agrees with effectiveRequest for a single asking VM under every bound combination', () => {
    const bounds = [{}, { minKHz: 1_900_000 }, { maxKHz: 2_500_000 }, { minKHz: 3_000_000, maxKHz: 2_000_000 }];
    for (const raw of [1_200_000, 2_000_000, 3_000_000, 3_800_000, 3_801_000]) {
      for (const vb of bounds) {
        for (const pb of bounds) {
          for (const turbo of [false, true]) {
            const expected = effectiveRequest(l, raw, vb, pb, turbo).kHz;
            expect(resolvePcpu(l, [{ vm: vm({ 0: raw }, turbo ? [0] : [], vb), vcpus: [0] }], pb, 0).kHz).toBe(
              expected,
            );
          }
        }
      }
    }
  });
});
