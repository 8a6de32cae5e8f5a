/**
 * Turns a command line (`["TARGET", "--clear", "--limit", "5"]`) into arguments for a command
 * whose parameters are a TypeBox object schema. The schema is the single source of truth:
 * it drives parsing (types), validation (ajv), help text (descriptions) and shell completion.
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import { VpmdError } from '../errors.js';
import { schemaErrors } from '../config/schema-errors.js';

/** A value on a parsed command line. */
export type ArgValue = string | number | boolean | string[] | number[];

/** How one parameter is given on the command line. */
export interface ParamInfo {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  readonly required: boolean;
  readonly positional: boolean;
  readonly description: string;
  readonly choices?: readonly string[];
}

function typeOf(s: TSchema): ParamInfo['type'] {
  const t = (s as { type?: unknown }).type;
  if (t === 'integer' || t === 'number' || t === 'boolean' || t === 'array') return t;
  return 'string';
}

/** Describes the parameters of `schema`, positionals first in their order. */
export function describeParams(schema: TObject, positional: readonly string[] = []): ParamInfo[] {
  const required = new Set(schema.required ?? []);
  const props = Object.entries<TSchema>(schema.properties);
  const info = (name: string, s: TSchema, isPos: boolean): ParamInfo => {
    const e = (s as { enum?: unknown }).enum;
    const description = (s as { description?: unknown }).description;
    return {
      name,
      type: typeOf(s),
      required: required.has(name),
      positional: isPos,
      description: typeof description === 'string' ? description : '',
      ...(Array.isArray(e) ? { choices: e.map(String) } : {}),
    };
  };
  const pos = positional.map((n) => {
    const s = schema.properties[n];
    if (!s) throw new VpmdError('E_INTERNAL', `positional parameter '${n}' is not in the argument schema`);
    return info(n, s, true);
  });
  return [...pos, ...props.filter(([n]) => !positional.includes(n)).map(([n, s]) => info(n, s, false))];
}

function coerce(p: ParamInfo, token: string, command: string): string | number | boolean {
  if (p.type === 'integer' || p.type === 'number') {
    const n = Number(token);
    if (token.trim() === '' || !Number.isFinite(n) || (p.type === 'integer' && !Number.isInteger(n))) {
      throw new VpmdError(
        'E_COMMAND_USAGE',
        `${command}: ${p.name}: '${token}' is not ${p.type === 'integer' ? 'an integer' : 'a number'}`,
        {
          param: p.name,
        },
      );
    }
    return n;
  }
  if (p.type === 'boolean') {
    if (token === 'true') return true;
    if (token === 'false') return false;
    throw new VpmdError('E_COMMAND_USAGE', `${command}: --${p.name}: '${token}' is not true or false`, {
      param: p.name,
    });
  }
  return token;
}

function itemType(schema: TObject, name: string): ParamInfo {
  const s = schema.properties[name] as { items?: TSchema } | undefined;
  const item = s?.items;
  return { name, type: item ? typeOf(item) : 'string', required: false, positional: false, description: '' };
}

/**
 * Parses `argv` against `schema` and validates the result.
 * @throws VpmdError E_COMMAND_USAGE saying which argument is wrong and what is allowed.
 */
export function parseCommandArgs(
  command: string,
  schema: TObject,
  positional: readonly string[],
  argv: readonly string[],
  extra: Readonly<Record<string, string>> = {},
  stdinOnly: readonly string[] = [],
): Record<string, ArgValue> {
  // Values that come from standard input (secrets) are never accepted on the command line.
  const params = describeParams(schema, positional).filter((p) => !stdinOnly.includes(p.name));
  const byName = new Map(params.map((p) => [p.name, p]));
  const out: Record<string, ArgValue> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith('--') || tok === '--') {
      positionals.push(tok);
      continue;
    }
    const eq = tok.indexOf('=');
    const name = tok.slice(2, eq < 0 ? undefined : eq);
    const p = byName.get(name);
    if (!p || p.positional) {
      const options = params.filter((q) => !q.positional).map((q) => `--${q.name}`);
      throw new VpmdError(
        'E_COMMAND_USAGE',
        `${command}: unknown option --${name}${options.length ? ` (options: ${options.join(', ')})` : ' (this command takes no options)'}`,
        {
          option: name,
        },
      );
    }
    let value: string | undefined = eq < 0 ? undefined : tok.slice(eq + 1);
    if (p.type === 'boolean' && value === undefined) {
      out[p.name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined)
        throw new VpmdError('E_COMMAND_USAGE', `${command}: --${name} needs a value`, { option: name });
    }
    if (p.type === 'array') {
      const prev = (out[p.name] as (string | number)[] | undefined) ?? [];
      out[p.name] = [...prev, coerce(itemType(schema, p.name), value, command)] as string[] | number[];
    } else {
      out[p.name] = coerce(p, value, command);
    }
  }
  const posParams = params.filter((p) => p.positional);
  posParams.forEach((p, idx) => {
    const last = idx === posParams.length - 1;
    if (p.type === 'array' && last) {
      const rest = positionals.slice(idx);
      if (rest.length > 0)
        out[p.name] = rest.map((t) => coerce(itemType(schema, p.name), t, command)) as string[] | number[];
      return;
    }
    const tok = positionals[idx];
    if (tok !== undefined) out[p.name] = coerce(p, tok, command);
  });
  const lastPos = posParams[posParams.length - 1];
  const maxPos = lastPos?.type === 'array' ? Infinity : posParams.length;
  if (positionals.length > maxPos) {
    throw new VpmdError(
      'E_COMMAND_USAGE',
      `${command}: unexpected argument '${positionals[maxPos] ?? ''}' (usage: ${usageLine(command, params)})`,
      {},
    );
  }
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  const errors = schemaErrors(schema, out);
  if (errors.length > 0) {
    const first = errors[0]!;
    const missing = params.find((p) => first.path === p.name && first.message === 'is required');
    const msg = missing
      ? `${command}: missing ${missing.positional ? missing.name.toUpperCase() : `--${missing.name}`} (usage: ${usageLine(command, params)})`
      : `${command}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
    throw new VpmdError('E_COMMAND_USAGE', msg, { errors: errors.map((e) => `${e.path}: ${e.message}`) });
  }
  return out;
}

/** One-line usage, virsh style: `ipmi sel TARGET [--clear]`. */
export function usageLine(command: string, params: readonly ParamInfo[]): string {
  const parts = params.map((p) => {
    const choice = p.choices ? p.choices.join('|') : undefined;
    if (p.positional) {
      const n = choice ?? p.name.toUpperCase();
      const v = p.type === 'array' ? `${n}...` : n;
      return p.required ? v : `[${v}]`;
    }
    const v = p.type === 'boolean' ? `--${p.name}` : `--${p.name} ${choice ?? p.name.toUpperCase()}`;
    return p.required ? v : `[${v}]`;
  });
  return [command, ...parts].join(' ');
}
