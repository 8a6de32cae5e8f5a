/**
 * A check of common TypeBox schemas without ajv, so that a start-up (state files, the first
 * commands) neither loads ajv nor compiles a validator (issue 21: ajv's compiler, cold, took
 * 0.5-1.2 s of a 2 s start). It covers a whitelist of TypeBox kinds and keywords, interpreted
 * with ajv's semantics (code-point lengths, `u` regular expressions, ajv's multipleOf), and is
 * trusted only when it says "valid": a value it rejects, or a schema outside the whitelist (an
 * unknown keyword, `format`, `if`, a `$ref`, a default to fill in), goes to ajv, whose verdict and
 * messages stand. Where the two could differ it is stricter (non-finite numbers, objects in
 * `uniqueItems` lists), never looser.
 */
import { Kind, type TSchema } from '@sinclair/typebox';

/** A check of one value: true only when ajv would accept it too. */
export type QuickCheck = (value: unknown) => boolean;

/** Whether `default` keywords may appear: ignored (a validator that does not fill them in) or not. */
export type DefaultsPolicy = 'ignore' | 'forbid';

const ANNOTATIONS = new Set(['description', 'title', 'examples', '$comment', 'readOnly', 'writeOnly', 'deprecated']);

/** The keywords enforced for each TypeBox kind (besides `type`, which each checks itself). */
const KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  Object: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  Record: ['patternProperties', 'additionalProperties', 'minProperties', 'maxProperties'],
  Array: ['items', 'minItems', 'maxItems', 'uniqueItems'],
  String: ['minLength', 'maxLength', 'pattern'],
  Number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  Integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  Boolean: [],
  Null: [],
  Literal: ['const'],
  Union: ['anyOf'],
  Any: [],
  Unknown: [],
};

/** Thrown while building a check: the schema is outside what the quick check covers. */
class NotCovered extends Error {}

/** Built checks (null: not covered), one map per defaults policy. */
const caches: Record<DefaultsPolicy, WeakMap<object, QuickCheck | null>> = {
  ignore: new WeakMap(),
  forbid: new WeakMap(),
};

/**
 * The quick check of `schema`, or undefined when the schema is outside what it covers (then
 * only ajv can tell). Built once per schema object and policy.
 */
export function quickCheckOf(schema: TSchema, defaults: DefaultsPolicy): QuickCheck | undefined {
  const cache = caches[defaults];
  let check = cache.get(schema);
  if (check === undefined) {
    try {
      check = build(schema, defaults);
    } catch (e) {
      if (!(e instanceof NotCovered)) throw e;
      check = null;
    }
    cache.set(schema, check);
  }
  return check ?? undefined;
}

function keywordsOf(schema: Record<string, unknown>, kind: string, defaults: DefaultsPolicy): void {
  const allowed = KEYWORDS[kind];
  if (allowed === undefined) throw new NotCovered(kind);
  for (const k of Object.keys(schema)) {
    if (k === 'type' || ANNOTATIONS.has(k) || allowed.includes(k)) continue;
    if (k === 'default' && defaults === 'ignore') continue;
    throw new NotCovered(k);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A pattern as ajv compiles it (`u` flag); one it cannot compile is left to ajv. */
function regex(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    throw new NotCovered('pattern');
  }
}
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function build(schema: TSchema, defaults: DefaultsPolicy): QuickCheck {
  const s = schema as unknown as Record<string, unknown>;
  const kind = (schema as { [Kind]?: unknown })[Kind];
  if (typeof kind !== 'string') throw new NotCovered('not a TypeBox schema');
  keywordsOf(s, kind, defaults);
  switch (kind) {
    case 'Any':
    case 'Unknown':
      return () => true;
    case 'Boolean':
      return (v) => typeof v === 'boolean';
    case 'Null':
      return (v) => v === null;
    case 'Literal': {
      const c = s.const;
      if (typeof c !== 'string' && typeof c !== 'number' && typeof c !== 'boolean') throw new NotCovered('const');
      return (v) => v === c;
    }
    case 'String':
      return stringCheck(s);
    case 'Number':
    case 'Integer':
      return numberCheck(s, kind === 'Integer');
    case 'Union': {
      if (!Array.isArray(s.anyOf)) throw new NotCovered('anyOf');
      const branches = (s.anyOf as TSchema[]).map((b) => build(b, defaults));
      return (v) => branches.some((b) => b(v));
    }
    case 'Array':
      return arrayCheck(s, defaults);
    default:
      return objectCheck(s, defaults);
  }
}

function stringCheck(s: Record<string, unknown>): QuickCheck {
  const min = num(s.minLength);
  const max = num(s.maxLength);
  if (s.pattern !== undefined && typeof s.pattern !== 'string') throw new NotCovered('pattern');
  // ajv compiles patterns with the `u` flag and counts lengths in code points.
  const re = typeof s.pattern === 'string' ? regex(s.pattern) : undefined;
  return (v) => {
    if (typeof v !== 'string') return false;
    if (min !== undefined || max !== undefined) {
      const n = [...v].length;
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) return false;
    }
    return re === undefined || re.test(v);
  };
}

function numberCheck(s: Record<string, unknown>, integer: boolean): QuickCheck {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = s;
  for (const x of [minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf])
    if (x !== undefined && typeof x !== 'number') throw new NotCovered('numeric bound');
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
    if (integer && !Number.isInteger(v)) return false;
    if (typeof minimum === 'number' && v < minimum) return false;
    if (typeof maximum === 'number' && v > maximum) return false;
    if (typeof exclusiveMinimum === 'number' && v <= exclusiveMinimum) return false;
    if (typeof exclusiveMaximum === 'number' && v >= exclusiveMaximum) return false;
    // ajv's own test (without multipleOfPrecision).
    if (typeof multipleOf === 'number' && v / multipleOf !== parseInt(String(v / multipleOf))) return false;
    return true;
  };
}

function arrayCheck(s: Record<string, unknown>, defaults: DefaultsPolicy): QuickCheck {
  if (s.items !== undefined && (typeof s.items !== 'object' || Array.isArray(s.items))) throw new NotCovered('items');
  const items = s.items === undefined ? undefined : build(s.items as TSchema, defaults);
  const min = num(s.minItems);
  const max = num(s.maxItems);
  const unique = s.uniqueItems === true;
  return (v) => {
    if (!Array.isArray(v)) return false;
    if ((min !== undefined && v.length < min) || (max !== undefined && v.length > max)) return false;
    if (items !== undefined && !v.every((x) => items(x))) return false;
    // Only lists of primitives: deep equality of objects is left to ajv.
    if (unique && (v.some((x) => typeof x === 'object' && x !== null) || new Set(v).size !== v.length)) return false;
    return true;
  };
}

function objectCheck(s: Record<string, unknown>, defaults: DefaultsPolicy): QuickCheck {
  const props = Object.entries((s.properties ?? {}) as Record<string, TSchema>).map(
    ([k, p]) => [k, build(p, defaults)] as const,
  );
  const known = new Set(props.map(([k]) => k));
  const required = (s.required ?? []) as string[];
  const patterns = Object.entries((s.patternProperties ?? {}) as Record<string, TSchema>).map(
    ([p, sub]) => [regex(p), build(sub, defaults)] as const,
  );
  const extra =
    s.additionalProperties === undefined || s.additionalProperties === true
      ? undefined
      : s.additionalProperties === false
        ? (): boolean => false
        : build(s.additionalProperties as TSchema, defaults);
  const minP = num(s.minProperties);
  const maxP = num(s.maxProperties);
  return (v) => {
    if (!isObject(v)) return false;
    for (const k of required) if (v[k] === undefined) return false;
    for (const [k, check] of props) if (v[k] !== undefined && !check(v[k])) return false;
    const keys = Object.keys(v);
    if ((minP !== undefined && keys.length < minP) || (maxP !== undefined && keys.length > maxP)) return false;
    if (patterns.length === 0 && extra === undefined) return true;
    for (const k of keys) {
      let matched = known.has(k);
      for (const [re, check] of patterns) {
        if (!re.test(k)) continue;
        matched = true;
        if (!check(v[k])) return false;
      }
      if (!matched && extra !== undefined && !extra(v[k])) return false;
    }
    return true;
  };
}
