/**
 * ProcessorSpeeds: a Processor GET reads each policy's settings and speed live (three files per
 * policy), not every policy in full; which policies govern which CPUs is read again only after
 * `forget()`, the placement's time-to-live, or a live file that went away. Over a simulated
 * host's files on disk, through the real file backend (kept-open descriptors) and a counting one.
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealSysfs } from '../../../core/index.js';
import { CountingSysfs } from '../../../testkit/counting-sysfs.js';
import { createHostModel } from '../../../core/host/host-model.js';
import { generateSimulatedHost } from '../../../core/sim/index.js';
import { ProcessorSpeeds } from '../../../plugins/redfish/resources/processor-speeds.js';

const POLICY = (id: number): string => `sys/devices/system/cpu/cpufreq/policy${id}`;
const ALL_CPUS = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
const HOUR = 3_600_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-processor-speeds-'));
  await generateSimulatedHost(dir, { profile: 'intel-acpi-cpufreq-8' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ProcessorSpeeds', () => {
  it('gives what a full policy read gives, then reads only three files per policy per call', async () => {
    const backend = new CountingSysfs(new RealSysfs(dir));
    const host = createHostModel(backend);
    const speeds = new ProcessorSpeeds(host, HOUR);
    const full = await host.cpufreq.policies();
    const first = await speeds.ofPackage(0, ALL_CPUS);
    expect(first).toEqual(
      full.map((p) => ({
        id: p.id,
        cpuinfoMinKHz: p.cpuinfoMinKHz,
        cpuinfoMaxKHz: p.cpuinfoMaxKHz,
        scalingMinKHz: p.scalingMinKHz,
        scalingMaxKHz: p.scalingMaxKHz,
        scalingCurKHz: p.scalingCurKHz,
      })),
    );
    backend.reads.clear();
    await speeds.ofPackage(0, ALL_CPUS);
    expect(backend.totalReads()).toBe(3 * full.length);
    expect([...backend.reads.keys()].every((f) => /scaling_(min|max|cur)_freq$/.test(f))).toBe(true);
    speeds.close();
  });

  it('shows a setting changed behind its back at once, through kept-open files on a real tree', async () => {
    const host = createHostModel(new RealSysfs(dir));
    const speeds = new ProcessorSpeeds(host, HOUR);
    const before = await speeds.ofPackage(0, ALL_CPUS);
    expect(before[1]?.scalingMaxKHz).not.toBe(2_000_000);
    await writeFile(join(dir, POLICY(1), 'scaling_max_freq'), '2000000\n');
    const after = await speeds.ofPackage(0, ALL_CPUS);
    expect(after[1]?.scalingMaxKHz).toBe(2_000_000);
    expect(after[0]?.scalingMaxKHz).toBe(before[0]?.scalingMaxKHz);
    speeds.close();
  });

  it('keeps only the policies of the package asked for', async () => {
    const speeds = new ProcessorSpeeds(createHostModel(new RealSysfs(dir)), HOUR);
    expect((await speeds.ofPackage(0, new Set([2, 3]))).map((p) => p.id)).toEqual([2, 3]);
    expect(await speeds.ofPackage(1, new Set([42]))).toEqual([]);
    speeds.close();
  });

  it('reads the policies in full again when a live file went away (the policy is no longer usable)', async () => {
    const backend = new CountingSysfs(new RealSysfs(dir));
    const speeds = new ProcessorSpeeds(createHostModel(backend), HOUR);
    expect((await speeds.ofPackage(0, ALL_CPUS)).map((p) => p.id)).toContain(7);
    await unlink(join(dir, POLICY(7), 'scaling_min_freq'));
    backend.reads.clear();
    const after = await speeds.ofPackage(0, ALL_CPUS);
    expect(after.map((p) => p.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // A full read happened: files beyond the three live ones were read.
    expect(backend.reads.get(`${POLICY(0)}/scaling_driver`)).toBe(1);
    speeds.close();
  });

  it('reads the placement again after forget()', async () => {
    const backend = new CountingSysfs(new RealSysfs(dir));
    const speeds = new ProcessorSpeeds(createHostModel(backend), HOUR);
    await speeds.ofPackage(0, ALL_CPUS);
    backend.reads.clear();
    speeds.forget();
    await speeds.ofPackage(0, ALL_CPUS);
    expect(backend.reads.get(`${POLICY(0)}/scaling_driver`)).toBe(1);
    speeds.close();
  });
});
