import { describe, expect, it, vi } from 'vitest';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
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

  it('names an unknown plugin section, suggests the near one and lists the built-ins', () => {
    const plan = planPlugins([plugin('redfish'), plugin('ipmi')], configOf('plugins: {ipmy: {}, rack: {}}'));
    expect(plan.problems).toEqual([
      {
        path: 'plugins.ipmy',
        message:
          "unknown plugin 'ipmy' (did you mean 'ipmi'?): the built-in plugins are ipmi, redfish; " +
          'to load another plugin, give its file or package in plugins.ipmy.module',
      },
      {
        path: 'plugins.rack',
        message:
          "unknown plugin 'rack': the built-in plugins are ipmi, redfish; " +
          'to load another plugin, give its file or package in plugins.rack.module',
      },
    ]);
    // Plugins from a module are not offered as built-in ones.
    const external = planPlugins(
      [{ kind: 'external', origin: './rack.js', manifest: plugin('rack').manifest }],
      configOf('plugins: {ipmy: {}}'),
    );
    expect(external.problems[0]?.message).toContain('there are no built-in plugins');
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

  it('compiles a plugin schema once however often it plans (check, then start)', () => {
    const strict = plugin('once', { config: Type.Object({ level: Type.Integer({ default: 1 }) }) });
    const config = configOf('plugins: {once: {level: 2}}');
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    try {
      expect(planPlugins([strict], config).problems).toEqual([]);
      const first = compile.mock.calls.length;
      expect(first).toBeGreaterThan(0);
      expect(planPlugins([strict], config).problems).toEqual([]);
      expect(compile.mock.calls.length).toBe(first);
      // Still strict about unknown keys.
      expect(planPlugins([strict], configOf('plugins: {once: {levle: 2}}')).problems).toMatchObject([
        { path: 'plugins.once.levle' },
      ]);
    } finally {
      compile.mockRestore();
    }
  });
});
