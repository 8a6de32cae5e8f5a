import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExternalPlugins } from '../../../core/kernel/plugin-loader.js';
import { parseConfigText } from '../../../core/config/load-config.js';
import { planPlugins } from '../../../core/kernel/plugin-plan.js';

let dir: string;
const MANIFEST = (name: string) => `export default {
  name: '${name}', version: '2.0.0', description: 'external', coreApi: '^1.0.0',
  config: { type: 'object', properties: { level: { type: 'integer', minimum: 1, maximum: 3 } }, required: ['level'] },
  register() { return { start() {}, stop() {} }; },
};\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-ext-'));
  // an installed npm package next to the config file
  const pkg = join(dir, 'node_modules', 'vpmd-plugin-rack');
  await mkdir(pkg, { recursive: true });
  await writeFile(
    join(pkg, 'package.json'),
    JSON.stringify({ name: 'vpmd-plugin-rack', type: 'module', main: 'index.js' }),
  );
  await writeFile(join(pkg, 'index.js'), MANIFEST('rack'));
  // a plugin file given by path
  await writeFile(join(dir, 'local.mjs'), MANIFEST('local'));
  await writeFile(join(dir, 'broken.mjs'), 'export default { name: "broken" ;');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('external plugins', () => {
  it('loads a plugin from an installed npm package and from a path relative to the config', async () => {
    const cfg = parseConfigText(
      'plugins:\n  rack: {module: vpmd-plugin-rack, level: 2}\n  local: {module: ./local.mjs, level: 4}\n',
    ).config;
    const { sources, problems } = await loadExternalPlugins(cfg, join(dir, 'vpmd.yaml'));
    expect(problems).toEqual([]);
    expect(sources.map((s) => s.origin)).toEqual(['vpmd-plugin-rack', './local.mjs']);
    const plan = planPlugins(sources, cfg);
    // the same schema checks as built-ins
    expect(plan.problems).toEqual([{ path: 'plugins.local.level', message: 'must be 1-3' }]);
    expect(plan.plugins.filter((p) => p.enabled).map((p) => p.manifest.name)).toEqual(['rack', 'local']);
  });

  it('says what is wrong with a module that is missing, broken or misnamed', async () => {
    const cfg = parseConfigText(
      'plugins:\n  a: {module: vpmd-plugin-nowhere}\n  b: {module: ./broken.mjs}\n  c: {module: ./local.mjs}\n  d: {module: ./gone.mjs, enabled: false}\n',
    ).config;
    const { sources, problems } = await loadExternalPlugins(cfg, join(dir, 'vpmd.yaml'));
    expect(sources).toEqual([]);
    expect(problems.map((p) => p.path)).toEqual(['plugins.a.module', 'plugins.b.module', 'plugins.c.module']);
    expect(problems[0]?.message).toContain("cannot find plugin module 'vpmd-plugin-nowhere'");
    expect(problems[1]?.message).toMatch(/cannot load plugin module '\.\/broken\.mjs': .*\[E_PLUGIN_LOAD\]/);
    expect(problems[2]?.message).toContain("is the plugin 'local', not 'c'");
  });
});
