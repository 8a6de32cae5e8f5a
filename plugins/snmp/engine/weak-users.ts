/**
 * Config users below authPriv. They exist only when a `users` entry says `securityLevel:
 * authNoPriv` or `noAuthNoPriv`, and they are read-only whatever their `access` says: without
 * privacy a SET (e.g. a suspend) could be read and replayed on the wire, without authentication
 * anyone could send it.
 */
import { VpmdError } from 'vpmd';
import { checkUserInput, type ConfigUser } from './user-input.js';
import type { AgentUserConfig } from '../config.js';
import { localizeKey } from '../codec/usm-crypto.js';
import type { AgentUser } from './usm-engine.js';

/**
 * The agent user of a config entry marked authNoPriv or noAuthNoPriv; undefined for authPriv.
 * @throws VpmdError E_SNMP_USER for a bad name, a missing or short authentication passphrase.
 */
export function weakUser(c: AgentUserConfig, engineId: Buffer): AgentUser | undefined {
  if (c.securityLevel === 'authPriv') return undefined;
  if (c.securityLevel === 'noAuthNoPriv') {
    checkUserInput(c.name, 'x'.repeat(8), 'x'.repeat(8));
    return { name: c.name, access: 'ro', level: 'noAuthNoPriv' };
  }
  if (!c.auth || c.authPassphrase === undefined) {
    throw new VpmdError('E_SNMP_USER', `SNMP user '${c.name}' (authNoPriv) needs auth and authPassphrase`, {
      name: c.name,
    });
  }
  checkUserInput(c.name, c.authPassphrase, 'x'.repeat(8));
  return {
    name: c.name,
    access: 'ro',
    level: 'authNoPriv',
    auth: c.auth,
    authKey: localizeKey(c.auth, c.authPassphrase, engineId),
  };
}

/** A config entry as an authPriv user. @throws VpmdError E_SNMP_USER naming a missing key. */
export function authPrivUser(c: AgentUserConfig): ConfigUser {
  const missing = (['auth', 'priv', 'authPassphrase', 'privPassphrase'] as const).filter((k) => c[k] === undefined);
  if (missing.length > 0 || !c.auth || !c.priv || c.authPassphrase === undefined || c.privPassphrase === undefined) {
    throw new VpmdError(
      'E_SNMP_USER',
      `SNMP user '${c.name}' (authPriv) needs ${missing.join(', ')}; or mark it securityLevel: authNoPriv | noAuthNoPriv (read-only)`,
      {
        name: c.name,
      },
    );
  }
  return {
    name: c.name,
    auth: c.auth,
    priv: c.priv,
    access: c.access,
    authPassphrase: c.authPassphrase,
    privPassphrase: c.privPassphrase,
  };
}

/** Names of the configured users below authPriv (for the start-up warning). */
export function weakUserNames(users: readonly AgentUserConfig[]): string[] {
  return users.filter((u) => u.securityLevel !== 'authPriv').map((u) => `${u.name} (${u.securityLevel})`);
}
