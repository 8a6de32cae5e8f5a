/**
 * Runs every route with every method as each of the three roles and as nobody, and compares the
 * outcome with DMTF's privilege registry (read here from the vendored JSON, independently of the
 * service's generated table): 401 for nobody, 403 when the role lacks every alternative, 405
 * when the resource does not support the method, and otherwise neither. ConfigureSelf counts
 * only on one's own account and session. Writes carry `If-Match: "never"` or an empty body so
 * a permitted request stops at 412/400 and changes nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_PRIVILEGES, type Role } from '../../../core/index.js';
import { bootRedfish, type RedfishHarness } from './support.js';

type Alternatives = string[][];
const registry = JSON.parse(
  readFileSync(
    join(__dirname, '../../../plugins/redfish/dmtf/registries/Redfish_1.8.0_PrivilegeRegistry.json'),
    'utf8',
  ),
) as {
  Mappings: Array<{
    Entity: string;
    OperationMap: Record<string, Array<{ Privilege: string[] }>>;
    PropertyOverrides?: Array<{ Targets: string[]; OperationMap: Record<string, Array<{ Privilege: string[] }>> }>;
  }>;
};
function alternatives(entity: string, method: string, patchKeys: string[]): Alternatives {
  const row = registry.Mappings.find((m) => m.Entity === entity);
  if (!row) throw new Error(`no registry row for ${entity}`);
  const o = row.PropertyOverrides?.find(
    (p) => p.OperationMap[method] && patchKeys.length > 0 && patchKeys.every((k) => p.Targets.includes(k)),
  );
  return (o?.OperationMap[method] ?? row.OperationMap[method] ?? []).map((a) => a.Privilege);
}

interface Target {
  readonly uri: string;
  readonly entity: string;
  /** User owning the resource (ConfigureSelf). */
  readonly owner?: string;
  readonly patch?: Record<string, unknown>;
}

let h: RedfishHarness;
const users: Record<Role, { name: string; token: string; account: string; session: string }> = {} as never;
const targets: Target[] = [];

beforeAll(async () => {
  h = await bootRedfish();
  const roles: Array<[Role, string]> = [
    ['Administrator', 'admin'],
    ['Operator', 'oper'],
    ['ReadOnly', 'ro'],
  ];
  for (const [role, name] of [...roles, ['ReadOnly', 'other'] as [Role, string]])
    await h.addAccount(name, role, `${name}-Pass-1234`);
  const list = await h.agent.json<Array<{ id: string; user: string }>>(['account', 'list']);
  const sessionOf = async (name: string): Promise<{ token: string; session: string }> => {
    const r = await h.rf('POST', '/redfish/v1/SessionService/Sessions', {
      body: { UserName: name, Password: `${name}-Pass-1234` },
    });
    return { token: r.headers['x-auth-token'] as string, session: String(r.headers.location) };
  };
  for (const [role, name] of roles)
    users[role] = {
      name,
      account: `/redfish/v1/AccountService/Accounts/${list.find((a) => a.user === name)?.id}`,
      ...(await sessionOf(name)),
    };
  const other = await sessionOf('other');
  const otherAccount = `/redfish/v1/AccountService/Accounts/${list.find((a) => a.user === 'other')?.id}`;
  const admin = users.Administrator.token;
  const sub = await h.rf('POST', '/redfish/v1/EventService/Subscriptions', {
    token: admin,
    body: { Destination: 'https://127.0.0.1:9/e', Protocol: 'Redfish' },
  });
  const sensors = await h.rf('GET', '/redfish/v1/Chassis/host/Sensors', { token: admin });
  const S = '/redfish/v1/Systems/host';
  const C = '/redfish/v1/Chassis/host';
  const M = '/redfish/v1/Managers/vpmd';
  const entries = await h.rf('GET', `${M}/LogServices/AuditLog/Entries`, { token: admin });
  targets.push(
    { uri: '/redfish/v1/', entity: 'ServiceRoot' },
    { uri: '/redfish/v1/Systems', entity: 'ComputerSystemCollection' },
    { uri: S, entity: 'ComputerSystem' },
    { uri: `${S}/Processors`, entity: 'ProcessorCollection' },
    { uri: `${S}/Processors/CPU0`, entity: 'Processor', patch: { OperatingSpeedRangeMHz: { SettingMax: 2000 } } },
    { uri: `${S}/ResetActionInfo`, entity: 'ActionInfo' },
    { uri: `${S}/Actions/ComputerSystem.Reset`, entity: 'ComputerSystem' },
    { uri: `${S}/Oem/Vpmd/CapabilitiesDocuments`, entity: 'ComputerSystem' },
    { uri: '/redfish/v1/Chassis', entity: 'ChassisCollection' },
    { uri: C, entity: 'Chassis' },
    { uri: `${C}/Sensors`, entity: 'SensorCollection' },
    { uri: sensors.json.Members[0]['@odata.id'], entity: 'Sensor' },
    { uri: `${C}/PowerSubsystem`, entity: 'PowerSubsystem' },
    { uri: `${C}/ThermalSubsystem`, entity: 'ThermalSubsystem' },
    { uri: `${C}/ThermalSubsystem/ThermalMetrics`, entity: 'ThermalMetrics' },
    { uri: `${C}/EnvironmentMetrics`, entity: 'EnvironmentMetrics' },
    { uri: '/redfish/v1/Managers', entity: 'ManagerCollection' },
    { uri: M, entity: 'Manager' },
    { uri: `${M}/NetworkProtocol`, entity: 'ManagerNetworkProtocol' },
    { uri: `${M}/LogServices`, entity: 'LogServiceCollection' },
    { uri: `${M}/LogServices/AuditLog`, entity: 'LogService' },
    { uri: `${M}/LogServices/AuditLog/Entries`, entity: 'LogEntryCollection' },
    { uri: entries.json.Members[0]['@odata.id'], entity: 'LogEntry' },
    { uri: `${M}/LogServices/HardwareLog`, entity: 'LogService' },
    { uri: `${M}/LogServices/HardwareLog/Entries`, entity: 'LogEntryCollection' },
    { uri: '/redfish/v1/AccountService', entity: 'AccountService', patch: { AccountLockoutThreshold: 4 } },
    { uri: '/redfish/v1/AccountService/Accounts', entity: 'ManagerAccountCollection' },
    { uri: otherAccount, entity: 'ManagerAccount', owner: 'other', patch: { Password: 'Another-pass-9' } },
    { uri: otherAccount, entity: 'ManagerAccount', owner: 'other', patch: { Enabled: false } },
    ...roles.map(([role, name]): Target => ({
      uri: users[role].account,
      entity: 'ManagerAccount',
      owner: name,
      patch: { Password: 'Another-pass-9' },
    })),
    ...roles.map(([role, name]): Target => ({
      uri: users[role].account,
      entity: 'ManagerAccount',
      owner: name,
      patch: { RoleId: 'Administrator' },
    })),
    { uri: '/redfish/v1/AccountService/Roles', entity: 'RoleCollection' },
    { uri: '/redfish/v1/AccountService/Roles/ReadOnly', entity: 'Role' },
    { uri: '/redfish/v1/SessionService', entity: 'SessionService', patch: { SessionTimeout: 600 } },
    { uri: '/redfish/v1/SessionService/Sessions', entity: 'SessionCollection' },
    { uri: other.session, entity: 'Session', owner: 'other' },
    ...roles.map(([role, name]): Target => ({ uri: users[role].session, entity: 'Session', owner: name })),
    { uri: '/redfish/v1/EventService', entity: 'EventService', patch: { DeliveryRetryAttempts: 2 } },
    { uri: '/redfish/v1/EventService/Subscriptions', entity: 'EventDestinationCollection' },
    { uri: String(sub.headers.location), entity: 'EventDestination', owner: 'admin', patch: { Context: 'x' } },
    { uri: '/redfish/v1/JsonSchemas', entity: 'JsonSchemaFileCollection' },
    { uri: '/redfish/v1/JsonSchemas/Chassis', entity: 'JsonSchemaFile' },
  );
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;
const NO_AUTH_POST = new Set(['/redfish/v1/SessionService/Sessions']); // DSP0266: login needs no session

describe('redfish privileges', () => {
  it('matches the DMTF privilege registry for every route, method and role, and refuses nobody', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const t of targets) {
      const allow = String((await h.rf('GET', t.uri, { token: users.Administrator.token })).headers.allow ?? '').split(
        ', ',
      );
      for (const method of METHODS) {
        const body =
          method === 'PATCH' ? (t.patch ?? { Name: 'x' }) : method === 'POST' || method === 'PUT' ? {} : undefined;
        const headers = method === 'PATCH' || method === 'DELETE' ? { 'If-Match': '"never"' } : undefined;
        const supported = allow.includes(method);
        const alts = supported ? alternatives(t.entity, method, method === 'PATCH' ? Object.keys(body ?? {}) : []) : [];
        const who: Array<[string, Role | undefined]> = [
          ['nobody', undefined],
          ...(['Administrator', 'Operator', 'ReadOnly'] as Role[]).map((r): [string, Role] => [users[r].name, r]),
        ];
        for (const [name, role] of who) {
          const r = await h.rf(method, t.uri, {
            ...(role ? { token: users[role].token } : {}),
            ...(body !== undefined ? { body } : {}),
            ...(headers ? { headers } : {}),
          });
          checked++;
          let expected: string;
          const noAuth = alts.some((a) => a.includes('NoAuth')) || (method === 'POST' && NO_AUTH_POST.has(t.uri));
          if (!role) expected = noAuth ? 'passes' : '401';
          else if (!supported) expected = '405';
          else {
            const held = ROLE_PRIVILEGES[role];
            const ok =
              noAuth ||
              alts.some((a) =>
                a.every((p) =>
                  p === 'ConfigureSelf'
                    ? t.owner === name && held.includes('ConfigureSelf')
                    : held.includes(p as never),
                ),
              );
            expected = ok ? 'passes' : '403';
          }
          const got = r.status === 401 ? '401' : r.status === 403 ? '403' : r.status === 405 ? '405' : 'passes';
          if (!role && !supported && got === '405' && noAuth) continue;
          if (got !== expected)
            mismatches.push(
              `${name} ${method} ${t.uri}${body ? ` ${JSON.stringify(body)}` : ''}: expected ${expected}, got ${r.status} ${r.text.slice(0, 120)}`,
            );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(900);
  }, 180_000);

  it('changed nothing while probing: accounts, settings and sessions are as before', async () => {
    const accounts = await h.agent.json<Array<{ user: string; role: string; enabled: boolean }>>(['account', 'list']);
    expect(accounts.map((a) => [a.user, a.role, a.enabled])).toEqual([
      ['admin', 'Administrator', true],
      ['oper', 'Operator', true],
      ['ro', 'ReadOnly', true],
      ['other', 'ReadOnly', true],
    ]);
    const ss = await h.rf('GET', '/redfish/v1/SessionService', { token: users.Administrator.token });
    expect(ss.json.SessionTimeout).toBe(1800);
    expect((await h.rf('GET', '/redfish/v1/Systems', { token: users.ReadOnly.token })).status).toBe(200);
  });
});
