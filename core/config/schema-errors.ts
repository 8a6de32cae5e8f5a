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
    case 'exclusiveMaximum':
      return `must be < ${String(ps.exclusiveMaximum)}`;
    case 'multipleOf':
      return `must be a multiple of ${String(ps.multipleOf)}`;
    case 'minProperties':
      return `must have at least ${String(ps.minProperties)} keys`;
    case 'maxProperties':
      return `must have at most ${String(ps.maxProperties)} keys`;
    case 'dependentRequired':
    case 'dependencies': {
      const p = e.params as { property?: unknown; missingProperty?: unknown; deps?: unknown };
      return `needs ${String(p.deps ?? p.missingProperty)} as well, since ${String(p.property)} is set`;
    }
    case 'not':
    case 'false schema':
      return typeof ps.description === 'string' ? `must be ${ps.description}` : 'is not allowed here';
    default:
      // Never ajv's own wording ("must match ... schema"): it names the schema, not the problem.
      return typeof ps.description === 'string' ? `must be ${ps.description}` : 'is not valid here';
  }
}

/** A JSON value as an operator would type it in YAML. */
function shown(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** "a string", "an integer", "a list" for a JSON Schema type. */
function typeName(t: unknown): string | undefined {
  if (t === 'array') return 'a list';
  if (t === 'object') return 'a mapping';
  if (t === 'null') return 'null';
  if (typeof t !== 'string') return undefined;
  return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
}

/** What the branches of an anyOf/oneOf allow, when each is a constant, a list of values or a type. */
function alternatives(branches: unknown): string | undefined {
  if (!Array.isArray(branches)) return undefined;
  const values: string[] = [];
  const types: string[] = [];
  for (const b of branches as Record<string, unknown>[]) {
    if ('const' in b) values.push(shown(b.const));
    else if (Array.isArray(b.enum)) values.push(...b.enum.map(shown));
    else if (typeof b.description === 'string') types.push(b.description);
    else {
      const t = typeName(b.type);
      if (t === undefined) return undefined;
      types.push(t);
    }
  }
  const parts = [...types, ...(values.length > 0 ? [`one of: ${values.join(', ')}`] : [])];
  return parts.length > 0 ? `must be ${parts.join(', or ')}` : undefined;
}

/** The condition of an `if` as words (`securityLevel is authPriv`), when it is simple enough. */
function conditionOf(ifSchema: unknown, holds: boolean): string | undefined {
  const props = (ifSchema as { properties?: Record<string, { const?: unknown; enum?: unknown }> } | undefined)
    ?.properties;
  if (props === undefined) return undefined;
  const parts: string[] = [];
  for (const [key, p] of Object.entries(props)) {
    if ('const' in p) parts.push(`${key} is ${holds ? '' : 'not '}${shown(p.const)}`);
    else if (Array.isArray(p.enum))
      parts.push(`${key} is ${holds ? '' : 'not '}one of ${p.enum.map(shown).join(', ')}`);
    else return undefined;
  }
  if (parts.length === 0) return undefined;
  return holds || parts.length === 1 ? parts.join(' and ') : `not (${parts.join(' and ')})`;
}

/** A failed if/then/else: where its branch lives in the schema, and the condition in words. */
interface FailedCondition {
  readonly branchPath: string;
  readonly condition: string | undefined;
}

function failedConditions(errors: readonly ErrorObject[]): FailedCondition[] {
  return errors
    .filter((e) => e.keyword === 'if')
    .map((e) => {
      const branch = (e.params as { failingKeyword?: string }).failingKeyword === 'else' ? 'else' : 'then';
      return {
        branchPath: `${e.schemaPath.replace(/\/if$/, '')}/${branch}/`,
        condition: conditionOf((e.parentSchema as { if?: unknown } | undefined)?.if, branch === 'then'),
      };
    });
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
  // A failed `if` comes with the errors of its then/else branch: those say what is wrong, and
  // get the condition ("is required when securityLevel is authPriv"); the `if` error itself
  // ("must match \"then\" schema") is reported only when its branch gave none.
  const conditions = failedConditions(errors);
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
    const under = conditions.find((c) => e.schemaPath.startsWith(c.branchPath));
    const when = under?.condition === undefined ? '' : ` when ${under.condition}`;
    if (e.keyword === 'if') {
      const parent = e.schemaPath.replace(/\/if$/, '');
      const own = conditions.find((c) => c.branchPath === `${parent}/then/` || c.branchPath === `${parent}/else/`);
      if (!errors.some((x) => own !== undefined && x.schemaPath.startsWith(own.branchPath)))
        push(path, `is not valid${own?.condition === undefined ? ' for these settings' : ` when ${own.condition}`}`);
    } else if (e.keyword === 'required') {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      push(path === '' ? prop : `${path}.${prop}`, `is required${when}`);
    } else if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys(((e.parentSchema ?? {}) as { properties?: object }).properties ?? {});
      push(
        path === '' ? prop : `${path}.${prop}`,
        `unknown key${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
      );
    } else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const ps = (e.parentSchema ?? {}) as { description?: unknown; anyOf?: unknown; oneOf?: unknown };
      const several = e.keyword === 'oneOf' && Array.isArray((e.params as { passingSchemas?: unknown }).passingSchemas);
      const allowed = typeof ps.description === 'string' ? `must be ${ps.description}` : alternatives(ps[e.keyword]);
      if (several)
        push(path, `is ambiguous: it fits more than one of the allowed forms${allowed ? ` (${allowed})` : ''}`);
      else push(path, `${allowed ?? 'is not one of the allowed forms'}${when}`);
    } else {
      const ps = (e.parentSchema ?? {}) as { description?: unknown };
      // A described schema inside a branch already says when ("left out for an authNoPriv user").
      push(path, `${describe(e)}${typeof ps.description === 'string' ? '' : when}`);
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
