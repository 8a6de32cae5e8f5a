/**
 * Route privileges from the generated DMTF table: a request passes when one alternative's
 * privileges are all held. ConfigureSelf counts only on the caller's own resources (account,
 * session, subscription). PATCH bodies touching only a property override's targets (a
 * ManagerAccount's own Password) use that override's map.
 */
import { type Principal, type Privilege, roleHas } from 'vpmd';
import { PRIVILEGE_TABLE } from '../generated/privilege-table.js';
import type { PrivilegeAlternatives, RegistryMethod } from './privilege-types.js';

/** The alternatives for an operation, honouring property overrides. */
export function requiredPrivileges(
  entity: string,
  method: string,
  patchKeys: readonly string[] = [],
): PrivilegeAlternatives {
  const row = PRIVILEGE_TABLE[entity];
  if (!row) throw new Error(`entity ${entity} is not in the privilege registry`);
  const m = method as RegistryMethod;
  if (m === 'PATCH' && patchKeys.length > 0) {
    for (const o of row.propertyOverrides ?? []) {
      const alt = o.operations[m];
      if (alt && patchKeys.every((k) => o.targets.includes(k))) return alt;
    }
  }
  const alt = row.operations[m];
  if (!alt) throw new Error(`entity ${entity} has no ${method} entry in the privilege registry`);
  return alt;
}

/** True when the operation needs no authentication (a `NoAuth` alternative). */
export function allowsNoAuth(alternatives: PrivilegeAlternatives): boolean {
  return alternatives.some((alt) => alt.includes('NoAuth'));
}

/** True when `principal` satisfies one alternative (ConfigureSelf only when it owns the resource). */
export function satisfies(
  principal: Principal,
  alternatives: PrivilegeAlternatives,
  owner: string | undefined,
): boolean {
  return alternatives.some((alt) =>
    alt.every((p) => {
      if (p === 'NoAuth') return true;
      if (p === 'ConfigureSelf' && owner !== principal.name) return false;
      return roleHas(principal.role, p as Privilege);
    }),
  );
}

/** A human statement of the alternatives (for audit and error texts). */
export function describe(alternatives: PrivilegeAlternatives): string {
  return alternatives.map((a) => a.join('+')).join(' or ');
}
