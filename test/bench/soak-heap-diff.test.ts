import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleModuleOf, heapDiff, liveAllocationSites } from '../../bench/soak/heap-diff.js';

let root: string;
let chunk: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-heap-diff-'));
  await mkdir(join(root, 'dist', 'app'), { recursive: true });
  const file = join(root, 'dist', 'app', 'chunk-TEST.js');
  // What esbuild writes: a comment naming each module before its code.
  const lines = [
    'import x from "y";',
    '// dist/core/services/audit-log.js',
    'class AuditLog {',
    '  record(entry) {',
    '// node_modules/pino/lib/x.js',
    'function p() {}',
    '// dist/plugins/redfish/resources/hardware-log.js',
    '  add(e) {',
  ];
  await writeFile(file, `${lines.join('\n')}\n`);
  chunk = pathToFileURL(file).href;
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('bundleModuleOf', () => {
  it('names the source module of a bundle line (0-based, as V8 counts)', () => {
    expect(bundleModuleOf(chunk, 0)).toBeUndefined();
    expect(bundleModuleOf(chunk, 3)).toBe('core/services/audit-log.ts');
    expect(bundleModuleOf(chunk, 5)).toBe('node_modules/pino/lib/x.js');
    expect(bundleModuleOf(chunk, 7)).toBe('plugins/redfish/resources/hardware-log.ts');
  });

  it('leaves frames outside the bundle alone', () => {
    expect(bundleModuleOf('node:internal/timers', 3)).toBeUndefined();
    expect(bundleModuleOf(pathToFileURL(join(root, 'elsewhere.js')).href, 3)).toBeUndefined();
  });
});

describe('liveAllocationSites', () => {
  it('lists sites by live bytes, named with their source module', () => {
    const node = (functionName: string, url: string, lineNumber: number, selfSize: number, children = []) => ({
      callFrame: { functionName, url, lineNumber },
      selfSize,
      children,
    });
    const profile = {
      head: {
        ...node('(root)', '', -1, 0),
        children: [node('record', chunk, 3, 4096), node('add', chunk, 7, 8192), node('add', chunk, 7, 2048)],
      },
    };
    const sites = liveAllocationSites(profile);
    expect(sites.totalKiB).toBe(14);
    expect(sites.sites.map((s) => [s.site, s.kiB])).toEqual([
      [`add plugins/redfish/resources/hardware-log.ts dist/app/chunk-TEST.js:8`, 10],
      [`record core/services/audit-log.ts dist/app/chunk-TEST.js:4`, 4],
    ]);
  });
});

describe('heapDiff', () => {
  /** A minimal .heapsnapshot: nodes of [type, name, self size]. */
  const snapshot = async (name: string, nodes: Array<[string, string, number]>): Promise<string> => {
    const types = ['hidden', 'object', 'code', 'string', 'native'];
    const strings = [...new Set(nodes.map((n) => n[1]))];
    const file = join(root, `${name}.heapsnapshot`);
    await writeFile(
      file,
      JSON.stringify({
        snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [types] } },
        nodes: nodes.flatMap(([t, n, size], id) => [types.indexOf(t), strings.indexOf(n), id, size, 0]),
        strings,
      }),
    );
    return file;
  };

  it("splits the change into the program's objects and V8's, and names V8's internal kinds", async () => {
    const start = await snapshot('start', [
      ['object', 'Foo', 1024],
      ['code', '(script line ends)', 2048],
      ['string', 'a', 2048],
    ]);
    const end = await snapshot('end', [
      ['object', 'Foo', 1024],
      ['object', 'Foo', 1024],
      ['code', '(script line ends)', 2048],
      ['code', '(script line ends)', 4096],
      ['code', 'someFunction', 1024],
      ['hidden', 'system / WeakArrayList', 1024],
      ['string', 'b', 1024],
    ]);
    const d = await heapDiff(start, end);
    expect(d).toMatchObject({ totalKiBStart: 5, totalKiBEnd: 11, programKiBDelta: 0, runtimeKiBDelta: 6 });
    const grown = d.grew.filter((g) => g.kiBDelta !== 0).map((g) => [g.kind, g.kiBDelta, g.countDelta]);
    expect(grown[0]).toEqual(['(code) (script line ends)', 4, 1]);
    expect(grown).toHaveLength(5);
    expect(grown).toEqual(
      expect.arrayContaining([
        ['(code)', 1, 1],
        ['object:Foo', 1, 1],
        ['(hidden) system / WeakArrayList', 1, 1],
        ['(string)', -1, 0],
      ]),
    );
  });
});
