/**
 * One privilege vocabulary for every surface (vpmctl commands, Redfish routes, SNMP SETs,
 * guest-channel and IPMI actions). The names and the three fixed roles are DMTF Redfish's, so
 * the Redfish plugin maps them one to one and operators meet the same words everywhere.
 */

/** A privilege an action needs. */
export type Privilege = 'Login' | 'ConfigureManager' | 'ConfigureUsers' | 'ConfigureSelf' | 'ConfigureComponents';

/** Every privilege, in DMTF order. */
export const PRIVILEGES: readonly Privilege[] = [
  'Login',
  'ConfigureManager',
  'ConfigureUsers',
  'ConfigureSelf',
  'ConfigureComponents',
];

/** A role; an account or principal has exactly one. */
export type Role = 'Administrator' | 'Operator' | 'ReadOnly';

/** Every role, most privileged first. */
export const ROLES: readonly Role[] = ['Administrator', 'Operator', 'ReadOnly'];

/** The privileges each role grants (DMTF's fixed assignment; immutable). */
export const ROLE_PRIVILEGES: Readonly<Record<Role, readonly Privilege[]>> = Object.freeze({
  Administrator: Object.freeze([
    'Login',
    'ConfigureManager',
    'ConfigureUsers',
    'ConfigureSelf',
    'ConfigureComponents',
  ] as const),
  Operator: Object.freeze(['Login', 'ConfigureSelf', 'ConfigureComponents'] as const),
  ReadOnly: Object.freeze(['Login', 'ConfigureSelf'] as const),
});

/** Where a request came from. */
export type Origin = 'control-socket' | 'redfish' | 'snmp' | 'guest-channel' | 'ipmi' | 'internal';

/** Who is asking: the subject of every privilege check and audit entry. */
export interface Principal {
  /** Account, user or peer name (`root` for the control socket owner). */
  readonly name: string;
  readonly role: Role;
  readonly origin: Origin;
  /** Network address of the peer, when there is one. */
  readonly address?: string;
}

/** True when `role` grants `privilege`. */
export function roleHas(role: Role, privilege: Privilege): boolean {
  return ROLE_PRIVILEGES[role].includes(privilege);
}

/** True when `value` names a role. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
