/** The start-up warning for every security mode weaker than SNMPv3 authPriv that config enables. */
import type { PluginContext } from 'vpmd';
import type { SnmpConfig } from './config.js';
import { weakUserNames } from './weak-users.js';

/** Logs one warning naming what is enabled (community names and versions, never the communities). */
export function warnWeakModes(ctx: PluginContext<SnmpConfig>): void {
  const c = ctx.config;
  const weak: string[] = [];
  if (c.minSecurityLevel !== 'authPriv') weak.push(`minSecurityLevel ${c.minSecurityLevel}`);
  const users = weakUserNames(c.users);
  if (users.length > 0) weak.push(`users ${users.join(', ')}`);
  if (c.communities.length > 0) weak.push(`communities ${c.communities.map((x) => `${x.name} (${x.versions.join('/')})`).join(', ')}`);
  if (weak.length === 0) return;
  ctx.log.warn(
    { weakModes: weak },
    `snmp: weaker than SNMPv3 authPriv enabled (${weak.join('; ')}): served read-only; plaintext on the network, restrict with management.allow and communities[].sources`,
  );
}
