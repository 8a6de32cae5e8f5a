/**
 * Schema checks for persisted state: a value the quick check accepts is valid; otherwise one
 * ajv instance (strict, with the standard formats) compiles the TypeBox schema once and decides,
 * and failures are turned into short, path-qualified messages.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Ajv, ValidateFunction } from 'ajv';
import { createAjv, schemaErrors } from '../config/schema-errors.js';
import { quickCheckOf } from '../config/quick-check.js';

// Made on first need: reading state at start mostly passes the quick check (issue 21).
let ajv: Ajv | undefined;

function strictAjv(): Ajv {
  ajv ??= createAjv({ allErrors: true, strict: true });
  return ajv;
}

/** Compiled validators by schema object: schemas are long-lived constants of their modules. */
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** At most this many problems are quoted in an error message; the rest are counted. */
const MAX_QUOTED_PROBLEMS = 5;

/** The outcome of checking a value against a state schema. */
export type SchemaCheck = { readonly ok: true } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Checks `value` against `schema`.
 * @throws Error when the schema itself cannot be compiled (a programming error the caller wraps).
 */
export function checkAgainstSchema(schema: TSchema, value: unknown): SchemaCheck {
  // This ajv fills in no defaults: a schema's defaults are no reason to leave the quick check.
  if (quickCheckOf(schema, 'ignore')?.(value) === true) return { ok: true };
  let validate = compiled.get(schema);
  if (!validate) {
    validate = strictAjv().compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return { ok: true };
  // The config's wording ("must be one of: a, b", "is required"), not ajv's; on a copy, since
  // schemaErrors fills in defaults and a state file that failed must be reported as it is.
  const problems = schemaErrors(schema, structuredClone(value)).map((e) => `/${e.path} ${e.message}`);
  return { ok: false, problems: problems.length > 0 ? problems : ['/ is invalid'] };
}

/** Joins problems into one message fragment, quoting the first few. */
export function summarizeProblems(problems: readonly string[]): string {
  const quoted = problems.slice(0, MAX_QUOTED_PROBLEMS).join('; ');
  const rest = problems.length - MAX_QUOTED_PROBLEMS;
  return rest > 0 ? `${quoted}; and ${rest} more` : quoted;
}
