/**
 * What heap growth is made of. `liveAllocationSites` reads V8's sampling heap profile (the
 * allocations made since sampling began that are still alive): where the soak's growth was
 * allocated, by call site, named by the source module too (the agent runs esbuild's bundle). `heapDiff` compares two V8 heap snapshots (`.heapsnapshot`, as `v8.writeHeapSnapshot` writes them) by what
 * the objects are: node type and constructor or string name, with their count and self size. The
 * kinds that grew most between the two are what a leak is made of; the soak prints them.
 * Usage as a program: tsx bench/soak/heap-diff.ts START.heapsnapshot END.heapsnapshot, or
 * `--sites PROFILE.heapprofile [TOP]` for the live allocation sites of a saved sampling profile
 * (while the build that ran is still in dist/: the module names are read from it).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SamplingNode } from './probe.js';

/** One allocation site's live sampled bytes, with its heaviest call stack (innermost first). */
export interface AllocationSite {
  site: string;
  kiB: number;
  stack: string[];
}

/** Per bundle file: the lines where esbuild's `// dist/...` module comments start a module. */
const moduleStarts = new Map<string, Array<{ line: number; module: string }>>();

/**
 * The source module a line of the esbuild bundle (`dist/app/*.js`) belongs to, from the
 * comment esbuild writes before each module (`// dist/core/services/audit-log.js`), as the
 * TypeScript file it was compiled from; undefined outside the bundle.
 */
export function bundleModuleOf(url: string, lineNumber: number): string | undefined {
  if (!/^file:\/\/.*\/dist\/app\/[^/]+\.js$/.test(url)) return undefined;
  let starts = moduleStarts.get(url);
  if (starts === undefined) {
    starts = [];
    let text = '';
    try {
      text = readFileSync(fileURLToPath(url), 'utf8');
    } catch {
      // the build is gone: no module names
    }
    text.split('\n').forEach((l, i) => {
      const m = /^\/\/ ((?:dist|node_modules)\/\S+)$/.exec(l);
      if (m?.[1] !== undefined) starts!.push({ line: i, module: m[1] });
    });
    moduleStarts.set(url, starts);
  }
  let module: string | undefined;
  for (const s of starts) if (s.line <= lineNumber) module = s.module;
  return module?.replace(/^dist\/(.*)\.js$/, '$1.ts');
}

const frameName = (f: SamplingNode['callFrame']): string => {
  const file = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  const module = bundleModuleOf(f.url, f.lineNumber);
  return `${f.functionName || '(anonymous)'} ${module === undefined ? '' : `${module} `}${file}:${f.lineNumber + 1}`;
};

/**
 * The `top` sites that allocated the most live bytes, and the sampled live total, in KiB; the
 * probe's own allocations left out.
 */
export function liveAllocationSites(
  profile: { head: SamplingNode },
  top = 15,
): { totalKiB: number; sites: AllocationSite[] } {
  const sites = new Map<string, { bytes: number; heaviest: number; stack: string[] }>();
  let total = 0;
  const walk = (node: SamplingNode, stack: string[]): void => {
    // The probe's own allocations (the profile being read, among them) are not the agent's.
    if (node.callFrame.url.endsWith('soak-probe.cjs')) return;
    const here = [frameName(node.callFrame), ...stack];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const site = sites.get(here[0] ?? '') ?? { bytes: 0, heaviest: 0, stack: [] };
      site.bytes += node.selfSize;
      if (node.selfSize > site.heaviest) [site.heaviest, site.stack] = [node.selfSize, here.slice(1, 8)];
      sites.set(here[0] ?? '', site);
    }
    for (const c of node.children) walk(c, here);
  };
  walk(profile.head, []);
  return {
    totalKiB: Math.round(total / 1024),
    sites: [...sites.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([site, v]) => ({ site, kiB: Math.round(v.bytes / 1024), stack: v.stack })),
  };
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Objects of one kind: their node type, how many and their self size in bytes. */
interface Kind {
  readonly type: string;
  count: number;
  bytes: number;
}

/** One kind's growth between the snapshots. */
export interface KindGrowth {
  kind: string;
  countDelta: number;
  kiBDelta: number;
  kiBAtEnd: number;
}

/** Strings and code are named by their content; they are grouped by type alone. */
const GROUPED_BY_TYPE = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number', 'hidden']);

/**
 * The kind of a node. Code and V8's hidden objects keep their V8-internal names (`(script line
 * ends)`, `(code deopt data)`, `system / BytecodeArray`): those say which part of the runtime grew;
 * other names of theirs (a function's) are grouped under the type.
 */
function kindOf(type: string, name: string): string {
  if (!GROUPED_BY_TYPE.has(type)) return `${type}:${name.slice(0, 80)}`;
  const internal = (type === 'code' || type === 'hidden') && /^(\(.*\)|system \/ .*)$/.test(name);
  return internal ? `(${type}) ${name}` : `(${type})`;
}

async function kinds(file: string): Promise<Map<string, Kind>> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const width = fields.length;
  const out = new Map<string, Kind>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + (typeAt ?? 0)] ?? 0] ?? '?';
    const name = snap.strings[snap.nodes[i + (nameAt ?? 1)] ?? 0] ?? '?';
    const kind = kindOf(type, name);
    const k = out.get(kind) ?? { type, count: 0, bytes: 0 };
    k.count++;
    k.bytes += snap.nodes[i + (sizeAt ?? 3)] ?? 0;
    out.set(kind, k);
  }
  return out;
}

/**
 * Node types whose objects the program makes and holds (its objects, arrays, closures, strings,
 * numbers, and the native memory of its buffers); the rest (code and its metadata, V8's hidden
 * objects and hidden classes, synthetic roots) is the runtime's.
 */
const PROGRAM_TYPES = new Set([
  'object',
  'array',
  'closure',
  'regexp',
  'string',
  'concatenated string',
  'sliced string',
  'number',
  'bigint',
  'symbol',
  'native',
]);

/** What `heapDiff` returns: totals, the program's and the runtime's share of the change, top kinds. */
export interface HeapDiff {
  totalKiBStart: number;
  totalKiBEnd: number;
  /** Change in the objects the program holds (PROGRAM_TYPES), KiB. */
  programKiBDelta: number;
  /** Change in V8's own objects: code, its metadata, hidden objects and classes, KiB. */
  runtimeKiBDelta: number;
  grew: KindGrowth[];
}

/** The `top` kinds that grew most in bytes from `start` to `end`, and the totals. */
export async function heapDiff(start: string, end: string, top = 15): Promise<HeapDiff> {
  const [a, b] = [await kinds(start), await kinds(end)];
  const total = (m: Map<string, Kind>): number => Math.round([...m.values()].reduce((s, k) => s + k.bytes, 0) / 1024);
  const program = (m: Map<string, Kind>): number =>
    [...m.values()].filter((k) => PROGRAM_TYPES.has(k.type)).reduce((s, k) => s + k.bytes, 0);
  const programKiBDelta = Math.round((program(b) - program(a)) / 1024);
  const grew = [...b.entries()]
    .map(([kind, e]) => {
      const s = a.get(kind) ?? { count: 0, bytes: 0 };
      return {
        kind,
        countDelta: e.count - s.count,
        kiBDelta: Math.round((e.bytes - s.bytes) / 1024),
        kiBAtEnd: Math.round(e.bytes / 1024),
      };
    })
    .sort((x, y) => y.kiBDelta - x.kiBDelta)
    .slice(0, top);
  const totalKiBStart = total(a);
  const totalKiBEnd = total(b);
  return {
    totalKiBStart,
    totalKiBEnd,
    programKiBDelta,
    runtimeKiBDelta: totalKiBEnd - totalKiBStart - programKiBDelta,
    grew,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--sites' && args[1] !== undefined) {
    const profile = JSON.parse(await readFile(args[1], 'utf8')) as { head: SamplingNode };
    process.stdout.write(`${JSON.stringify(liveAllocationSites(profile, Number(args[2] ?? 15)), null, 2)}\n`);
    process.exit(0);
  }
  const [start, end] = args;
  if (start === undefined || end === undefined) {
    process.stderr.write(
      'usage: tsx bench/soak/heap-diff.ts START.heapsnapshot END.heapsnapshot | --sites PROFILE.heapprofile [TOP]\n',
    );
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await heapDiff(start, end), null, 2)}\n`);
}
