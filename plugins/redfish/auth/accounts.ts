/**
 * Redfish accounts, persisted in the plugin's state (`accounts` key): user name, one of the three
 * fixed roles, scrypt hash, enabled/locked flags, PasswordChangeRequired, and the failure
 * counter behind lockout. The account-service settings (lockout, session timeout) live beside
 * them. Every change is written atomically before it is acknowledged.
 */
import { Type, VpmdError, type Role, type StateStore, type Static } from 'vpmd';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';

const Hash = Type.Object({
  alg: Type.Literal('scrypt'),
  N: Type.Integer(),
  r: Type.Integer(),
  p: Type.Integer(),
  salt: Type.String(),
  hash: Type.String(),
});
const AccountSchema = Type.Object({
  id: Type.String(),
  userName: Type.String(),
  role: Type.Union([Type.Literal('Administrator'), Type.Literal('Operator'), Type.Literal('ReadOnly')]),
  enabled: Type.Boolean(),
  locked: Type.Boolean(),
  lockedAt: Type.Optional(Type.Number()),
  passwordChangeRequired: Type.Boolean(),
  failures: Type.Array(Type.Number()),
  password: Hash,
});
const SettingsSchema = Type.Object({
  lockoutThreshold: Type.Integer({ minimum: 0 }),
  lockoutDuration: Type.Integer({ minimum: 0 }),
  lockoutCounterResetAfter: Type.Integer({ minimum: 0 }),
  sessionTimeout: Type.Integer({ minimum: 30, maximum: 86400 }),
});
const Stored = Type.Object({
  nextId: Type.Integer({ minimum: 1 }),
  accounts: Type.Array(AccountSchema),
  settings: SettingsSchema,
});
const SPEC = { version: 1, schema: Stored } as const;

/** One account as stored. */
export type Account = Static<typeof AccountSchema>;
/** Account-service and session-service settings. */
export type AccountSettings = Static<typeof SettingsSchema>;

/** Outcome of a password check. */
export type LoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'unknown' | 'locked' | 'disabled' }
  | { ok: false; reason: 'bad-password'; lockoutExempt?: true };

/** Allowed user names: letters, digits and `._-`, starting with a letter or digit. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** The accounts and their settings. */
export class AccountStore {
  private data: Static<typeof Stored> = {
    nextId: 1,
    accounts: [],
    settings: { lockoutThreshold: 5, lockoutDuration: 300, lockoutCounterResetAfter: 300, sessionTimeout: 1800 },
  };

  private decoy: Promise<Account['password']> | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly now: () => number = Date.now,
    /** The password check (a test counts its calls: every login outcome must cost exactly one). */
    private readonly verify: typeof verifyPassword = verifyPassword,
  ) {}

  /** Loads persisted accounts (none exist on a fresh state directory). */
  async load(): Promise<void> {
    const saved = await this.state.read('accounts', SPEC);
    if (saved) this.data = saved;
  }

  private async save(): Promise<void> {
    await this.state.write('accounts', SPEC, this.data);
  }

  /** Every account. */
  /** Every account, in creation order. */
  list(): readonly Account[] {
    return this.data.accounts;
  }

  /** Lockout and session-timeout settings. */
  get settings(): AccountSettings {
    return this.data.settings;
  }

  /** The account with this user name or id. */
  find(nameOrId: string): Account | undefined {
    return this.data.accounts.find((a) => a.userName === nameOrId) ?? this.data.accounts.find((a) => a.id === nameOrId);
  }

  /** @throws VpmdError E_REDFISH_ACCOUNT_UNKNOWN listing the existing names. */
  require(name: string): Account {
    const a = this.find(name);
    if (!a) {
      const known = this.data.accounts.map((x) => x.userName).join(', ') || 'none';
      throw new VpmdError('E_REDFISH_ACCOUNT_UNKNOWN', `no Redfish account '${name}' (accounts: ${known})`, {
        account: name,
      });
    }
    return a;
  }

  /**
   * Creates an account.
   * @throws E_COMMAND_USAGE (bad user name), E_REDFISH_PASSWORD, E_REDFISH_ACCOUNT_EXISTS.
   */
  async add(
    userName: string,
    password: string,
    role: Role,
    opts: { passwordChangeRequired?: boolean; enabled?: boolean } = {},
  ): Promise<Account> {
    if (!USER_NAME.test(userName)) {
      throw new VpmdError(
        'E_COMMAND_USAGE',
        `user name '${userName}' is invalid: 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit`,
        { userName },
      );
    }
    const problem = passwordProblem(password, userName);
    if (problem)
      throw new VpmdError('E_REDFISH_PASSWORD', `password for '${userName}' refused: ${problem.text}`, {
        userName,
        kind: problem.kind,
      });
    if (this.find(userName))
      throw new VpmdError('E_REDFISH_ACCOUNT_EXISTS', `a Redfish account '${userName}' already exists`, { userName });
    const account: Account = {
      id: String(this.data.nextId),
      userName,
      role,
      enabled: opts.enabled ?? true,
      locked: false,
      passwordChangeRequired: opts.passwordChangeRequired ?? false,
      failures: [],
      password: await hashPassword(password),
    };
    this.data = { ...this.data, nextId: this.data.nextId + 1, accounts: [...this.data.accounts, account] };
    await this.save();
    return account;
  }

  /** Replaces fields of an account (the password is hashed here). */
  async update(
    name: string,
    patch: {
      role?: Role;
      enabled?: boolean;
      locked?: boolean;
      password?: string;
      passwordChangeRequired?: boolean;
      userName?: string;
    },
  ): Promise<Account> {
    const cur = this.require(name);
    if (patch.password !== undefined) {
      const problem = passwordProblem(patch.password, patch.userName ?? cur.userName);
      if (problem)
        throw new VpmdError('E_REDFISH_PASSWORD', `password for '${cur.userName}' refused: ${problem.text}`, {
          userName: cur.userName,
          kind: problem.kind,
        });
    }
    if (patch.userName !== undefined && patch.userName !== cur.userName) {
      if (!USER_NAME.test(patch.userName))
        throw new VpmdError('E_COMMAND_USAGE', `user name '${patch.userName}' is invalid`, {
          userName: patch.userName,
        });
      if (this.find(patch.userName))
        throw new VpmdError('E_REDFISH_ACCOUNT_EXISTS', `a Redfish account '${patch.userName}' already exists`, {
          userName: patch.userName,
        });
    }
    const next: Account = {
      ...cur,
      ...(patch.role !== undefined ? { role: patch.role } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.userName !== undefined ? { userName: patch.userName } : {}),
      ...(patch.locked === false ? { locked: false, failures: [], lockedAt: undefined } : {}),
      ...(patch.password !== undefined
        ? { password: await hashPassword(patch.password), passwordChangeRequired: false }
        : {}),
      ...(patch.passwordChangeRequired !== undefined ? { passwordChangeRequired: patch.passwordChangeRequired } : {}),
    };
    if (next.lockedAt === undefined) delete next.lockedAt;
    this.replace(next);
    await this.save();
    return next;
  }

  /** Deletes an account. */
  async remove(name: string): Promise<Account> {
    const cur = this.require(name);
    this.data = { ...this.data, accounts: this.data.accounts.filter((a) => a.id !== cur.id) };
    await this.save();
    return cur;
  }

  /** Updates the account-service settings. */
  async setSettings(patch: Partial<AccountSettings>): Promise<AccountSettings> {
    this.data = { ...this.data, settings: { ...this.data.settings, ...patch } };
    await this.save();
    return this.data.settings;
  }

  private replace(a: Account): void {
    this.data = { ...this.data, accounts: this.data.accounts.map((x) => (x.id === a.id ? a : x)) };
  }

  /** True when the account is locked now (an expired lockout is lifted here). */
  isLocked(a: Account): boolean {
    if (!a.locked) return false;
    const { lockoutDuration } = this.data.settings;
    if (lockoutDuration > 0 && a.lockedAt !== undefined && this.now() - a.lockedAt >= lockoutDuration * 1000) {
      const { lockedAt: _gone, ...rest } = a;
      this.replace({ ...rest, locked: false, failures: [] });
      return false;
    }
    return true;
  }

  /**
   * Checks a user name and password, counting failures towards lockout. A locked or disabled
   * account is refused even with the right password (and the caller says only "refused"). Every
   * outcome costs one scrypt, so response time reveals neither a name nor a lock.
   *
   * Lockout policy: the failure counter lives in memory (a failure costs no disk write, so a
   * failure and a refusal of a locked account take the same time); the lock itself is persisted.
   * The last enabled, unlocked Administrator is never locked: its failures over the threshold
   * answer `lockoutExempt`, and the caller blocks the failing source address instead and alerts.
   */
  async login(userName: string, password: string): Promise<LoginResult> {
    const a = this.data.accounts.find((x) => x.userName === userName);
    if (!a) {
      // Same work as for a real account, so response time does not reveal which names exist.
      this.decoy ??= hashPassword('decoy password, never matches');
      await this.verify(password, await this.decoy);
      return { ok: false, reason: 'unknown' };
    }
    const locked = this.isLocked(a);
    const good = await this.verify(password, a.password);
    if (locked) return { ok: false, reason: 'locked' };
    const cur = this.find(a.id) ?? a;
    if (good) {
      if (!cur.enabled) return { ok: false, reason: 'disabled' };
      if (cur.failures.length > 0) this.replace({ ...cur, failures: [] });
      return { ok: true, account: this.find(a.id) ?? cur };
    }
    const { lockoutThreshold, lockoutCounterResetAfter } = this.data.settings;
    const t = this.now();
    const recent = [
      ...cur.failures.filter((f) => lockoutCounterResetAfter === 0 || t - f < lockoutCounterResetAfter * 1000),
      t,
    ].slice(-64);
    const over = lockoutThreshold > 0 && recent.length >= lockoutThreshold;
    const exempt = over && this.isLastAdministrator(cur);
    if (over && !exempt) {
      this.replace({ ...cur, failures: recent, locked: true, lockedAt: t });
      await this.save();
    } else {
      this.replace({ ...cur, failures: exempt ? [] : recent });
    }
    return { ok: false, reason: 'bad-password', ...(exempt ? { lockoutExempt: true as const } : {}) };
  }

  /** True when `a` is the only enabled, unlocked Administrator (locking it would lock everyone out). */
  isLastAdministrator(a: Account): boolean {
    if (a.role !== 'Administrator' || !a.enabled) return false;
    return !this.data.accounts.some((x) => x.id !== a.id && x.role === 'Administrator' && x.enabled && !x.locked);
  }
}
