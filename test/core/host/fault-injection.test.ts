/**
 * 100 seeds of broken files: each seed breaks a quarter of the files of a host tree (missing,
 * empty, garbage, ENODATA, EIO, EACCES, EBUSY, EINVAL). The real agent must start every time,
 * `host summary`, `host cpufreq` and `telemetry list` must answer, and every fault the agent
 * reports must be one that was injected (nothing else is wrong with the tree).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectingSysfs, INJECTED_FAULTS } from '../../../core/host/index.js';
import { generateSimulatedHost, SIM_PROFILES } from '../../../core/sim/index.js';
import type { HostSummary } from '../../../core/commands/host-summary.js';
import { bootOnTree } from './boot-on-tree.js';

const SEEDS = 100;
let dir: string;
const trees: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-faults-'));
  for (const p of SIM_PROFILES) {
    const root = join(dir, p.name);
    // A generated tree read as plain files (simulated: false), as a copied real tree would be.
    await generateSimulatedHost(root, { profile: p.name });
    trees.push(root);
  }
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fault injection', () => {
  it(`starts and answers under ${SEEDS} seeds of broken files`, async () => {
    const seen = new Set<string>();
    let degradedRuns = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const root = trees[seed % trees.length] as string;
      let injector: FaultInjectingSysfs | undefined;
      const agent = await bootOnTree(root, (b) => (injector = new FaultInjectingSysfs(b, { seed, rate: 0.25 })));
      try {
        const summary = await agent.json<HostSummary>(['host', 'summary']);
        expect(typeof summary.arch, `seed ${seed}`).toBe('string');
        await agent.json<unknown[]>(['host', 'cpufreq']);
        await agent.json<unknown[]>(['telemetry', 'list']);
        const injected = injector?.injected ?? new Map();
        for (const f of summary.faults) {
          expect(injected.has(f.file), `seed ${seed}: ${f.file} (${f.reason}) was not broken: ${f.message}`).toBe(true);
          seen.add(f.reason);
        }
        if (summary.degraded.length > 0) degradedRuns++;
      } finally {
        await agent.stop();
      }
    }
    // Every kind of fault showed up as a reason somewhere, and nearly every run was degraded.
    for (const reason of ['missing', 'empty', 'unparseable', 'ENODATA', 'EIO', 'EACCES', 'EBUSY', 'EINVAL']) {
      expect([...seen], `reason ${reason} never reported`).toContain(reason);
    }
    expect(INJECTED_FAULTS).toHaveLength(8);
    expect(degradedRuns).toBeGreaterThan(SEEDS * 0.9);
  }, 600_000);
});
