/**
 * The corpus of trees captured from real machines (test/fixtures/hosts/*, provenance in each
 * README): the real agent starts on each (not simulated) and its readings through the control
 * socket equal the values each tree's source says it holds; the faults it reports are exactly
 * the odd files the tree has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostSummary } from '../../../core/commands/host-summary.js';
import { bootOnTree } from './boot-on-tree.js';

const CORPUS = join(import.meta.dirname, '../../fixtures/hosts');

interface Expected {
  readonly summary: Record<string, unknown>;
  readonly policies: ReadonlyArray<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly faults: ReadonlyArray<readonly [string, string, string]>;
}

const trees = readdirSync(CORPUS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

describe('real host trees', () => {
  it('has trees, each with a README and expected values', () => {
    expect(trees.length).toBeGreaterThanOrEqual(2);
    for (const t of trees) {
      expect(readFileSync(join(CORPUS, t, 'README.md'), 'utf8')).toMatch(/Source: .*commit/s);
    }
  });

  it.each(trees)('%s: the agent starts and reads what the source says', async (tree) => {
    const expected = JSON.parse(readFileSync(join(CORPUS, tree, 'expected.json'), 'utf8')) as Expected;
    const agent = await bootOnTree(join(CORPUS, tree));
    try {
      const summary = await agent.json<HostSummary>(['host', 'summary']);
      expect(summary).toMatchObject(expected.summary);
      const policies = await agent.json<Array<Record<string, unknown>>>(['host', 'cpufreq']);
      expect(policies).toHaveLength(expected.policies.length);
      expected.policies.forEach((p, i) => expect(policies[i]).toMatchObject(p));
      const metrics = await agent.json<Array<{ id: string; value: number | null }>>(['telemetry', 'list']);
      const byId = new Map(metrics.map((m) => [m.id, m.value]));
      for (const [id, value] of Object.entries(expected.metrics)) {
        expect(byId.get(id), id).toBeCloseTo(value, 6);
      }
      const faults = summary.faults.map((f) => [f.object ?? f.area, f.file.split('/').pop(), f.reason]);
      expect(faults).toEqual(expected.faults);
    } finally {
      await agent.stop();
    }
  });
});
