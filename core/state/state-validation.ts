/**
 * Schema checks for persisted state: one ajv instance (with the standard formats) compiles each
 * TypeBox schema once, and failures are turned into short, path-qualified messages.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { schemaErrors } from '../config/schema-errors.js';

// ajv-formats is CommonJS with a `default` export; under NodeNext its plugin is `.default`.
const addFormats = formatsModule.default;

const ajv = addFormats(new Ajv({ allErrors: true, strict: true }));

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
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
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
