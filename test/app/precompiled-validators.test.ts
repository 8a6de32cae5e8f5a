import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';
import type { TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { BUILTIN_PLUGINS } from '../../app/builtin-plugins.js';
import { CoreConfigSchema } from '../../core/config/core-schema.js';
import { precompiledValidatorsSource } from '../../core/config/precompile-validators.js';
import { createConfigAjv, errorsOf, schemaKey } from '../../core/config/schema-errors.js';
import { strictSchema } from '../../core/kernel/plugin-plan.js';
import type { PluginManifest } from '../../core/kernel/plugin-contract.js';

// `npm run build` precompiles the shipped configuration schemas (scripts/precompile-validators.mjs);
// the agent then uses those validators instead of compiling. They must find the same problems
// and fill in the same defaults as the ones compiled at run time.
const schemas: TSchema[] = [
  CoreConfigSchema,
  ...BUILTIN_PLUGINS.map((p) => strictSchema((p.manifest as PluginManifest).config)),
];

function loadSource(source: string): Record<string, ValidateFunction> {
  const mod = { exports: {} as Record<string, ValidateFunction> };
  // The generated module requires ajv's runtime helpers, as it does from dist/.
  const wrapped = runInThisContext(`(function (module, exports, require) {${source}\n})`) as (
    m: typeof mod,
    e: typeof mod.exports,
    r: NodeJS.Require,
  ) => void;
  wrapped(mod, mod.exports, createRequire(import.meta.url));
  return mod.exports;
}

/** Values on both sides: empty (defaults), unknown keys, and each property given wrong types. */
function samples(schema: TSchema): unknown[] {
  const keys = Object.keys((schema as { properties?: object }).properties ?? {});
  return [
    {},
    { bogus: 1 },
    Object.fromEntries(keys.map((k) => [k, 'x'])),
    Object.fromEntries(keys.map((k) => [k, -1])),
    Object.fromEntries(keys.map((k) => [k, [{ name: '', port: 0, bogus: true }]])),
    Object.fromEntries(keys.map((k) => [k, { bogus: 1, enabled: 'no' }])),
    'not a mapping',
  ];
}

describe('precompiled configuration validators', () => {
  const table = loadSource(precompiledValidatorsSource(schemas));

  it('has one for the core and for every built-in plugin', () => {
    for (const s of schemas) expect(typeof table[schemaKey(s)]).toBe('function');
    expect(Object.keys(table)).toHaveLength(new Set(schemas.map(schemaKey)).size);
  });

  it('finds the same problems and fills in the same defaults as a run-time compile', () => {
    const ajv = createConfigAjv();
    for (const schema of schemas) {
      const compiled = ajv.compile(schema);
      const pre = table[schemaKey(schema)]!;
      expect(errorsOf(pre, { bogus: 1 })).toContainEqual({
        path: 'bogus',
        message: expect.stringMatching(/^unknown key/),
      });
      for (const sample of samples(schema)) {
        const a = structuredClone(sample);
        const b = structuredClone(sample);
        expect({ schema: schemaKey(schema), problems: errorsOf(pre, a), value: a }).toEqual({
          schema: schemaKey(schema),
          problems: errorsOf(compiled, b),
          value: b,
        });
      }
    }
  });

  it('keys a schema by its content: a changed schema is not taken for the built one', () => {
    const changed = { ...CoreConfigSchema, required: [] };
    expect(schemaKey(changed)).not.toBe(schemaKey(CoreConfigSchema));
    expect(schemaKey(structuredClone(CoreConfigSchema))).toBe(schemaKey(CoreConfigSchema));
  });
});
