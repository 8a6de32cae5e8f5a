import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { CommandRegistry, defineCommand, type Invocation } from '../../../core/services/commands.js';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { StringEnum } from '../../../core/config/schema-helpers.js';
import type { Principal } from '../../../core/access/privileges.js';
import type { VpmdEventMap } from '../../../core/contracts/events.js';

const admin: Principal = { name: 'root', role: 'Administrator', origin: 'control-socket' };
const reader: Principal = { name: 'ro', role: 'ReadOnly', origin: 'redfish', address: '10.0.0.9' };
const inv = (principal: Principal): Invocation => ({
  principal,
  progress: () => {},
  signal: new AbortController().signal,
});

function setup() {
  const audit: VpmdEventMap['audit.v1'][] = [];
  const reg = new CommandRegistry(new AccessPolicy({ allow: [], audit: (e) => audit.push(e) }));
  reg.register(
    'ipmi',
    defineCommand({
      name: 'ipmi chassis',
      summary: 'chassis control',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: Type.String({ description: 'BMC name' }),
        action: StringEnum(['status', 'on', 'off', 'cycle'] as const),
        retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
        force: Type.Optional(Type.Boolean()),
      }),
      positional: ['target', 'action'],
      handler: (a) => ({ ...a }),
      human: (r) =>
        `${r.target} ${r.action}${r.retries !== undefined ? ` x${r.retries}` : ''}${r.force ? ' forced' : ''}`,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'account add',
      summary: 'add an account',
      privilege: 'ConfigureUsers',
      args: Type.Object({ user: Type.String(), password: Type.String({ minLength: 8 }) }),
      positional: ['user'],
      stdin: [{ name: 'password', prompt: 'Password', secret: true }],
      handler: (a) => ({ user: a.user, length: a.password.length }),
    }),
  );
  return { reg, audit };
}

describe('command registry', () => {
  it('parses positionals, typed options and flags from the schema', async () => {
    const { reg } = setup();
    const out = await reg.run(['ipmi', 'chassis', 'bmc1', 'cycle', '--retries', '3', '--force'], inv(admin));
    expect(out.result).toEqual({ target: 'bmc1', action: 'cycle', retries: 3, force: true });
    expect(out.human).toBe('bmc1 cycle x3 forced');
  });

  it('explains usage errors with what is allowed', async () => {
    const { reg } = setup();
    await expect(reg.run(['ipmi', 'chassis', 'bmc1', 'explode'], inv(admin))).rejects.toMatchObject({
      code: 'E_COMMAND_USAGE',
      message: 'ipmi chassis: action: must be one of: status, on, off, cycle',
    });
    await expect(reg.run(['ipmi', 'chassis', 'bmc1'], inv(admin))).rejects.toMatchObject({
      message:
        'ipmi chassis: missing ACTION (usage: ipmi chassis TARGET status|on|off|cycle [--retries RETRIES] [--force])',
    });
    await expect(reg.run(['ipmi', 'chassis', 'b', 'on', '--retries', 'x'], inv(admin))).rejects.toMatchObject({
      message: "ipmi chassis: retries: 'x' is not an integer",
    });
    await expect(reg.run(['ipmi', 'chassis', 'b', 'on', '--colour', 'x'], inv(admin))).rejects.toMatchObject({
      message: 'ipmi chassis: unknown option --colour (options: --retries, --force)',
    });
    await expect(reg.run(['ipmi', 'chassis', 'b', 'on', 'extra'], inv(admin))).rejects.toMatchObject({
      code: 'E_COMMAND_USAGE',
    });
    await expect(reg.run(['ipmi', 'chasis'], inv(admin))).rejects.toMatchObject({
      code: 'E_COMMAND_UNKNOWN',
      message: expect.stringContaining('did you mean: ipmi chassis'),
    });
  });

  it('checks the privilege and audits refusals and privileged actions', async () => {
    const { reg, audit } = setup();
    await expect(reg.run(['ipmi', 'chassis', 'bmc1', 'on'], inv(reader))).rejects.toMatchObject({
      code: 'E_ACCESS_DENIED',
      message: "ipmi chassis: 'ro' (role ReadOnly) lacks the ConfigureComponents privilege",
    });
    await reg.run(['ipmi', 'chassis', 'bmc1', 'on'], inv(admin));
    expect(audit.map((a) => [a.action, a.principal, a.outcome, a.address])).toEqual([
      ['ipmi chassis', 'ro', 'denied', '10.0.0.9'],
      ['ipmi chassis', 'root', 'ok', undefined],
    ]);
    expect(reg.list(reader)).toEqual([]);
    expect(reg.list(admin).map((c) => c.name)).toEqual(['account add', 'ipmi chassis']);
  });

  it('takes secrets from standard input only, never from the command line', async () => {
    const { reg } = setup();
    await expect(reg.run(['account', 'add', 'alice'], inv(admin))).rejects.toMatchObject({ code: 'E_COMMAND_STDIN' });
    await expect(
      reg.run(['account', 'add', 'alice', '--password', 'secret123'], inv(admin), ['x']),
    ).rejects.toMatchObject({
      message: expect.stringContaining('unknown option --password'),
    });
    const ok = await reg.run(['account', 'add', 'alice'], inv(admin), ['correct-horse']);
    expect(ok.result).toEqual({ user: 'alice', length: 13 });
    expect(reg.list(admin).find((c) => c.name === 'account add')?.usage).toBe('account add USER');
  });

  it('refuses duplicate names and removes an owner’s commands', () => {
    const { reg } = setup();
    expect(() =>
      reg.register(
        'x',
        defineCommand({
          name: 'ipmi chassis',
          summary: '',
          privilege: 'Login',
          args: Type.Object({}),
          handler: () => 1,
        }),
      ),
    ).toThrow(/already registered by ipmi/);
    expect(reg.removeOwner('ipmi')).toBe(1);
    expect(reg.list().map((c) => c.name)).toEqual(['account add']);
  });
});

describe('shell completion', () => {
  it('completes command words from the agent’s registry', async () => {
    const { completeLine } = await import('../../../app/shell.js');
    const names = ['host summary', 'host cpufreq', 'host set-governor', 'help', 'status'];
    expect(completeLine('ho', names)).toEqual([['host '], 'ho']);
    expect(completeLine('host ', names)).toEqual([['cpufreq ', 'set-governor ', 'summary '], '']);
    expect(completeLine('host s', names)).toEqual([['set-governor ', 'summary '], 's']);
    expect(completeLine('q', names)).toEqual([['quit '], 'q']);
  });
});
