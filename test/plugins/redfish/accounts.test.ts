/**
 * Accounts and sessions as operators and clients meet them: vpmctl account commands (password
 * from standard input), Redfish login/logout, lockout, PasswordChangeRequired, immutable roles,
 * and what is persisted (a salted scrypt hash, never the password).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../../core/state/index.js';
import { AccountStore } from '../../../plugins/redfish/auth/accounts.js';
import { SessionStore } from '../../../plugins/redfish/auth/sessions.js';
import { bootRedfish, type RedfishHarness } from './support.js';

let h: RedfishHarness;
let admin: string;
const SS = '/redfish/v1/SessionService/Sessions';

beforeAll(async () => {
  h = await bootRedfish();
});
afterAll(async () => {
  await h?.stop();
});

const ids = (r: { json: { error: { '@Message.ExtendedInfo': Array<{ MessageId: string }> } } }): string[] =>
  r.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId);

// The accounts and sessions of one service, step by step (the first test makes the account the
// others log in with): the block keeps its order under `--sequence.shuffle`.
describe('redfish accounts', { shuffle: false }, () => {
  it('has no account until one is made, then vpmctl account add/list work with the password from stdin', async () => {
    expect(await h.agent.json(['account', 'list'])).toEqual([]);
    const redfishHealth = async (): Promise<string | undefined> =>
      (await h.agent.status()).find((p) => p.name === 'redfish')?.health?.detail;
    expect(await redfishHealth()).toContain('(0 account(s): create one with vpmctl account add)');
    expect((await h.rf('POST', SS, { body: { UserName: 'admin', Password: 'whatever-1' } })).status).toBe(401);
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    expect(await redfishHealth()).toContain('(1 account(s))');
    const list = await h.agent.json<Array<{ user: string; role: string }>>(['account', 'list']);
    expect(list.map((a) => [a.user, a.role])).toEqual([['admin', 'Administrator']]);
    const human = await h.agent.run(['account', 'list']);
    expect(human.type === 'result' && human.human).toMatch(/admin\s+Administrator/);
    admin = await h.login('admin', 'Admin-pass-1');
    // No password on the command line, a short password, a duplicate and an unknown role are refused.
    const noStdin = await h.agent.run(['account', 'add', 'x1', '--role', 'ReadOnly']);
    expect(noStdin.type).toBe('error');
    await expect(h.addAccount('x2', 'ReadOnly', 'short')).rejects.toThrow(/8 to 128 characters/);
    await expect(h.addAccount('admin', 'ReadOnly', 'Another-pass-1')).rejects.toThrow(/already exists/);
    await expect(h.addAccount('x3', 'Superuser', 'Another-pass-1')).rejects.toThrow(/role/);
    expect((await h.agent.json<unknown[]>(['account', 'list'])).length).toBe(1);
  });

  it('logs in with a session (201, X-Auth-Token, Location) and logs out with DELETE', async () => {
    await h.addAccount('ops', 'Operator', 'Operator-pass-1');
    const r = await h.rf('POST', `${SS}/Members`, { body: { UserName: 'ops', Password: 'Operator-pass-1' } });
    expect(r.status).toBe(201);
    const token = r.headers['x-auth-token'] as string;
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect(r.headers.location).toBe(r.json['@odata.id']);
    expect(r.json.Password).toBeNull();
    expect((await h.rf('GET', '/redfish/v1/Systems', { token })).status).toBe(200);
    // A ReadOnly/Operator user sees only its own sessions; an admin sees all.
    const mine = await h.rf('GET', SS, { token });
    expect(mine.json.Members).toEqual([{ '@odata.id': r.headers.location }]);
    expect((await h.rf('GET', SS, { token: admin })).json['Members@odata.count']).toBeGreaterThanOrEqual(2);
    expect((await h.rf('DELETE', String(r.headers.location), { token })).status).toBe(204);
    expect((await h.rf('GET', '/redfish/v1/Systems', { token })).status).toBe(401);
  });

  it('refuses a login with missing properties or unknown ones', async () => {
    const r = await h.rf('POST', SS, { body: { UserName: 'ops' } });
    expect(r.status).toBe(400);
    expect(ids(r)).toEqual(['Base.1.22.1.CreateFailedMissingReqProperties']);
    expect(ids(await h.rf('POST', SS, { body: { UserName: 'ops', Password: 'x', Extra: 1 } }))).toEqual([
      'Base.1.22.1.PropertyUnknown',
    ]);
  });

  it('locks an account after AccountLockoutThreshold failures, even for the right password, until unlocked', async () => {
    await h.addAccount('victim', 'ReadOnly', 'Victim-pass-1');
    expect(
      (
        await h.rf('PATCH', '/redfish/v1/AccountService', {
          token: admin,
          body: { AccountLockoutThreshold: 3, AccountLockoutDuration: 0 },
        })
      ).status,
    ).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await h.rf('POST', SS, { body: { UserName: 'victim', Password: `wrong-${i}-xxxx` } })).status).toBe(401);
    expect((await h.rf('POST', SS, { body: { UserName: 'victim', Password: 'Victim-pass-1' } })).status).toBe(401);
    expect((await h.rf('GET', '/redfish/v1/Systems', { basic: ['victim', 'Victim-pass-1'] })).status).toBe(401);
    const list = await h.agent.json<Array<{ user: string; locked: boolean }>>(['account', 'list']);
    expect(list.find((a) => a.user === 'victim')?.locked).toBe(true);
    await h.agent.json(['account', 'unlock', 'victim']);
    expect((await h.rf('POST', SS, { body: { UserName: 'victim', Password: 'Victim-pass-1' } })).status).toBe(201);
    // Refusals are in the audit log served by the manager.
    const entries = await h.rf('GET', '/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries', { token: admin });
    const last = await h.rf('GET', entries.json.Members.at(-1)?.['@odata.id'] ?? 'no entry', { token: admin });
    expect(last.json.Message).toMatch(/victim/);
  });

  it('honours PasswordChangeRequired: only own account GET and own Password PATCH until changed', async () => {
    await h.addAccount('fresh', 'Operator', 'Initial-pass-1', ['--password-change-required']);
    const login = await h.rf('POST', SS, { body: { UserName: 'fresh', Password: 'Initial-pass-1' } });
    expect(login.status).toBe(201);
    expect(login.json['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PasswordChangeRequired');
    const token = login.headers['x-auth-token'] as string;
    const denied = await h.rf('GET', '/redfish/v1/Systems', { token });
    expect(denied.status).toBe(403);
    expect(ids(denied)).toEqual(['Base.1.22.1.PasswordChangeRequired']);
    const accounts = await h.agent.json<Array<{ id: string; user: string }>>(['account', 'list']);
    const uri = `/redfish/v1/AccountService/Accounts/${accounts.find((a) => a.user === 'fresh')?.id}`;
    expect((await h.rf('GET', uri, { token })).json.PasswordChangeRequired).toBe(true);
    expect((await h.rf('PATCH', uri, { token, body: { Password: 'Changed-pass-2', Enabled: true } })).status).toBe(403);
    const changed = await h.rf('PATCH', uri, { token, body: { Password: 'Changed-pass-2' } });
    expect(changed.status).toBe(200);
    expect(changed.json.PasswordChangeRequired).toBe(false);
    expect((await h.rf('GET', '/redfish/v1/Systems', { token })).status).toBe(200);
  });

  it('keeps roles immutable and one per account; set-role and delete end sessions', async () => {
    const role = await h.rf('GET', '/redfish/v1/AccountService/Roles/Operator', { token: admin });
    expect(role.json.AssignedPrivileges).toEqual(['Login', 'ConfigureSelf', 'ConfigureComponents']);
    expect(
      (
        await h.rf('PATCH', '/redfish/v1/AccountService/Roles/Operator', {
          token: admin,
          body: { AssignedPrivileges: ['Login'] },
        })
      ).status,
    ).toBe(405);
    await h.addAccount('temp', 'ReadOnly', 'Temporary-pass-1');
    const t = await h.login('temp', 'Temporary-pass-1');
    const res = await h.agent.json<{ role: string }>(['account', 'set-role', 'temp', 'Operator']);
    expect(res.role).toBe('Operator');
    expect((await h.rf('GET', '/redfish/v1/Systems', { token: t })).status).toBe(401);
    const t2 = await h.login('temp', 'Temporary-pass-1');
    await h.agent.json(['account', 'delete', 'temp']);
    expect((await h.rf('GET', '/redfish/v1/Systems', { token: t2 })).status).toBe(401);
    await expect(h.agent.json(['account', 'delete', 'temp'])).rejects.toThrow(/no Redfish account 'temp'/);
  });

  it('creates, patches and deletes accounts over Redfish with ConfigureUsers', async () => {
    const c = await h.rf('POST', '/redfish/v1/AccountService/Accounts', {
      token: admin,
      body: { UserName: 'api', Password: 'Api-user-pass-1', RoleId: 'ReadOnly' },
    });
    expect(c.status).toBe(201);
    expect(c.headers.location).toBe(c.json['@odata.id']);
    const p = await h.rf('PATCH', String(c.headers.location), { token: admin, body: { RoleId: 'Operator' } });
    expect(p.json.RoleId).toBe('Operator');
    expect(ids(await h.rf('PATCH', String(c.headers.location), { token: admin, body: { RoleId: 'God' } }))).toEqual([
      'Base.1.22.1.PropertyValueNotInList',
    ]);
    expect(
      (
        await h.rf('POST', '/redfish/v1/AccountService/Accounts', {
          token: admin,
          body: { UserName: 'api', Password: 'Api-user-pass-1', RoleId: 'ReadOnly' },
        })
      ).status,
    ).toBe(409);
    expect((await h.rf('DELETE', String(c.headers.location), { token: admin })).status).toBe(204);
    expect((await h.rf('GET', String(c.headers.location), { token: admin })).status).toBe(404);
  });

  it('refuses logins beyond the session limit with SessionLimitExceeded', async () => {
    const small = await bootRedfish({ sections: { sessionLimit: 2 } });
    try {
      await small.addAccount('a', 'ReadOnly', 'Limit-pass-1');
      await small.login('a', 'Limit-pass-1');
      await small.login('a', 'Limit-pass-1');
      const r = await small.rf('POST', SS, { body: { UserName: 'a', Password: 'Limit-pass-1' } });
      expect(r.status).toBe(503);
      expect(ids(r)).toEqual(['Base.1.22.1.SessionLimitExceeded']);
    } finally {
      await small.stop();
    }
  });
});

describe('account and session stores', () => {
  it('persists accounts as salted scrypt hashes that survive a new store on the same state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rf-accounts-'));
    try {
      const a = new AccountStore(new StateStore(dir));
      await a.load();
      await a.add('alice', 'Alice-pass-1', 'Operator');
      await a.add('bob', 'Alice-pass-1', 'ReadOnly');
      const text = await readFile(join(dir, 'accounts.json'), 'utf8');
      expect(text).not.toContain('Alice-pass-1');
      type Saved = { data: { accounts: { password: { alg: string; salt: string; hash: string } }[] } };
      const [alice, bob] = (JSON.parse(text) as Saved).data.accounts;
      expect(alice?.password.alg).toBe('scrypt');
      expect(alice?.password.salt).not.toBe(bob?.password.salt);
      expect(alice?.password.hash).not.toBe(bob?.password.hash);
      const b = new AccountStore(new StateStore(dir));
      await b.load();
      expect((await b.login('alice', 'Alice-pass-1')).ok).toBe(true);
      expect((await b.login('alice', 'nope-nope-1')).ok).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('expires a session after SessionTimeout of inactivity and lifts a timed lockout', async () => {
    let now = 1_000_000;
    const sessions = new SessionStore(
      () => 30,
      10,
      () => now,
    );
    const { token } = sessions.create('alice', '127.0.0.1') ?? { token: '' };
    now += 29_000;
    expect(sessions.touch(token)?.userName).toBe('alice');
    now += 31_000;
    expect(sessions.touch(token)).toBeUndefined();
    expect(sessions.list()).toEqual([]);

    const dir = await mkdtemp(join(tmpdir(), 'rf-lock-'));
    try {
      const a = new AccountStore(new StateStore(dir), () => now);
      await a.add('carol', 'Carol-pass-1', 'ReadOnly');
      await a.setSettings({ lockoutThreshold: 2, lockoutDuration: 60, lockoutCounterResetAfter: 60 });
      await a.login('carol', 'bad-bad-bad-1');
      await a.login('carol', 'bad-bad-bad-2');
      expect((await a.login('carol', 'Carol-pass-1')).ok).toBe(false);
      now += 61_000;
      expect((await a.login('carol', 'Carol-pass-1')).ok).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
