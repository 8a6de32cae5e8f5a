/**
 * `$filter` of DSP0266: comparisons (`eq ne gt ge lt le`) of a property path (`Status/Health`)
 * with a literal (`'text'` with `''` for a quote, a number, `true`, `false`, `null`), joined by
 * `and`, `or`, `not` and parentheses, evaluated against each member of a collection.
 */

type Literal = string | number | boolean | null;

/** A parsed `$filter` expression. */
export type FilterExpr =
  | { readonly op: 'and' | 'or'; readonly left: FilterExpr; readonly right: FilterExpr }
  | { readonly op: 'not'; readonly expr: FilterExpr }
  | {
      readonly op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
      readonly path: readonly string[];
      readonly value: Literal;
    };

/** A `$filter` that does not parse; the message says where. */
export class FilterSyntaxError extends Error {}

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const TOKEN =
  /\s*(?:(\()|(\))|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.])|([A-Za-z_@][\w@.#]*(?:\/[A-Za-z_@][\w@.#]*)*))/y;

type Token =
  | { kind: '(' | ')' }
  | { kind: 'string'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'word'; text: string };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new FilterSyntaxError(`unexpected text at position ${at + 1}: '${text.slice(at, at + 12)}'`);
    if (m[1]) out.push({ kind: '(' });
    else if (m[2]) out.push({ kind: ')' });
    else if (m[3] !== undefined) out.push({ kind: 'string', text: m[3].replace(/''/g, "'") });
    else if (m[4] !== undefined) out.push({ kind: 'number', value: Number(m[4]) });
    else out.push({ kind: 'word', text: m[5] as string });
  }
  return out;
}

/** Parses a `$filter` value. @throws FilterSyntaxError */
export function parseFilter(text: string): FilterExpr {
  const tokens = tokenize(text);
  let i = 0;
  const peekWord = (): string | undefined => {
    const t = tokens[i];
    return t?.kind === 'word' ? t.text : undefined;
  };
  const orExpr = (): FilterExpr => {
    let left = andExpr();
    while (peekWord() === 'or') {
      i++;
      left = { op: 'or', left, right: andExpr() };
    }
    return left;
  };
  const andExpr = (): FilterExpr => {
    let left = unary();
    while (peekWord() === 'and') {
      i++;
      left = { op: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): FilterExpr => {
    if (peekWord() === 'not') {
      i++;
      return { op: 'not', expr: unary() };
    }
    const t = tokens[i];
    if (t?.kind === '(') {
      i++;
      const e = orExpr();
      if (tokens[i]?.kind !== ')') throw new FilterSyntaxError('missing )');
      i++;
      return e;
    }
    return comparison();
  };
  const comparison = (): FilterExpr => {
    const prop = tokens[i++];
    if (prop?.kind !== 'word' || ['and', 'or', 'not'].includes(prop.text))
      throw new FilterSyntaxError('expected a property name');
    const op = tokens[i++];
    if (op?.kind !== 'word' || !COMPARISONS.has(op.text))
      throw new FilterSyntaxError(`expected one of eq, ne, gt, ge, lt, le after ${prop.text}`);
    const v = tokens[i++];
    let value: Literal;
    if (v?.kind === 'string') value = v.text;
    else if (v?.kind === 'number') value = v.value;
    else if (v?.kind === 'word' && ['true', 'false', 'null'].includes(v.text))
      value = v.text === 'null' ? null : v.text === 'true';
    else throw new FilterSyntaxError(`expected a value after ${prop.text} ${op.text}`);
    return { op: op.text as 'eq', path: prop.text.split('/'), value };
  };
  if (tokens.length === 0) throw new FilterSyntaxError('empty expression');
  const e = orExpr();
  if (i !== tokens.length) throw new FilterSyntaxError('unexpected text after the expression');
  return e;
}

function valueAt(body: unknown, path: readonly string[]): unknown {
  let v = body;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** True when `body` satisfies `e`; comparing values of different types is false (`ne` true). */
export function matchesFilter(e: FilterExpr, body: unknown): boolean {
  switch (e.op) {
    case 'and':
      return matchesFilter(e.left, body) && matchesFilter(e.right, body);
    case 'or':
      return matchesFilter(e.left, body) || matchesFilter(e.right, body);
    case 'not':
      return !matchesFilter(e.expr, body);
    default: {
      const raw = valueAt(body, e.path);
      const v = raw === undefined ? null : raw;
      const same = v === null || e.value === null ? v === e.value : typeof v === typeof e.value;
      if (e.op === 'eq') return same && v === e.value;
      if (e.op === 'ne') return !(same && v === e.value);
      if (!same || v === null || typeof v === 'boolean' || typeof v === 'object') return false;
      const a = v as string | number;
      const b = e.value as string | number;
      return e.op === 'gt' ? a > b : e.op === 'ge' ? a >= b : e.op === 'lt' ? a < b : a <= b;
    }
  }
}
