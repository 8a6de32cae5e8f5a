/** Plugin-level checks in the plan that `vpmd check-config` runs (`manifest.validate`). */
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { planPlugins, type PluginSource } from '../../../core/kernel/plugin-plan.js';
import { validatePlugins } from '../../../core/kernel/plugin-validate.js';
import { parseConfigText } from '../../../core/config/load-config.js';

function plugin(
  name: string,
  validate: unknown,
  config = Type.Object({ n: Type.Optional(Type.Integer()) }),
): PluginSource {
  return {
    kind: 'built-in',
    origin: 'built-in',
    manifest: {
      name,
      version: '1.0.0',
      description: name,
      coreApi: '^1.0.0',
      config,
      register: () => ({ start() {}, stop() {} }),
      validate,
    },
  };
}

function planOf(sources: PluginSource[], yaml: string) {
  const parsed = parseConfigText(yaml);
  expect(parsed.problems).toEqual([]);
  return planPlugins(sources, parsed.config);
}

describe('validatePlugins', () => {
  it('reports each problem under plugins.<name>, with the section as the plugin saw it', async () => {
    const seen: unknown[] = [];
    const plan = planOf(
      [
        plugin('pdu', (cfg: unknown) => {
          seen.push(cfg);
          return [
            { path: 'outlets[1].name', message: 'another outlet has the same name; names must be unique' },
            { path: '', message: 'give at least one outlet' },
          ];
        }),
      ],
      'plugins: {pdu: {n: 3}}',
    );
    expect(await validatePlugins(plan)).toEqual([
      { path: 'plugins.pdu.outlets[1].name', message: 'another outlet has the same name; names must be unique' },
      { path: 'plugins.pdu', message: 'give at least one outlet' },
    ]);
    expect(seen).toEqual([{ n: 3 }]);
  });

  it('skips disabled plugins and sections the schema refused; reports a check that throws', async () => {
    let calls = 0;
    const counting = (): never[] => {
      calls++;
      return [];
    };
    const plan = planOf(
      [
        plugin('off', counting),
        plugin('bad', counting),
        plugin('broken', async () => {
          await Promise.resolve();
          throw new Error('cannot stat /etc/x');
        }),
      ],
      "plugins: {off: {enabled: false}, bad: {n: 'x'}, broken: {}}",
    );
    expect(plan.problems.map((p) => p.path)).toEqual(['plugins.bad.n']);
    expect(await validatePlugins(plan)).toEqual([
      { path: 'plugins.broken', message: "the plugin's own checks failed: cannot stat /etc/x" },
    ]);
    expect(calls).toBe(0);
  });

  it('refuses a manifest whose validate is not a function', () => {
    const plan = planOf([plugin('odd', 'yes')], 'plugins: {odd: {}}');
    expect(plan.problems[0]?.message).toMatch(/validate: must be a function \(config\) => problems, or absent/);
  });
});
