/**
 * The actuator on a simulated acpi-cpufreq host: the per-request path writes setspeed alone, and
 * a policy changed behind vpmd's back (governor switched, limits narrowed) is put back by the
 * next request, as the full path always did.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHostModel, type HostModel } from '../../../core/host/index.js';
import { createLogger } from '../../../core/logger.js';
import { createTemporarySimulatedHost, type TemporarySimulatedHost } from '../../../core/sim/index.js';
import { Actuator, type SavedPolicy } from '../../../plugins/virtio-channels/power/actuator.js';
import { SIM_PARENT } from '../../core/sim/sim-fixture.js';

let sim: TemporarySimulatedHost;
let host: HostModel;
let saved: readonly SavedPolicy[];
let actuator: Actuator;
const cat = async (file: string): Promise<string> =>
  (await readFile(join(sim.dir, 'sys/devices/system/cpu/cpufreq/policy2', file), 'utf8')).trim();

beforeEach(async () => {
  sim = await createTemporarySimulatedHost({
    profile: 'intel-acpi-cpufreq-8',
    ...(SIM_PARENT === undefined ? {} : { parent: SIM_PARENT }),
  });
  host = createHostModel(sim.kernel);
  saved = [];
  actuator = new Actuator(host, createLogger({ level: 'silent' }), (list) => {
    saved = list;
    return Promise.resolve();
  });
  await actuator.ladderFor(2);
});
afterEach(() => sim.dispose());

describe('Actuator', () => {
  it('saves the originals once, then changes frequency with one setspeed write per change and none for the same target', async () => {
    expect(await actuator.apply(2, 3_000_000)).toMatchObject({ kHz: 3_000_000 });
    expect(saved).toEqual([expect.objectContaining({ policy: 2, governor: 'schedutil' })]);
    expect([await cat('scaling_governor'), await cat('scaling_setspeed')]).toEqual(['userspace', '3000000']);
    expect(await actuator.apply(2, 2_000_000)).toEqual({ kHz: 2_000_000, writes: 1 });
    expect(await cat('scaling_setspeed')).toBe('2000000');
    expect(await actuator.apply(2, 2_000_000)).toEqual({ kHz: 2_000_000, writes: 0 });
    expect(actuator.isSettled(2, 2_000_000)).toBe(true);
    expect(actuator.isSettled(2, 3_000_000)).toBe(false);
  });

  it('puts the governor back when someone else switched it', async () => {
    await actuator.apply(2, 3_000_000);
    await host.cpufreq.setGovernor(2, 'schedutil');
    expect(await actuator.apply(2, 2_000_000)).toMatchObject({ kHz: 2_000_000 });
    expect([await cat('scaling_governor'), await cat('scaling_setspeed')]).toEqual(['userspace', '2000000']);
  });

  it('opens limits someone else narrowed, so that the request is not silently clamped', async () => {
    await actuator.apply(2, 2_000_000);
    await host.cpufreq.setLimits(2, { maxKHz: 2_000_000 });
    expect(await actuator.apply(2, 3_000_000)).toMatchObject({ kHz: 3_000_000 });
    expect([await cat('scaling_max_freq'), await cat('scaling_setspeed')]).toEqual([
      await cat('cpuinfo_max_freq'),
      '3000000',
    ]);
  });

  it('restores the original governor and limits', async () => {
    await actuator.apply(2, 2_000_000);
    await actuator.restore(2);
    expect(await cat('scaling_governor')).toBe('schedutil');
    expect(saved).toEqual([]);
  });
});
