/**
 * The core's own capabilities (host-power@1, audit-log@1): a plugin may require them without a
 * plugin providing them, may get them without declaring them, and may not provide them or take
 * the owner name `core`.
 */
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { planPlugins, type PluginSource } from '../../../core/kernel/plugin-plan.js';
import { CapabilityRegistry, scopeCapabilities } from '../../../core/kernel/capabilities.js';
import { CORE_CAPABILITY_IDS, CORE_OWNER } from '../../../core/kernel/core-capabilities.js';
import { parseConfigText } from '../../../core/config/load-config.js';
import { AUDIT_LOG, HOST_POWER, IPMI_BMC_DRIVER } from '../../../core/index.js';

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

const config = (names: string[]) => {
  const p = parseConfigText(`plugins: {${names.map((n) => `${n}: {}`).join(', ')}}`);
  expect(p.problems).toEqual([]);
  return p.config;
};

describe('planning with the core capabilities', () => {
  it('lists host-power@1, audit-log@1, bmcs@1, cpu-limits@1 and plugin-status@1 as the core capabilities', () => {
    expect(CORE_CAPABILITY_IDS).toEqual(['host-power@1', 'audit-log@1', 'bmcs@1', 'cpu-limits@1', 'plugin-status@1']);
  });

  it('accepts a plugin that requires them although no plugin provides them', () => {
    const plan = planPlugins([plugin('rf', { requires: ['host-power@1', 'audit-log@1'] })], config(['rf']));
    expect(plan.problems).toEqual([]);
    expect(plan.plugins.map((p) => p.manifest.name)).toEqual(['rf']);
  });

  it('still refuses a requirement nobody provides', () => {
    const plan = planPlugins([plugin('rf', { requires: ['host-power@2'] })], config(['rf']));
    expect(plan.problems.map((p) => p.message)).toEqual([
      'plugin rf requires host-power@2 (no installed plugin provides it) [E_PLUGIN_DEPENDENCY]',
    ]);
  });

  it('refuses a plugin that provides one, and a plugin named core', () => {
    const plan = planPlugins(
      [plugin('fake', { provides: ['host-power@1'] }), plugin('core')],
      config(['fake', 'core']),
    );
    const text = plan.problems.map((p) => p.message).join('\n');
    expect(text).toMatch(/provides\[0\]: host-power@1 is provided by the core itself; a plugin cannot provide it/);
    expect(text).toMatch(/name: 'core' is reserved for the core itself/);
  });
});

describe('a plugin scope', () => {
  it('gets a core capability without declaring it, but not an undeclared plugin one', () => {
    const registry = new CapabilityRegistry();
    const power = { marker: 'power' };
    registry.provide(CORE_OWNER, HOST_POWER.id, power);
    registry.provide(CORE_OWNER, AUDIT_LOG.id, { marker: 'audit' });
    registry.provide('ipmi', IPMI_BMC_DRIVER.id, { marker: 'ipmi driver' });
    const scope = scopeCapabilities(registry, 'p', { provides: [], requires: [], optional: [] });
    expect(scope.get(HOST_POWER)).toBe(power);
    expect(scope.find(AUDIT_LOG)).toEqual({ marker: 'audit' });
    expect(() => scope.find(IPMI_BMC_DRIVER)).toThrow(/bmc-driver.ipmi@1 is not listed in its manifest's optional/);
  });
});
