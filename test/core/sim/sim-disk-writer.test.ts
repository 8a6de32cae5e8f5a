/** The simulated kernel's write-through: files in place at once, the marker once per window. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BULK_SLICE, MARKER_DELAY_MS, SimDiskWriter } from '../../../core/sim/sim-disk-writer.js';
import { SIM_MARKER } from '../../../core/sim/sim-state.js';
import { createTemporarySimulatedHost } from '../../../core/sim/index.js';
import { policyFile, SIM_PARENT, T0 } from './sim-fixture.js';

let root: string;
const cat = (p: string): Promise<string> => readFile(join(root, p), 'utf8');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-sim-writer-'));
  await mkdir(join(root, 'd'));
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

describe('SimDiskWriter', () => {
  it('rewrites a file in place: a shorter value leaves no old bytes behind', async () => {
    const w = new SimDiskWriter(root, () => '{}');
    await writeFile(join(root, 'd/f'), 'something much longer\n');
    w.writeFile('d/f', '2000000');
    expect(await cat('d/f')).toBe('2000000\n');
    w.writeFile('d/f', '800000');
    expect(await cat('d/f')).toBe('800000\n');
    w.writeFile('d/f', '');
    expect(await cat('d/f')).toBe('');
  });

  it('writes the marker once per window, with the state as it is then, and at once on flush', async () => {
    // The window is a timer in the writer: a fake clock moves it, the machine's speed cannot.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let state = 0;
    let written = 0;
    const w = new SimDiskWriter(root, () => {
      written++;
      return JSON.stringify({ state });
    });
    for (state = 1; state <= 50; state++) w.saveMarker();
    expect(written).toBe(0);
    await w.flush();
    expect(written).toBe(1);
    expect(JSON.parse(await cat(SIM_MARKER))).toEqual({ state: 51 });
    await w.flush();
    expect(written).toBe(1);
    state = 52;
    w.saveMarker();
    w.saveMarker();
    vi.advanceTimersByTime(MARKER_DELAY_MS - 1);
    expect(written).toBe(1);
    vi.advanceTimersByTime(1);
    expect(written).toBe(2);
    vi.advanceTimersByTime(10 * MARKER_DELAY_MS);
    expect(written).toBe(2);
    expect(JSON.parse(await cat(SIM_MARKER))).toEqual({ state: 52 });
  });

  it('reports a failed marker write at the next flush, once', async () => {
    const w = new SimDiskWriter(join(root, 'gone'), () => '{}');
    w.saveMarker();
    await expect(w.flush()).rejects.toThrow(/ENOENT/);
    await expect(w.flush()).resolves.toBeUndefined();
  });

  it('writes in slices, reading each value when its slice is written', async () => {
    const w = new SimDiskWriter(root, () => '{}');
    const paths = Array.from({ length: BULK_SLICE * 2 + 1 }, (_, i) => `d/f${i}`);
    const values = new Map(paths.map((p) => [p, 'old']));
    const last = paths[paths.length - 1] as string;
    let yielded = false;
    setImmediate(() => {
      yielded = true;
      values.set(last, 'new');
    });
    await w.writeMany(paths, (p) => values.get(p));
    expect(yielded).toBe(true);
    expect(await cat(last)).toBe('new\n');
    expect(await cat('d/f0')).toBe('old\n');
  });
});

describe('SimulatedKernel write-through', () => {
  it('shows an accepted write in the file as soon as the write returns, without a flush', async () => {
    const sim = await createTemporarySimulatedHost({
      profile: 'intel-acpi-cpufreq-8',
      now: () => T0,
      ...(SIM_PARENT === undefined ? {} : { parent: SIM_PARENT }),
    });
    try {
      const file = join(sim.dir, policyFile(3, 'scaling_governor'));
      await sim.kernel.write(policyFile(3, 'scaling_governor'), 'userspace');
      expect(await readFile(file, 'utf8')).toBe('userspace\n');
      const seen = new Set<string>();
      for (const kHz of ['2000000', '800000', '3800000', '1200000', '2400000']) {
        await sim.kernel.write(policyFile(3, 'scaling_setspeed'), kHz);
        const shown = await sim.kernel.read(policyFile(3, 'scaling_setspeed'));
        seen.add(shown);
        expect(await readFile(join(sim.dir, policyFile(3, 'scaling_setspeed')), 'utf8')).toBe(`${shown}\n`);
      }
      expect(seen.size).toBeGreaterThan(3);
    } finally {
      await sim.dispose();
    }
  });
});
