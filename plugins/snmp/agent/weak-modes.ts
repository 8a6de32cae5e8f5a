/** The start-up warning for every security mode weaker than SNMPv3 authPriv that config enables. */
import type { PluginContext } from 'vpmd';
import type { SnmpConfig } from '../config.js';
import { weakUserNames } from '../engine/weak-users.js';

/** Logs one warning naming what is enabled (community names and versions, never the communities) and which of them have no view. */
export function warnWeakModes(ctx: PluginContext<SnmpConfig>): void {
  const c = ctx.config;
  const weak: string[] = [];
  if (c.minSecurityLevel !== 'authPriv') weak.push(`minSecurityLevel ${c.minSecurityLevel}`);
  const users = weakUserNames(c.users);
  if (users.length > 0) weak.push(`users ${users.join(', ')}`);
  if (c.communities.length > 0)
    weak.push(`communities ${c.communities.map((x) => `${x.name} (${x.versions.join('/')})`).join(', ')}`);
  if (weak.length === 0) return;
  // Those without a view read the whole MIB (the default, as snmpd's rocommunity without -V).
  const unviewed = [
    ...c.communities.filter((x) => !x.view).map((x) => `community ${x.name}`),
    ...c.users.filter((u) => u.securityLevel !== 'authPriv' && !u.view).map((u) => `user ${u.name}`),
  ];
  ctx.log.warn(
    { weakModes: weak, wholeMib: unviewed },
    `snmp: weaker than SNMPv3 authPriv enabled (${weak.join('; ')}): served read-only; plaintext on the network, restrict with management.allow and communities[].sources` +
      (unviewed.length > 0 ? `; reading the whole MIB (no view): ${unviewed.join(', ')}` : ''),
  );
}
