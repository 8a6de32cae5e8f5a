/**
 * What a USM user from config or `vpmctl snmp user add` must look like: its shape and snmpd's
 * rules for names and passphrases. It sits below both agent-identity.ts (the user store) and
 * weak-users.ts (config users below authPriv), which both check users with it.
 */
import { VpmdError } from 'vpmd';
import type { AuthProtocol, PrivProtocol } from '../codec/usm-crypto.js';

/** A user from config. */
export interface ConfigUser {
  readonly name: string;
  readonly auth: AuthProtocol;
  readonly priv: PrivProtocol;
  readonly access: 'ro' | 'rw';
  readonly authPassphrase: string;
  readonly privPassphrase: string;
}

/** Checks a user name and passphrase as snmpd would. @throws VpmdError E_SNMP_USER. */
export function checkUserInput(name: string, authPassphrase: string, privPassphrase: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/.test(name)) {
    throw new VpmdError(
      'E_SNMP_USER',
      `SNMP user name '${name}' is invalid: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { name },
    );
  }
  for (const [what, p] of [
    ['authentication', authPassphrase],
    ['privacy', privPassphrase],
  ] as const) {
    if (p.length < 8)
      throw new VpmdError(
        'E_SNMP_USER',
        `SNMP user '${name}': the ${what} passphrase must be at least 8 characters (RFC 3414), got ${p.length}`,
        { name },
      );
  }
}
