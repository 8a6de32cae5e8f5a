/**
 * AccountService (accounts, the three fixed roles, lockout settings) and SessionService
 * (login, logout, timeout). Roles are DMTF's predefined ones and cannot be changed; an account
 * has exactly one. Passwords are write-only (`Password` reads as null).
 */
import { ROLES, ROLE_PRIVILEGES, isVpmdError, type Role } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Account } from '../auth/accounts.js';
import { PASSWORD_GUIDANCE, PASSWORD_MAX, PASSWORD_MIN } from '../auth/password.js';
import { loginRefusal } from '../auth/login-guard.js';
import { RedfishError, baseMessage, fail } from '../http/redfish-error.js';
import type { Reply, Route, RouteRequest } from '../http/router.js';
import { checkBody, type FieldCheck } from './patch.js';
import { notFound } from './service-root.js';
import { collection, link, odataType } from './types.js';

const AS = '/redfish/v1/AccountService';
const SS = '/redfish/v1/SessionService';
const ROLE_FIELD: FieldCheck = { type: 'string', values: ROLES };
const ACCOUNT_FIELDS: Record<string, FieldCheck> = {
  UserName: { type: 'string', pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/ },
  Password: { type: 'string', maxLength: PASSWORD_MAX },
  RoleId: ROLE_FIELD,
  Enabled: { type: 'boolean' },
  Locked: { type: 'boolean' },
  PasswordChangeRequired: { type: 'boolean' },
};

/** Maps a store refusal (bad password, duplicate name) to a 400 naming the property. */
function storeError(e: unknown, property: string): unknown {
  if (isVpmdError(e, 'E_REDFISH_PASSWORD')) {
    const id = e.details.kind === 'length' ? 'PasswordIncorrectLength' : 'PasswordComplexityNotMet';
    const m = baseMessage(id, [], 'Password');
    return new RedfishError(400, [{ ...m, Message: `${m.Message} (${e.message})` }]);
  }
  if (isVpmdError(e, 'E_REDFISH_ACCOUNT_EXISTS'))
    return fail(409, 'ResourceAlreadyExists', ['ManagerAccount', 'UserName', property]);
  return e;
}

/** Routes of the AccountService and SessionService. */
export function accountRoutes(deps: ServiceDeps): Route[] {
  const { accounts, sessions } = deps;
  const accountBody = (a: Account): Record<string, unknown> => ({
    '@odata.id': `${AS}/Accounts/${a.id}`,
    '@odata.type': odataType('ManagerAccount'),
    Id: a.id,
    Name: `Account ${a.userName}`,
    UserName: a.userName,
    RoleId: a.role,
    Enabled: a.enabled,
    Locked: accounts.isLocked(a),
    PasswordChangeRequired: a.passwordChangeRequired,
    Password: null,
    AccountTypes: ['Redfish'],
    Links: { Role: link(`${AS}/Roles/${a.role}`) },
  });
  const account = (req: RouteRequest): Account => {
    const a = accounts.list().find((x) => x.id === req.params.id);
    if (!a) throw notFound('ManagerAccount', req.params.id ?? '');
    return a;
  };
  const sessionBody = (id: string): Record<string, unknown> => {
    const s = sessions.get(id);
    if (!s) throw notFound('Session', id);
    return {
      '@odata.id': `${SS}/Sessions/${s.id}`,
      '@odata.type': odataType('Session'),
      Id: s.id,
      Name: `Session of ${s.userName}`,
      UserName: s.userName,
      Password: null,
      CreatedTime: new Date(s.createdAt).toISOString(),
      ClientOriginIPAddress: s.address,
      SessionType: 'Redfish',
      ...(s.context !== undefined ? { Context: s.context } : {}),
    };
  };
  const serviceBody = (): Record<string, unknown> => {
    const s = accounts.settings;
    return {
      '@odata.id': AS,
      '@odata.type': odataType('AccountService'),
      Id: 'AccountService',
      Name: 'Account service',
      ServiceEnabled: true,
      LocalAccountAuth: 'Enabled',
      MinPasswordLength: PASSWORD_MIN,
      MaxPasswordLength: PASSWORD_MAX,
      PasswordGuidanceMessage: PASSWORD_GUIDANCE,
      AccountLockoutThreshold: s.lockoutThreshold,
      AccountLockoutDuration: s.lockoutDuration,
      AccountLockoutCounterResetAfter: s.lockoutCounterResetAfter,
      Accounts: link(`${AS}/Accounts`),
      Roles: link(`${AS}/Roles`),
    };
  };
  const sessionServiceBody = (): Record<string, unknown> => ({
    '@odata.id': SS,
    '@odata.type': odataType('SessionService'),
    Id: 'SessionService',
    Name: 'Session service',
    ServiceEnabled: true,
    SessionTimeout: accounts.settings.sessionTimeout,
    Sessions: link(`${SS}/Sessions`),
  });

  return [
    {
      pattern: AS,
      entity: 'AccountService',
      get: serviceBody,
      patch: async (req) => {
        const limit: FieldCheck = { type: 'integer', min: 0, max: 86400 };
        checkBody(
          req.body,
          {
            AccountLockoutThreshold: { type: 'integer', min: 0, max: 1000 },
            AccountLockoutDuration: limit,
            AccountLockoutCounterResetAfter: limit,
          },
          serviceBody(),
        );
        const b = req.body as {
          AccountLockoutThreshold?: number;
          AccountLockoutDuration?: number;
          AccountLockoutCounterResetAfter?: number;
        };
        await accounts.setSettings({
          ...(b.AccountLockoutThreshold !== undefined ? { lockoutThreshold: b.AccountLockoutThreshold } : {}),
          ...(b.AccountLockoutDuration !== undefined ? { lockoutDuration: b.AccountLockoutDuration } : {}),
          ...(b.AccountLockoutCounterResetAfter !== undefined
            ? { lockoutCounterResetAfter: b.AccountLockoutCounterResetAfter }
            : {}),
        });
        return serviceBody();
      },
    },
    {
      pattern: `${AS}/Accounts`,
      entity: 'ManagerAccountCollection',
      // Members are the accounts the caller may read (the registry's ManagerAccount GET:
      // ConfigureManager, ConfigureUsers, or ConfigureSelf on one's own), as bmcweb does: a
      // link the caller cannot follow would be a 403 to every client that walks the tree.
      get: (req) => {
        const p = req.principal;
        const all = p && (deps.ctx.access.can(p, 'ConfigureUsers') || deps.ctx.access.can(p, 'ConfigureManager'));
        return collection(
          'ManagerAccountCollection',
          `${AS}/Accounts`,
          'Accounts',
          accounts
            .list()
            .filter((a) => all || a.userName === p?.name)
            .map((a) => `${AS}/Accounts/${a.id}`),
        );
      },
      post: async (req): Promise<Reply> => {
        checkBody(req.body, ACCOUNT_FIELDS, {}, ['UserName', 'Password', 'RoleId']);
        const b = req.body as {
          UserName: string;
          Password: string;
          RoleId: Role;
          Enabled?: boolean;
          PasswordChangeRequired?: boolean;
        };
        const a = await accounts
          .add(b.UserName, b.Password, b.RoleId, {
            ...(b.Enabled !== undefined ? { enabled: b.Enabled } : {}),
            ...(b.PasswordChangeRequired !== undefined ? { passwordChangeRequired: b.PasswordChangeRequired } : {}),
          })
          .catch((e: unknown) => {
            throw storeError(e, b.UserName);
          });
        const uri = `${AS}/Accounts/${a.id}`;
        return { status: 201, body: accountBody(a), headers: { Location: uri } };
      },
    },
    {
      pattern: `${AS}/Accounts/{id}`,
      entity: 'ManagerAccount',
      owner: (req) => accounts.list().find((a) => a.id === req.params.id)?.userName,
      get: (req) => accountBody(account(req)),
      patch: async (req) => {
        const a = account(req);
        checkBody(req.body, ACCOUNT_FIELDS, accountBody(a));
        const b = req.body as {
          UserName?: string;
          Password?: string;
          RoleId?: Role;
          Enabled?: boolean;
          Locked?: boolean;
          PasswordChangeRequired?: boolean;
        };
        if (b.Locked === true) throw fail(400, 'PropertyValueNotInList', ['true', 'Locked'], 'Locked');
        const next = await accounts
          .update(a.id, {
            ...(b.UserName !== undefined ? { userName: b.UserName } : {}),
            ...(b.Password !== undefined ? { password: b.Password } : {}),
            ...(b.RoleId !== undefined ? { role: b.RoleId } : {}),
            ...(b.Enabled !== undefined ? { enabled: b.Enabled } : {}),
            ...(b.Locked === false ? { locked: false } : {}),
            ...(b.PasswordChangeRequired !== undefined ? { passwordChangeRequired: b.PasswordChangeRequired } : {}),
          })
          .catch((e: unknown) => {
            throw storeError(e, b.UserName ?? a.userName);
          });
        // A new name, role or disabled state ends the account's other sessions.
        if (b.RoleId !== undefined || b.Enabled === false || b.UserName !== undefined) sessions.removeUser(a.userName);
        return accountBody(next);
      },
      delete: async (req) => {
        const a = account(req);
        await accounts.remove(a.id);
        sessions.removeUser(a.userName);
        return { status: 204, headers: {} };
      },
    },
    {
      pattern: `${AS}/Roles`,
      entity: 'RoleCollection',
      get: () =>
        collection(
          'RoleCollection',
          `${AS}/Roles`,
          'Roles',
          ROLES.map((r) => `${AS}/Roles/${r}`),
        ),
    },
    {
      pattern: `${AS}/Roles/{id}`,
      entity: 'Role',
      get: (req) => {
        const r = ROLES.find((x) => x === req.params.id);
        if (!r) throw notFound('Role', req.params.id ?? '');
        return {
          '@odata.id': `${AS}/Roles/${r}`,
          '@odata.type': odataType('Role'),
          Id: r,
          Name: `${r} role`,
          RoleId: r,
          IsPredefined: true,
          AssignedPrivileges: [...ROLE_PRIVILEGES[r]],
          OemPrivileges: [],
        };
      },
    },
    {
      pattern: SS,
      entity: 'SessionService',
      get: sessionServiceBody,
      patch: async (req) => {
        checkBody(req.body, { SessionTimeout: { type: 'integer', min: 30, max: 86400 } }, sessionServiceBody());
        await accounts.setSettings({ sessionTimeout: req.body.SessionTimeout as number });
        return sessionServiceBody();
      },
    },
    {
      pattern: `${SS}/Sessions`,
      entity: 'SessionCollection',
      noAuth: ['POST'],
      get: (req) => {
        const all = req.principal && deps.ctx.access.can(req.principal, 'ConfigureManager');
        const mine = sessions.list().filter((s) => all || s.userName === req.principal?.name);
        return collection(
          'SessionCollection',
          `${SS}/Sessions`,
          'Sessions',
          mine.map((s) => `${SS}/Sessions/${s.id}`),
        );
      },
      post: async (req): Promise<Reply> => {
        checkBody(
          req.body,
          {
            UserName: { type: 'string', maxLength: 64 },
            Password: { type: 'string', maxLength: 1024 },
            Context: { type: 'string', maxLength: 256 },
          },
          {},
          ['UserName', 'Password'],
        );
        const b = req.body as { UserName: string; Password: string; Context?: string };
        const r = await deps.logins.login(b.UserName, b.Password, req.address);
        if (!r.ok && (r.reason === 'throttled' || r.reason === 'busy')) throw loginRefusal(r);
        const who = {
          name: b.UserName,
          role: r.ok ? r.account.role : ('ReadOnly' as const),
          origin: 'redfish' as const,
          address: req.address,
        };
        if (!r.ok) {
          deps.ctx.access.audit(who, 'redfish session login', 'denied', r.reason);
          throw new RedfishError(401, [baseMessage('NoValidSession')]);
        }
        const created = sessions.create(r.account.userName, req.address, b.Context);
        if (!created) throw fail(503, 'SessionLimitExceeded');
        deps.ctx.access.audit(who, 'redfish session login', 'ok');
        const uri = `${SS}/Sessions/${created.session.id}`;
        const body = sessionBody(created.session.id);
        const info = r.account.passwordChangeRequired
          ? { '@Message.ExtendedInfo': [baseMessage('PasswordChangeRequired', [`${AS}/Accounts/${r.account.id}`])] }
          : {};
        return { status: 201, body: { ...body, ...info }, headers: { Location: uri, 'X-Auth-Token': created.token } };
      },
    },
    {
      pattern: `${SS}/Sessions/{id}`,
      entity: 'Session',
      owner: (req) => sessions.get(req.params.id ?? '')?.userName,
      get: (req) => sessionBody(req.params.id ?? ''),
      delete: (req) => {
        if (!sessions.remove(req.params.id ?? '')) throw notFound('Session', req.params.id ?? '');
        return { status: 204, headers: {} };
      },
    },
  ];
}
