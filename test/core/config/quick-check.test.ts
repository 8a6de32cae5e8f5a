import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { Type, type TSchema } from '@sinclair/typebox';
import { quickCheckOf } from '../../../core/config/quick-check.js';
import { schemaErrors } from '../../../core/config/schema-errors.js';
import { checkAgainstSchema } from '../../../core/state/state-validation.js';

// The quick check stands in for ajv only when it says "valid": every value it accepts, ajv must
// accept too. Each schema below is one the quick check covers; each is tried with values on
// both sides of every keyword, and the two verdicts are compared.
const strict = new Ajv({ allErrors: true, strict: true });
const loose = new Ajv({ allErrors: true, strict: false });

const ASTRAL = '\u{1F600}';
const CASES: ReadonlyArray<{ name: string; schema: TSchema; values: readonly unknown[] }> = [
  {
    name: 'string lengths in code points',
    schema: Type.String({ minLength: 2, maxLength: 3 }),
    values: [
      'a',
      'ab',
      'abc',
      'abcd',
      ASTRAL,
      `${ASTRAL}${ASTRAL}`,
      `a${ASTRAL}${ASTRAL}`,
      `${ASTRAL}`.repeat(4),
      3,
      null,
    ],
  },
  {
    name: 'patterns with the u flag',
    schema: Type.String({ pattern: '^.{2}$' }),
    values: ['ab', 'a', ASTRAL, `${ASTRAL}x`, 'abc', ''],
  },
  {
    name: 'numbers and integers with bounds and multipleOf',
    schema: Type.Object({
      n: Type.Number({ minimum: 0.5, exclusiveMaximum: 10, multipleOf: 0.5 }),
      i: Type.Optional(Type.Integer({ exclusiveMinimum: 0, maximum: 65535 })),
    }),
    values: [
      { n: 0.5 },
      { n: 0.25 },
      { n: 10 },
      { n: 9.5, i: 1 },
      { n: 1, i: 0 },
      { n: 1, i: 1.5 },
      { n: 1, i: 65536 },
      { n: NaN },
      { n: Infinity },
      { n: 1, i: Infinity },
      { n: '1' },
      { n: 0.30000000000000004 },
    ],
  },
  {
    name: 'objects: required, optional, unknown keys, key counts',
    schema: Type.Object(
      { a: Type.String(), b: Type.Optional(Type.Boolean()), c: Type.Null() },
      { additionalProperties: false, minProperties: 2, maxProperties: 3 },
    ),
    values: [
      { a: 'x', c: null },
      { a: 'x' },
      { a: 'x', c: null, b: true },
      { a: 'x', c: null, b: 'yes' },
      { a: 'x', c: null, d: 1 },
      { a: 'x', b: undefined, c: null },
      { c: null, b: false },
      [],
      null,
      'x',
    ],
  },
  {
    name: 'records, unions of literals, lists',
    schema: Type.Object({
      byName: Type.Record(Type.String({ pattern: '^[a-z]+$' }), Type.Union([Type.Literal('on'), Type.Literal(3)])),
      list: Type.Array(Type.Integer(), { minItems: 1, maxItems: 3, uniqueItems: true }),
      any: Type.Optional(Type.Unknown()),
    }),
    values: [
      { byName: { a: 'on', b: 3 }, list: [1, 2] },
      { byName: { a: 'off' }, list: [1] },
      { byName: { A: 'on' }, list: [1] },
      { byName: {}, list: [] },
      { byName: {}, list: [1, 1] },
      { byName: {}, list: [1, 2, 3, 4] },
      { byName: {}, list: [1.5] },
      { byName: {}, list: [1], any: { deep: [1] } },
      { byName: [], list: [1] },
    ],
  },
  {
    name: 'defaults, ignored by a validator that does not fill them in',
    schema: Type.Object({ port: Type.Integer({ minimum: 1, maximum: 65535, default: 161 }) }),
    values: [{}, { port: 0 }, { port: 162 }],
  },
];

describe('quick schema check', () => {
  for (const { name, schema, values } of CASES) {
    it(`never accepts what ajv rejects, and covers: ${name}`, () => {
      const quick = quickCheckOf(schema, 'ignore');
      expect(quick).toBeDefined();
      const vStrict = strict.compile(schema);
      const vLoose = loose.compile(schema);
      for (const value of values) {
        if (quick?.(value) === true) {
          expect({ value, strict: vStrict(value), loose: vLoose(value) }).toEqual({ value, strict: true, loose: true });
        }
        // Otherwise the verdicts agree: the quick check rejects only what strict ajv rejects too.
        expect({ value, quick: quick?.(value) }).toEqual({ value, quick: vStrict(value) });
      }
    });
  }

  it('leaves to ajv what it does not cover', () => {
    const uncovered: TSchema[] = [
      Type.String({ format: 'ipv4' }),
      Type.Object({ a: Type.String() }, { if: { properties: { a: { const: 'x' } } }, then: { required: ['b'] } }),
      Type.Unsafe<string>({ type: 'string', enum: ['a', 'b'] }),
      Type.String({ pattern: '(?<=a)b\\k' }),
      Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]),
      { type: 'object', properties: {} } as unknown as TSchema,
    ];
    for (const s of uncovered) expect(quickCheckOf(s, 'ignore')).toBeUndefined();
    // Defaults to fill in: only ajv fills them in.
    expect(quickCheckOf(CASES[5]!.schema, 'forbid')).toBeUndefined();
  });

  it('changes nothing in what schemaErrors and state checks report', () => {
    const schema = Type.Object({ name: Type.String({ minLength: 1 }), n: Type.Integer({ minimum: 1 }) });
    expect(schemaErrors(schema, { name: 'a', n: 1 })).toEqual([]);
    expect(schemaErrors(schema, { name: '', n: 0 }, 'x')).toEqual([
      { path: 'x.n', message: 'must be >= 1' },
      { path: 'x.name', message: 'must not be empty' },
    ]);
    expect(checkAgainstSchema(schema, { name: 'a', n: 1 })).toEqual({ ok: true });
    expect(checkAgainstSchema(schema, { name: 'a', n: 0 })).toEqual({ ok: false, problems: ['/n must be >= 1'] });
  });
});
