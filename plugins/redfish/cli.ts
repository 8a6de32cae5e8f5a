/**
 * `vpmctl account ...`: Redfish accounts from the command line. Passwords come from standard
 * input only (never argv). Deleting an account or changing its role ends its sessions.
 */
import { StringEnum, Type, defineCommand, formatTable, ROLES } from 'vpmd';
import type { RedfishContext } from './config.js';
import type { Account, AccountStore } from './auth/accounts.js';
import type { SessionStore } from './auth/sessions.js';

interface AccountView {
  readonly id: string;
  readonly user: string;
  readonly role: string;
  readonly enabled: boolean;
  readonly locked: boolean;
  readonly passwordChangeRequired: boolean;
}

function view(store: AccountStore, a: Account): AccountView {
  return {
    id: a.id,
    user: a.userName,
    role: a.role,
    enabled: a.enabled,
    locked: store.isLocked(a),
    passwordChangeRequired: a.passwordChangeRequired,
  };
}

const User = Type.String({ description: 'account user name' });
const RoleArg = StringEnum(ROLES, { description: 'Administrator, Operator or ReadOnly' });

/** Registers the account commands. */
export function registerAccountCommands(ctx: RedfishContext, accounts: AccountStore, sessions: SessionStore): void {
  ctx.commands.register(
    defineCommand({
      name: 'account add',
      summary: 'Create a Redfish account (password read from standard input)',
      privilege: 'ConfigureUsers',
      args: Type.Object({
        user: User,
        role: RoleArg,
        password: Type.String({ description: 'read from standard input' }),
        'password-change-required': Type.Optional(
          Type.Boolean({ description: 'the user must change the password at first login' }),
        ),
      }),
      positional: ['user'],
      stdin: [{ name: 'password', prompt: 'Password: ', secret: true }],
      handler: async (args, inv) => {
        const a = await accounts.add(args.user, args.password, args.role, {
          passwordChangeRequired: args['password-change-required'] ?? false,
        });
        ctx.access.audit(inv.principal, `account add ${a.userName} (${a.role})`, 'ok');
        return view(accounts, a);
      },
      human: (r) => `Account ${r.user} created with role ${r.role} (id ${r.id})`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'account list',
      summary: 'List Redfish accounts',
      privilege: 'ConfigureUsers',
      args: Type.Object({}),
      handler: () => accounts.list().map((a) => view(accounts, a)),
      human: (rows) =>
        rows.length === 0
          ? 'No accounts (create one with: vpmctl account add USER --role Administrator)'
          : formatTable(rows, [
              { header: 'Id', value: (r) => r.id },
              { header: 'User', value: (r) => r.user },
              { header: 'Role', value: (r) => r.role },
              { header: 'Enabled', value: (r) => (r.enabled ? 'yes' : 'no') },
              { header: 'Locked', value: (r) => (r.locked ? 'yes' : 'no') },
              { header: 'Password change', value: (r) => (r.passwordChangeRequired ? 'required' : '-') },
            ]),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'account delete',
      summary: 'Delete a Redfish account and end its sessions',
      privilege: 'ConfigureUsers',
      args: Type.Object({ user: User }),
      positional: ['user'],
      handler: async (args, inv) => {
        const a = await accounts.remove(args.user);
        const ended = sessions.removeUser(a.userName);
        ctx.access.audit(inv.principal, `account delete ${a.userName}`, 'ok');
        return { user: a.userName, sessionsEnded: ended };
      },
      human: (r) => `Account ${r.user} deleted (${r.sessionsEnded} session(s) ended)`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'account set-role',
      summary: "Change a Redfish account's role (ends its sessions)",
      privilege: 'ConfigureUsers',
      args: Type.Object({ user: User, role: RoleArg }),
      positional: ['user', 'role'],
      handler: async (args, inv) => {
        const a = await accounts.update(args.user, { role: args.role });
        sessions.removeUser(a.userName);
        ctx.access.audit(inv.principal, `account set-role ${a.userName} ${a.role}`, 'ok');
        return view(accounts, a);
      },
      human: (r) => `Account ${r.user} now has role ${r.role}`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'account unlock',
      summary: 'Unlock a Redfish account locked after failed logins',
      privilege: 'ConfigureUsers',
      args: Type.Object({ user: User }),
      positional: ['user'],
      handler: async (args, inv) => {
        const a = await accounts.update(args.user, { locked: false });
        ctx.access.audit(inv.principal, `account unlock ${a.userName}`, 'ok');
        return view(accounts, a);
      },
      human: (r) => `Account ${r.user} unlocked`,
    }),
  );
}
