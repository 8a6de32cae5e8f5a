/** Schema errors read as what is wrong, where and what is allowed, never in JSON Schema's words. */
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { schemaErrors } from '../../../core/config/schema-errors.js';
import { StringEnum } from '../../../core/config/schema-helpers.js';
import { planPlugins } from '../../../core/kernel/plugin-plan.js';
import { parseConfigText } from '../../../core/config/load-config.js';

/** A user whose security level decides which keys it needs (the shape of the SNMP plugin's users). */
const User = Type.Object(
  {
    name: Type.String(),
    securityLevel: StringEnum(['authPriv', 'authNoPriv', 'noAuthNoPriv'] as const),
    auth: Type.Optional(StringEnum(['sha256', 'sha512'] as const)),
    authPassphrase: Type.Optional(Type.String()),
    priv: Type.Optional(Type.String()),
  },
  {
    additionalProperties: false,
    allOf: [
      {
        if: { properties: { securityLevel: { const: 'authPriv' } } },
        then: { required: ['auth', 'authPassphrase', 'priv'] },
      },
      {
        if: { properties: { securityLevel: { const: 'noAuthNoPriv' } }, required: ['securityLevel'] },
        then: { properties: { auth: false } },
        else: { required: ['auth'] },
      },
    ],
  },
);
const Section = Type.Object({
  users: Type.Array(User),
  mode: Type.Optional(Type.Union([Type.Literal('fast'), Type.Literal('safe'), Type.Integer()])),
  port: Type.Optional(Type.Union([Type.Integer(), Type.String()], { description: 'a port number or a service name' })),
  bus: Type.Optional(Type.Union([Type.Literal('system'), Type.Literal('session')])),
});

const JARGON = /schema|oneOf|anyOf|allowed values|must match "/;

describe('schemaErrors', () => {
  it('says when an if/then rule applies and what is missing, not "must match \\"then\\" schema"', () => {
    const errors = schemaErrors(Section, {
      users: [
        { name: 'a', securityLevel: 'authPriv', auth: 'sha256' },
        { name: 'b', securityLevel: 'noAuthNoPriv', auth: 'sha512' },
        { name: 'c', securityLevel: 'authNoPriv' },
      ],
    });
    expect(errors).toEqual([
      { path: 'users[0].authPassphrase', message: 'is required when securityLevel is authPriv' },
      { path: 'users[0].priv', message: 'is required when securityLevel is authPriv' },
      { path: 'users[1].auth', message: 'is not allowed here when securityLevel is noAuthNoPriv' },
      { path: 'users[2].auth', message: 'is required when securityLevel is not noAuthNoPriv' },
    ]);
  });

  it('lists the allowed values of an enum and of a union of constants', () => {
    const errors = schemaErrors(Section, {
      users: [{ name: 'a', securityLevel: 'authpriv', auth: 'md5' }],
      mode: 'quick',
      bus: 'user',
      port: true,
    });
    expect(errors).toEqual([
      { path: 'bus', message: 'must be one of: system, session' },
      { path: 'mode', message: 'must be an integer, or one of: fast, safe' },
      { path: 'port', message: 'must be a port number or a service name' },
      { path: 'users[0].auth', message: 'must be one of: sha256, sha512' },
      { path: 'users[0].securityLevel', message: 'must be one of: authPriv, authNoPriv, noAuthNoPriv' },
    ]);
    for (const e of errors) expect(e.message).not.toMatch(JARGON);
  });

  it('says a value fitting several forms of a oneOf is ambiguous', () => {
    const Either = Type.Object({ v: { oneOf: [{ type: 'integer' }, { type: 'number' }] } as never });
    expect(schemaErrors(Either, { v: 3 })).toEqual([
      {
        path: 'v',
        message: 'is ambiguous: it fits more than one of the allowed forms (must be an integer, or a number)',
      },
    ]);
    expect(schemaErrors(Either, { v: 'x' })).toEqual([{ path: 'v', message: 'must be an integer, or a number' }]);
  });
});

describe('a plugin section with an if/then rule and a bad enum, as check-config reports it', () => {
  it('names the path in the file, the condition and the allowed values', () => {
    const manifest = {
      name: 'agentx',
      version: '1.0.0',
      description: 'test',
      coreApi: '^1.0.0',
      config: Type.Object({ users: Type.Array(User, { default: [] }) }),
      register: () => ({ start() {}, stop() {} }),
    };
    const { config } = parseConfigText(
      ['plugins:', '  agentx:', '    users:', '      - {name: a, securityLevel: authPriv, auth: sha1}'].join('\n'),
    );
    const plan = planPlugins([{ kind: 'built-in', origin: 'built-in', manifest }], config);
    expect(plan.problems).toEqual([
      { path: 'plugins.agentx.users[0].auth', message: 'must be one of: sha256, sha512' },
      { path: 'plugins.agentx.users[0].authPassphrase', message: 'is required when securityLevel is authPriv' },
      { path: 'plugins.agentx.users[0].priv', message: 'is required when securityLevel is authPriv' },
    ]);
  });
});
