/**
 * MibView's compiled ranges against the plain definition (the longest matching subtree decides),
 * on many seeded random views over a small OID alphabet where nesting, adjacency and shared
 * prefixes are frequent; and its walk skipping against a linear scan of a MibIndex.
 */
import { describe, expect, it } from 'vitest';
import { MibView } from '../../../plugins/snmp/mib/mib-view.js';
import { MibIndex } from '../../../plugins/snmp/mib/mib-index.js';
import { V } from '../../../plugins/snmp/codec/pdu.js';
// mulberry32, the simulated host's generator: seeded, so a failure is reproducible.
import { seededRandom as rng } from '../../../core/sim/sim-state.js';

const ROOT = [1, 3, 6];

function randomOid(r: () => number, maxExtra: number): number[] {
  const n = 1 + Math.floor(r() * maxExtra);
  return [...ROOT, ...Array.from({ length: n }, () => Math.floor(r() * 3))];
}

function naive(oid: readonly number[], include: readonly number[][], exclude: readonly number[][]): boolean {
  let depth = -1;
  let included = false;
  for (const [list, flag] of [
    [include, true],
    [exclude, false],
  ] as const) {
    for (const p of list)
      if (p.length <= oid.length && p.every((a, i) => oid[i] === a) && p.length > depth)
        [depth, included] = [p.length, flag];
  }
  return included;
}

/** A random valid view: includes, and excludes each inside some include (duplicates dropped). */
function randomView(r: () => number): { include: number[][]; exclude: number[][] } {
  const seen = new Set<string>();
  const fresh = (o: number[]): boolean => !seen.has(o.join('.')) && (seen.add(o.join('.')), true);
  const include = Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomOid(r, 3)).filter(fresh);
  const exclude: number[][] = [];
  for (let k = Math.floor(r() * 4); k > 0; k--) {
    const base = include[Math.floor(r() * include.length)] as number[];
    const o = [...base, ...Array.from({ length: 1 + Math.floor(r() * 2) }, () => Math.floor(r() * 3))];
    if (fresh(o)) exclude.push(o);
  }
  // Some includes nested inside excludes again.
  for (const e of exclude) {
    if (r() < 0.5) {
      const o = [...e, Math.floor(r() * 3)];
      if (fresh(o)) include.push(o);
    }
  }
  return { include, exclude };
}

const text = (o: readonly number[]): string => o.join('.');

describe('MibView', () => {
  it('decides like the longest matching subtree on 300 random views', () => {
    const r = rng(20240611);
    let checked = 0;
    for (let v = 0; v < 300; v++) {
      const { include, exclude } = randomView(r);
      const view = MibView.compile({ include: include.map(text), exclude: exclude.map(text) }, 'test.view');
      for (let k = 0; k < 200; k++) {
        const oid = randomOid(r, 6);
        expect(
          view.contains(oid),
          `${text(oid)} in +${include.map(text).join(' +')} -${exclude.map(text).join(' -')}`,
        ).toBe(naive(oid, include, exclude));
        checked++;
      }
    }
    expect(checked).toBe(60000);
  });

  it('skips to the same instance as a linear scan of the index', () => {
    const r = rng(7);
    const oids = new Map<string, number[]>();
    for (let i = 0; i < 2000; i++) {
      const o = randomOid(r, 6);
      oids.set(text(o), o);
    }
    const index = new MibIndex(
      [...oids.values()].map((oid) => ({ oid, value: V.int(1) })),
      [],
    );
    for (let v = 0; v < 100; v++) {
      const { include, exclude } = randomView(r);
      const view = MibView.compile({ include: include.map(text), exclude: exclude.map(text) }, 'test.view');
      for (let pos = 0; pos <= index.size; pos += 1 + Math.floor(r() * 40)) {
        let expected = pos;
        while (expected < index.size && !naive(index.entries[expected]?.oid ?? [], include, exclude)) expected++;
        expect(view.firstVisible(index, pos)).toBe(expected);
      }
    }
  });

  it('treats a subtree at the largest arc value correctly', () => {
    const view = MibView.compile({ include: ['1.3.4294967295'] }, 'test.view');
    expect(view.contains([1, 3, 4294967295])).toBe(true);
    expect(view.contains([1, 3, 4294967295, 7, 1])).toBe(true);
    expect(view.contains([1, 3, 4294967294, 9])).toBe(false);
    expect(view.contains([1, 4])).toBe(false);
  });
});
