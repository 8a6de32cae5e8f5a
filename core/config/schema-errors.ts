/**
 * Schema validation with operator-friendly errors: every problem comes back as a path in the
 * configuration's own notation (`plugins.ipmi.targets[2].port`) and a message that says what is
 * allowed (`must be 1-65535`, `must be one of: system, session`, `unknown key (allowed: ...)`).
 * Schemas are TypeBox objects (plain JSON Schema); ajv compiles each once.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the callable sits at `.default`.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default: { default?: AddFormats } }).default.default ??
  (addFormatsModule as unknown as { default: AddFormats }).default;

/** One validation problem. */
export interface SchemaError {
  /** Dotted path from the validated value's root (`targets[2].port`), or '' for the root. */
  readonly path: string;
  readonly message: string;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, useDefaults: true, coerceTypes: false });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

function validator(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Joins a base path and a JSON pointer into dotted/bracket notation. */
export function joinPath(base: string, pointer: string): string {
  let out = base;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function describe(e: ErrorObject): string {
  const ps = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const t = String((e.params as { type: unknown }).type);
      const article = /^[aeiou]/.test(t) ? 'an' : 'a';
      return t === 'array' ? 'must be a list' : t === 'object' ? 'must be a mapping' : `must be ${article} ${t}`;
    }
    case 'minimum':
    case 'maximum':
      if (typeof ps.minimum === 'number' && typeof ps.maximum === 'number')
        return `must be ${ps.minimum}-${ps.maximum}`;
      return e.keyword === 'minimum' ? `must be >= ${String(ps.minimum)}` : `must be <= ${String(ps.maximum)}`;
    case 'exclusiveMinimum':
      return `must be > ${String(ps.exclusiveMinimum)}`;
    case 'enum':
      return `must be one of: ${(ps.enum as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(ps.const)}`;
    case 'minLength':
      return ps.minLength === 1 ? 'must not be empty' : `must be at least ${String(ps.minLength)} characters`;
    case 'maxLength':
      return `must be at most ${String(ps.maxLength)} characters`;
    case 'minItems':
      return ps.minItems === 1 ? 'must not be empty' : `must have at least ${String(ps.minItems)} entries`;
    case 'maxItems':
      return `must have at most ${String(ps.maxItems)} entries`;
    case 'pattern':
      return typeof ps.description === 'string' ? `must be ${ps.description}` : `must match ${String(ps.pattern)}`;
    case 'format':
      return `must be a valid ${String((e.params as { format: unknown }).format)}`;
    case 'uniqueItems':
      return 'must not repeat entries';
    default:
      return e.message ?? 'is invalid';
  }
}

/**
 * Validates `value` against `schema` (applying schema defaults to `value` in place) and returns
 * every problem, de-duplicated and sorted by path. Empty when valid.
 */
export function schemaErrors(schema: TSchema, value: unknown, basePath = ''): SchemaError[] {
  const v = validator(schema);
  if (v(value)) return [];
  const seen = new Set<string>();
  const out: SchemaError[] = [];
  const push = (path: string, message: string): void => {
    const k = `${path}\0${message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ path, message });
    }
  };
  const errors = v.errors ?? [];
  // Branch errors of an anyOf/oneOf are noise once the combinator itself is reported.
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath);
  for (const e of errors) {
    if (
      combinators.some(
        (c) =>
          e.schemaPath !== c &&
          e.schemaPath.startsWith(c.replace(/\/(anyOf|oneOf)$/, '')) &&
          e.keyword !== 'anyOf' &&
          e.keyword !== 'oneOf',
      )
    )
      continue;
    const path = joinPath(basePath, e.instancePath);
    if (e.keyword === 'required') {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      push(path === '' ? prop : `${path}.${prop}`, 'is required');
    } else if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys(((e.parentSchema ?? {}) as { properties?: object }).properties ?? {});
      push(
        path === '' ? prop : `${path}.${prop}`,
        `unknown key${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
      );
    } else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const ps = (e.parentSchema ?? {}) as { description?: unknown };
      push(path, typeof ps.description === 'string' ? `must be ${ps.description}` : 'does not match any allowed form');
    } else {
      push(path, describe(e));
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
