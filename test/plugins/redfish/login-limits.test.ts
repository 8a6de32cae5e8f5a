/**
 * Login limits (#21): the per-source failure budget, bounded password hashing, the same cost for
 * every failed login (locked or not), the last-Administrator lockout policy, the verified
 * credential cache; and the JSON depth limit on the unauthenticated login endpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../../core/state/index.js';
import { AccountStore } from '../../../plugins/redfish/auth/accounts.js';
import { LoginGuard } from '../../../plugins/redfish/auth/login-guard.js';
import { verifyPassword } from '../../../plugins/redfish/auth/password.js';
import { tooDeepAt } from '../../../plugins/redfish/http/json-body.js';
import { bootRedfish, type RedfishHarness } from './support.js';

const SS = '/redfish/v1/SessionService/Sessions';
const dirs: string[] = [];

async function store(now: () => number): Promise<{ accounts: AccountStore; checks: () => number }> {
  const dir = await mkdtemp(join(tmpdir(), 'rf-guard-'));
  dirs.push(dir);
  let n = 0;
  const counted: typeof verifyPassword = (p, h) => {
    n++;
    return verifyPassword(p, h);
  };
  const accounts = new AccountStore(new StateStore(dir), now, counted);
  return { accounts, checks: () => n };
}

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('login guard', () => {
  it('costs one password check for every outcome: unknown, wrong, locked, disabled, right', async () => {
    const { accounts, checks } = await store(Date.now);
    await accounts.add('alice', 'Alice-pass-1', 'Operator');
    await accounts.add('dis', 'Disabled-pass-1', 'ReadOnly', { enabled: false });
    await accounts.setSettings({ lockoutThreshold: 1, lockoutDuration: 0 });
    const outcomes: string[] = [];
    for (const [u, p] of [
      ['nobody', 'Whatever-pass-1'],
      ['alice', 'Wrong-pass-1'],
      ['alice', 'Alice-pass-1'],
      ['dis', 'Disabled-pass-1'],
    ] as const) {
      const before = checks();
      const r = await accounts.login(u, p);
      expect(checks() - before).toBe(1);
      outcomes.push(r.ok ? 'ok' : r.reason);
    }
    expect(outcomes).toEqual(['unknown', 'bad-password', 'locked', 'disabled']);
  });

  it('refuses an address over its failure budget without a check, and lets it in again after the window', async () => {
    let now = 1_000_000;
    const { accounts, checks } = await store(() => now);
    await accounts.add('bob', 'Bob-pass-1234', 'ReadOnly');
    await accounts.setSettings({ lockoutThreshold: 0 });
    const guard = new LoginGuard(
      accounts,
      { failuresPerSource: 3, windowSeconds: 60, concurrency: 1, tarpitMs: 0 },
      undefined,
      () => now,
    );
    for (let i = 0; i < 3; i++) expect((await guard.login('bob', `Wrong-pass-${i}`, '10.0.0.9')).ok).toBe(false);
    const before = checks();
    const refused = await guard.login('bob', 'Bob-pass-1234', '10.0.0.9');
    expect(refused).toEqual({ ok: false, reason: 'throttled', retryAfter: 60 });
    expect(checks()).toBe(before);
    // Another address is not affected; its success is cached, and the cached credential passes
    // even from the throttled address (a legitimate Basic client behind the same NAT).
    expect((await guard.login('bob', 'Bob-pass-1234', '10.0.0.10')).ok).toBe(true);
    expect((await guard.login('bob', 'Bob-pass-1234', '10.0.0.9')).ok).toBe(true);
    expect(checks()).toBe(before + 1);
    expect((await guard.login('bob', 'Other-pass-1', '10.0.0.9')).ok).toBe(false);
    now += 60_001;
    expect((await guard.login('bob', 'Other-pass-1', '10.0.0.9')).ok).toBe(false);
    expect(checks()).toBe(before + 2);
  });

  it('forgets a cached credential once the password changes or the account is disabled', async () => {
    const { accounts, checks } = await store(Date.now);
    await accounts.add('carl', 'Carl-pass-1234', 'ReadOnly');
    const guard = new LoginGuard(accounts);
    expect((await guard.login('carl', 'Carl-pass-1234', 'a')).ok).toBe(true);
    const before = checks();
    await accounts.update('carl', { password: 'Carl-pass-5678' });
    expect(await guard.login('carl', 'Carl-pass-1234', 'a')).toMatchObject({ ok: false, reason: 'bad-password' });
    expect((await guard.login('carl', 'Carl-pass-5678', 'a')).ok).toBe(true);
    await accounts.update('carl', { enabled: false });
    expect(await guard.login('carl', 'Carl-pass-5678', 'a')).toMatchObject({ ok: false, reason: 'disabled' });
    expect(checks()).toBe(before + 3);
  });

  it('never locks the last Administrator: the failing address is blocked instead, and alerted', async () => {
    const { accounts } = await store(Date.now);
    await accounts.add('root1', 'Root-pass-1234', 'Administrator');
    await accounts.setSettings({ lockoutThreshold: 2, lockoutDuration: 120 });
    const alerts: string[] = [];
    const guard = new LoginGuard(
      accounts,
      { failuresPerSource: 100, windowSeconds: 60, concurrency: 1, tarpitMs: 0 },
      (u, a) => alerts.push(`${u}@${a}`),
    );
    await guard.login('root1', 'Bad-pass-1', '192.0.2.1');
    await guard.login('root1', 'Bad-pass-2', '192.0.2.1');
    expect(alerts).toEqual(['root1@192.0.2.1']);
    expect(accounts.isLocked(accounts.require('root1'))).toBe(false);
    expect(await guard.login('root1', 'Root-pass-1234', '192.0.2.1')).toMatchObject({ reason: 'throttled' });
    expect((await guard.login('root1', 'Root-pass-1234', '192.0.2.2')).ok).toBe(true);
    // With a second Administrator, the first one is locked as the threshold says.
    await accounts.add('root2', 'Root2-pass-1234', 'Administrator');
    await guard.login('root1', 'Bad-pass-3', '192.0.2.3');
    await guard.login('root1', 'Bad-pass-4', '192.0.2.3');
    expect(accounts.isLocked(accounts.require('root1'))).toBe(true);
  });

  it('measures JSON depth on the text, ignoring brackets inside strings', () => {
    expect(tooDeepAt('{"a":[[1]]}', 3)).toBe(-1);
    expect(tooDeepAt('{"a":[[[1]]]}', 3)).toBe(7);
    expect(tooDeepAt('{"a":"[[[[\\"[[[["}', 2)).toBe(-1);
  });
});

describe('login limits on the service', () => {
  let h: RedfishHarness;
  beforeAll(async () => {
    h = await bootRedfish({ sections: { loginLimits: { failuresPerSource: 3, windowSeconds: 600 } } });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers 30,000-deep JSON on the login endpoint with 400 MalformedJSON naming the limit', async () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const r = await h.rf('POST', SS, { raw: `{"UserName":${deep}}` });
    expect(r.status).toBe(400);
    const m = r.json.error['@Message.ExtendedInfo'][0];
    expect(m.MessageId).toBe('Base.1.22.1.MalformedJSON');
    expect(m.Message).toMatch(/nested deeper than 32 levels at character 43; at most 32 are allowed/);
    const arr = await h.rf('POST', SS, { raw: '[1]' });
    expect(arr.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/must be a JSON object, not an array/);
  });

  it('applies the password policy with Base password messages and serves the guidance', async () => {
    const token = await h.login('admin', 'Admin-pass-1');
    const service = await h.rf('GET', '/redfish/v1/AccountService', { token });
    expect(service.json.PasswordGuidanceMessage).toMatch(/at least 3 of lower case/);
    const create = (UserName: string, Password: string): Promise<{ status: number; id: string; msg: string }> =>
      h
        .rf('POST', '/redfish/v1/AccountService/Accounts', { token, body: { UserName, Password, RoleId: 'ReadOnly' } })
        .then((r) => ({
          status: r.status,
          id: r.status === 201 ? 'created' : (r.json.error['@Message.ExtendedInfo'][0].MessageId ?? ''),
          msg: r.status === 201 ? '' : (r.json.error['@Message.ExtendedInfo'][0].Message ?? ''),
        }));
    expect(await create('shorty', 'Ab1!')).toMatchObject({ status: 400, id: 'Base.1.22.1.PasswordIncorrectLength' });
    const same = await create('Mallory-01', 'mallory-01');
    expect(same).toMatchObject({ status: 400, id: 'Base.1.22.1.PasswordComplexityNotMet' });
    expect(same.msg).toMatch(/must not be the user name/);
    expect((await create('eve', 'Password123!')).msg).toMatch(/common password/);
    expect((await create('eve', 'alllowercase')).msg).toMatch(/at least 3 of/);
    expect((await create('eve', 'a long lower case passphrase')).id).toBe('created');
  });

  it('answers 429 with Retry-After once an address spent its failure budget, keeps sessions serving', async () => {
    const token = await h.login('admin', 'Admin-pass-1');
    const basicFails = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.rf('GET', '/redfish/v1/Systems', { basic: ['admin', `Wrong-pass-${i}`] })),
    );
    const statuses = basicFails.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    // A credential not verified lately is refused unchecked; one verified a moment ago still passes.
    const throttled = await h.rf('POST', SS, { body: { UserName: 'eve', Password: 'a long lower case passphrase' } });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect(throttled.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/too many failed logins/);
    expect((await h.rf('GET', '/redfish/v1/Systems', { token })).status).toBe(200);
    expect((await h.rf('GET', '/redfish/v1/Systems', { basic: ['admin', 'Admin-pass-1'] })).status).toBe(200);
    // Failures from the flood did not lock the (only) Administrator: the address was throttled.
    const list = await h.agent.json<Array<{ user: string; locked: boolean }>>(['account', 'list']);
    expect(list.find((a) => a.user === 'admin')?.locked).toBe(false);
  });
});
