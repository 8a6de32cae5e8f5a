/** Types of the generated privilege table (see generated/privilege-table.ts). */

/** HTTP methods the privilege registry maps. */
export type RegistryMethod = 'GET' | 'HEAD' | 'PATCH' | 'POST' | 'PUT' | 'DELETE';

/** Alternatives (any one suffices), each a set of privileges (all needed); `NoAuth` = none. */
export type PrivilegeAlternatives = ReadonlyArray<readonly string[]>;

/** One entity's row of the registry. */
export interface PrivilegeEntry {
  readonly operations: Partial<Record<RegistryMethod, PrivilegeAlternatives>>;
  /** Properties whose writes need other privileges (e.g. a ManagerAccount's own Password). */
  readonly propertyOverrides?: ReadonlyArray<{
    readonly targets: readonly string[];
    readonly operations: Partial<Record<RegistryMethod, PrivilegeAlternatives>>;
  }>;
}
