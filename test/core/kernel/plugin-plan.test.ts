import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { planPlugins, type PluginSource } from '../../../core/kernel/plugin-plan.js';
import { parseConfigText } from '../../../core/config/load-config.js';
import { Port } from '../../../core/config/schema-helpers.js';

function plugin(name: string, extra: Record<string, unknown> = {}): PluginSource {
  return {
    kind: 'built-in',
    origin: 'built-in',
    manifest: {
      name,
      version: '1.0.0',
      description: name,
      coreApi: '^1.0.0',
      config: Type.Object({}),
      register: () => ({ start() {}, stop() {} }),
      ...extra,
    },
  };
}

function configOf(yaml: string) {
  const p = parseConfigText(yaml);
  expect(p.problems).toEqual([]);
  return p.config;
}

describe('planPlugins', () => {
  it('orders providers before consumers whatever order they are given in', () => {
    const sources = [
      plugin('redfish', { requires: ['host-sleep@1'], optional: ['telemetry-bmc@1'] }),
      plugin('ipmi', { provides: ['telemetry-bmc@1'] }),
      plugin('caps', { provides: ['host-sleep@1'] }),
    ];
    const plan = planPlugins(sources, configOf('plugins: {redfish: {}, ipmi: {}, caps: {}}'));
    expect(plan.problems).toEqual([]);
    expect(plan.plugins.map((p) => p.manifest.name)).toEqual(['ipmi', 'caps', 'redfish']);
  });

  it('runs a built-in plugin only when its section is present and not disabled', () => {
    const plan = planPlugins(
      [plugin('a'), plugin('b'), plugin('c')],
      configOf('plugins: {a: {}, b: {enabled: false}}'),
    );
    expect(plan.plugins.map((p) => [p.manifest.name, p.enabled])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
  });

  it('reports plugin config errors with their full path', () => {
    const ipmi = plugin('ipmi', {
      config: Type.Object({
        targets: Type.Array(Type.Object({ name: Type.String(), port: Port({ default: 623 }) }), { default: [] }),
      }),
    });
    const cfg = parseConfigText(
      [
        'plugins:',
        '  ipmi:',
        '    targets:',
        '      - {name: a}',
        '      - {name: b, port: 70000}',
        '      - {name: c, port: 0}',
        '    colour: blue',
      ].join('\n'),
    );
    const plan = planPlugins([ipmi], cfg.config);
    expect(plan.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'plugins.ipmi.colour: unknown key (allowed: targets)',
      'plugins.ipmi.targets[1].port: must be 1-65535',
      'plugins.ipmi.targets[2].port: must be 1-65535',
    ]);
    expect(cfg.lineOf('plugins.ipmi.targets[1].port')).toBe(5);
    // defaults are applied to valid entries
    expect((plan.plugins[0]?.config.targets as { port: number }[])[0]?.port).toBe(623);
  });

  it('names an unknown plugin section and lists the built-ins', () => {
    const plan = planPlugins([plugin('ipmi')], configOf('plugins: {ipmy: {}}'));
    expect(plan.problems).toEqual([
      {
        path: 'plugins.ipmy',
        message: "unknown plugin 'ipmy' (built-in: ipmi; set 'module' to load an external plugin)",
      },
    ]);
  });

  it('says which disabled plugin would satisfy a missing requirement', () => {
    const plan = planPlugins(
      [plugin('caps', { provides: ['host-sleep@1'] }), plugin('redfish', { requires: ['host-sleep@1'] })],
      configOf('plugins: {caps: {enabled: false}, redfish: {}}'),
    );
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]?.path).toBe('plugins.redfish');
    expect(plan.problems[0]?.message).toContain(
      'requires host-sleep@1 (plugin caps provides it but is disabled) [E_PLUGIN_DEPENDENCY]',
    );
  });

  it('detects dependency cycles and duplicate providers', () => {
    const cyc = planPlugins(
      [plugin('a', { provides: ['x@1'], requires: ['y@1'] }), plugin('b', { provides: ['y@1'], requires: ['x@1'] })],
      configOf('plugins: {a: {}, b: {}}'),
    );
    expect(cyc.problems.map((p) => p.message).join()).toContain('E_PLUGIN_CYCLE');
    const dup = planPlugins(
      [plugin('a', { provides: ['x@1'] }), plugin('b', { provides: ['x@1'] })],
      configOf('plugins: {a: {}, b: {}}'),
    );
    expect(dup.problems.map((p) => p.message).join()).toContain('both provide x@1');
  });

  it('rejects two plugins with the same name and a broken manifest', () => {
    const plan = planPlugins(
      [plugin('a'), plugin('a'), { kind: 'external', origin: './bad.js', manifest: { name: 'bad' } }],
      configOf('plugins: {a: {}}'),
    );
    const text = plan.problems.map((p) => p.message).join('\n');
    expect(text).toContain('two plugins are named a');
    expect(text).toContain('E_PLUGIN_MANIFEST');
  });
});
