import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { validateManifest } from '../../../core/kernel/manifest.js';
import { planPlugins, type PluginSource } from '../../../core/kernel/plugin-plan.js';
import { parseConfigText } from '../../../core/config/load-config.js';
import {
  ERROR_CATALOGUE,
  EXIT_CODES,
  VpmdError,
  errorSpecOf,
  exitCodeFor,
  registerPluginErrors,
  type ErrorCategory,
} from '../../../core/errors.js';
import { EventBus, scopeEventBus } from '../../../core/services/event-bus.js';
import { createLogger } from '../../../core/logger.js';
import { BUILTIN_PLUGINS } from '../../../app/builtin-plugins.js';
import type { PluginManifest } from '../../../core/kernel/plugin-contract.js';

const base = {
  version: '1.0.0',
  description: 'a plugin',
  coreApi: '^1.2.0',
  config: Type.Object({}),
  register: () => ({ start() {}, stop() {} }),
};

function manifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...base, name, ...extra };
}

function errors(prefix: string, codes: Record<string, unknown>): { prefix: string; codes: Record<string, unknown> } {
  return { prefix, codes };
}

function thrown(fn: () => unknown): VpmdError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VpmdError) return e;
    throw e;
  }
  throw new Error('expected a VpmdError');
}

function configOf(yaml: string) {
  const p = parseConfigText(yaml);
  expect(p.problems).toEqual([]);
  return p.config;
}

describe('plugin error codes and event types in the manifest', () => {
  it('accepts codes under the plugin prefix and event types named after the plugin', () => {
    const m = validateManifest(
      manifest('acme-pdu', {
        errors: errors('E_ACME_PDU_', {
          E_ACME_PDU_OUTLET: { category: 'invalid', summary: 'no such outlet' },
          E_ACME_PDU_OVERLOAD: { category: 'conflict', summary: 'outlet overloaded', exitCode: 42 },
        }),
        events: ['acme-pdu.outlet.v1', 'acme-pdu.outlet.state.v2'],
      }),
      './acme.js',
    );
    expect(m.name).toBe('acme-pdu');
  });

  it('refuses a code outside the prefix, a prefix in a core family and a misnamed event, with E_PLUGIN_NAMESPACE', () => {
    const e = thrown(() =>
      validateManifest(
        manifest('acme', {
          errors: errors('E_ACME_', {
            E_ACME_OK: { category: 'invalid', summary: 'fine' },
            E_IPMI_AUTH: { category: 'denied', summary: 'not ours' },
          }),
          events: ['hw.log.v2', 'acme.thing'],
        }),
        './acme.js',
      ),
    );
    expect(e.code).toBe('E_PLUGIN_NAMESPACE');
    expect(e.message).toContain("plugin acme: error code E_IPMI_AUTH does not start with the plugin's prefix E_ACME_");
    expect(e.message).toContain('event type hw.log.v2 is not named acme.<what>.v<N>');
    expect(e.message).toContain('event type acme.thing is not named acme.<what>.v<N>');
    expect(e.details.problems).toHaveLength(3);

    const core = thrown(() =>
      validateManifest(
        manifest('acme', { errors: errors('E_HOST_ACME_', { E_HOST_ACME_X: { category: 'invalid', summary: 'x' } }) }),
        './acme.js',
      ),
    );
    expect(core.code).toBe('E_PLUGIN_NAMESPACE');
    expect(core.message).toContain(
      "errors.prefix E_HOST_ACME_ lies in the core's E_HOST_ family; use the plugin's own, such as E_ACME_",
    );
  });

  it('refuses malformed declarations with E_PLUGIN_MANIFEST, every problem at once', () => {
    const e = thrown(() =>
      validateManifest(
        manifest('acme', {
          errors: errors('E_acme', {
            E_ACME_A: { category: 'broken', summary: '' },
            E_ACME_B: { category: 'denied', summary: 'b', exitCode: 200 },
            E_ACME_C: { category: 'denied', summary: 'c', exitCode: 3 },
            E_ACME_D: { category: 'denied', summary: 'd', exitCode: 5 },
          }),
          events: ['acme.a.v1', 'acme.a.v1', 7],
        }),
        './acme.js',
      ),
    );
    expect(e.code).toBe('E_PLUGIN_MANIFEST');
    const problems = e.details.problems as readonly string[];
    expect(problems).toEqual([
      'errors.prefix: must be E_, upper-case words and a trailing _, got "E_acme"',
      'errors.codes.E_ACME_A.category: must be one of invalid, denied, not-found, conflict, unsupported, unavailable, timeout, internal, got "broken"',
      'errors.codes.E_ACME_A.summary: must be a non-empty string',
      "errors.codes.E_ACME_B.exitCode: must be the category's exit code (3) or an integer in 10–125, got 200",
      "errors.codes.E_ACME_D.exitCode: must be the category's exit code (3) or an integer in 10–125, got 5",
      'events[1]: acme.a.v1 is listed twice',
      'events[2]: must be a string, got 7',
    ]);
  });

  it('refuses a code or prefix two plugins claim, naming both, with E_PLUGIN_CLAIMED', () => {
    const src = (m: Record<string, unknown>): PluginSource => ({
      kind: 'external',
      origin: `./${String(m.name)}.js`,
      manifest: m,
    });
    const plan = planPlugins(
      [
        src(
          manifest('rack', { errors: errors('E_RACK_', { E_RACK_FULL: { category: 'conflict', summary: 'full' } }) }),
        ),
        src(
          manifest('rack-pdu', {
            errors: errors('E_RACK_PDU_', { E_RACK_PDU_X: { category: 'invalid', summary: 'x' } }),
          }),
        ),
        src(
          manifest('shelf', { errors: errors('E_RACK_', { E_RACK_FULL: { category: 'invalid', summary: 'mine' } }) }),
        ),
      ],
      configOf('plugins: {rack: {module: ./rack.js}, rack-pdu: {module: ./rack-pdu.js}, shelf: {module: ./shelf.js}}'),
    );
    expect(plan.problems).toEqual([
      {
        path: 'plugins.rack-pdu',
        message:
          'error prefix E_RACK_PDU_ overlaps E_RACK_ of plugin rack: two plugins cannot claim the same codes [E_PLUGIN_CLAIMED]',
      },
      {
        path: 'plugins.shelf',
        message:
          'error prefix E_RACK_ overlaps E_RACK_ of plugin rack: two plugins cannot claim the same codes [E_PLUGIN_CLAIMED]',
      },
    ]);
  });

  it('keeps one meaning per code in the process: a second plugin cannot take a registered code', () => {
    registerPluginErrors('owner-a', {
      prefix: 'E_OWNED_',
      codes: { E_OWNED_X: { category: 'timeout', summary: 'x' } },
    });
    registerPluginErrors('owner-a', {
      prefix: 'E_OWNED_',
      codes: { E_OWNED_X: { category: 'timeout', summary: 'x' } },
    });
    const e = thrown(() =>
      registerPluginErrors('owner-b', {
        prefix: 'E_OWNED_',
        codes: { E_OWNED_X: { category: 'internal', summary: 'y' } },
      }),
    );
    expect(e.code).toBe('E_PLUGIN_CLAIMED');
    expect(e.message).toBe('plugin owner-b: error code E_OWNED_X is already declared by plugin owner-a');
    expect(errorSpecOf('E_OWNED_X')?.category).toBe('timeout');
    const plan = planPlugins(
      [
        {
          kind: 'external',
          origin: './b.js',
          manifest: manifest('owner-b', {
            errors: errors('E_OWNED_', { E_OWNED_X: { category: 'internal', summary: 'y' } }),
          }),
        },
      ],
      configOf('plugins: {owner-b: {module: ./b.js}}'),
    );
    expect(plan.problems.map((p) => p.message)).toEqual([
      'error code E_OWNED_X is already declared by plugin owner-a in this process [E_PLUGIN_CLAIMED]',
    ]);
  });

  it('maps a registered plugin code from its declaration: category and exit code', () => {
    registerPluginErrors('mapper', {
      prefix: 'E_MAPPER_',
      codes: {
        E_MAPPER_GONE: { category: 'not-found', summary: 'gone' },
        E_MAPPER_HOT: { category: 'conflict', summary: 'hot', exitCode: 33 },
      },
    });
    // Plugin codes of this test only: cast, as a JavaScript plugin's throw site would be untyped.
    const gone = new VpmdError('E_MAPPER_GONE' as 'E_INTERNAL', 'gone');
    const hot = new VpmdError('E_MAPPER_HOT' as 'E_INTERNAL', 'hot');
    expect([gone.category, exitCodeFor(gone)]).toEqual(['not-found', EXIT_CODES['not-found']]);
    expect([hot.category, exitCodeFor(hot)]).toEqual(['conflict', 33]);
    expect(hot.toJSON()).toMatchObject({ code: 'E_MAPPER_HOT', category: 'conflict', exitCode: 33 });
    // a code nobody declared in this process (a plugin used outside an agent) is internal
    const unknown = new VpmdError('E_NOBODY_X' as 'E_INTERNAL', 'x');
    expect([unknown.category, exitCodeFor(unknown)]).toEqual(['internal', EXIT_CODES.internal]);
  });
});

describe('the core catalogue and the built-in plugins', () => {
  const before = JSON.parse(
    readFileSync(new URL('../../fixtures/error-codes-core-api-1.1.json', import.meta.url), 'utf8'),
  ) as Record<string, ErrorCategory>;
  const builtins = BUILTIN_PLUGINS.map((s) => s.manifest as PluginManifest);
  /** Codes of core API 1.1 retired in 1.2: logind and systemd failures became the core's host power codes. */
  const retired: Readonly<Record<string, string>> = {
    E_LIBVIRT_CAPS_LOGIND_UNAVAILABLE: 'E_HOST_POWER_UNAVAILABLE',
    E_LIBVIRT_CAPS_LOGIND_TIMEOUT: 'E_HOST_POWER_TIMEOUT',
    E_LIBVIRT_CAPS_LOGIND_REFUSED: 'E_HOST_POWER_REFUSED',
    E_LIBVIRT_CAPS_LOGIND_FAILED: 'E_HOST_POWER_FAILED',
    E_REDFISH_LOGIND: 'E_HOST_POWER_FAILED',
    E_REDFISH_SYSTEMD: 'E_HOST_POWER_FAILED',
  };

  it('keeps every code of core API 1.1 with its category and exit code, now declared by the core or its plugin', () => {
    const now = new Map<string, { category: ErrorCategory; exit: number; owner: string }>();
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE))
      now.set(code, { category: spec.category, exit: EXIT_CODES[spec.category], owner: 'core' });
    for (const m of builtins)
      for (const [code, spec] of Object.entries(m.errors?.codes ?? {}))
        now.set(code, { category: spec.category, exit: spec.exitCode ?? EXIT_CODES[spec.category], owner: m.name });
    for (const [code, category] of Object.entries(before)) {
      const replacement = retired[code];
      if (replacement === undefined)
        expect(now.get(code), code).toMatchObject({ category, exit: EXIT_CODES[category] });
      else {
        // Retired, declared by nobody, and its replacement is the core's.
        expect(now.get(code), code).toBeUndefined();
        expect(now.get(replacement), replacement).toMatchObject({ owner: 'core' });
      }
    }
    expect(Object.keys(before)).toHaveLength(87);
  });

  it('holds only the core families in the core catalogue; each built-in plugin declares its own', () => {
    const pluginCodes = builtins.flatMap((m) => Object.keys(m.errors?.codes ?? {}));
    expect(pluginCodes).toHaveLength(54); // 36 before the BMC drivers, 8 since, energy 1, prometheus 3, power 3, profiles 3
    for (const code of pluginCodes) expect(Object.keys(ERROR_CATALOGUE)).not.toContain(code);
    expect(builtins.map((m) => [m.name, m.errors?.prefix])).toEqual([
      ['libvirt-domains', 'E_LIBVIRT_DOMAINS_'],
      ['libvirt-caps', 'E_LIBVIRT_CAPS_'],
      ['ipmi', 'E_IPMI_'],
      ['redfish', 'E_REDFISH_'],
      ['virtio-channels', 'E_VC_'],
      ['snmp', 'E_SNMP_'],
      ['energy', 'E_VM_ENERGY_'],
      ['power', 'E_POWER_'],
      ['profiles', 'E_PROFILES_'],
      ['prometheus', 'E_PROMETHEUS_'],
    ]);
    // and the built-ins plan together without a claim or namespace problem
    const plan = planPlugins(BUILTIN_PLUGINS, configOf('plugins: {}'));
    expect(plan.problems).toEqual([]);
  });

  it('names the built-in plugins when a section names an unknown one', () => {
    const plan = planPlugins(BUILTIN_PLUGINS, configOf('plugins: {ipmy: {}}'));
    expect(plan.problems.map((p) => p.message)).toEqual([
      "unknown plugin 'ipmy' (did you mean 'ipmi'?): the built-in plugins are energy, ipmi, libvirt-caps, libvirt-domains, " +
        'power, profiles, prometheus, redfish, snmp, virtio-channels; to load another plugin, give its file or package in plugins.ipmy.module',
    ]);
  });
});

describe('plugin event types on the bus', () => {
  it('declares, lists and delivers a plugin event type, and refuses it to other emitters and claimants', () => {
    const bus = new EventBus(createLogger({ level: 'silent' }));
    bus.declare('acme', ['acme.tick.v1']);
    bus.declare('acme', ['acme.tick.v1']); // idempotent: the same plugin in a second plan
    const acme = scopeEventBus(bus, 'acme');
    const other = scopeEventBus(bus, 'other');
    expect(other.names()).toContain('acme.tick.v1');
    expect(other.names()).toContain('hw.log.v1');
    const got: unknown[] = [];
    // Untyped names, as a JavaScript plugin would pass them.
    other.on('acme.tick.v1' as 'audit.v1', (p) => void got.push(p));
    acme.emit('acme.tick.v1' as 'audit.v1', { n: 1 } as never);
    expect(got).toEqual([{ n: 1 }]);
    const foreign = thrown(() => other.emit('acme.tick.v1' as 'audit.v1', { n: 2 } as never));
    expect(foreign.code).toBe('E_EVENT_OWNER');
    expect(foreign.message).toBe("plugin other may not emit acme.tick.v1: it is plugin acme's event type");
    expect(thrown(() => bus.declare('copycat', ['acme.tick.v1'])).message).toBe(
      'plugin copycat: event type acme.tick.v1 is already declared by plugin acme',
    );
    expect(thrown(() => bus.declare('copycat', ['hw.log.v1'])).code).toBe('E_PLUGIN_CLAIMED');
    expect(thrown(() => other.on('nobody.x.v1' as 'audit.v1', () => {})).code).toBe('E_EVENT_UNKNOWN');
  });
});
