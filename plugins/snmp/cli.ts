/**
 * `vpmctl snmp ...`: the agent's status and its USM users (`snmp status`, `snmp user
 * add|list|delete`) and the poller's `snmp targets`, `snmp walk` and `snmp outlet`.
 */
import { Type, VpmdError, defineCommand, formatKeyValues, formatTable, StringEnum, type PluginContext } from 'vpmd';
import type { SnmpConfig } from './config.js';
import type { SnmpAgent } from './agent/snmp-agent.js';
import { parseOid, valueText } from './codec/pdu.js';
import { toolName, type AuthProtocol, type PrivProtocol } from './codec/usm-crypto.js';
import type { Poller } from './poller/poller.js';
import { OUTLET_COMMAND, RPDU2_OUTLET_COMMAND } from './poller/poller-profiles.js';

/** Registers every `vpmctl snmp` command. */
export function registerCommands(ctx: PluginContext<SnmpConfig>, agent: SnmpAgent, poller: Poller): void {
  registerAgentCommands(ctx, agent);
  registerPollerCommands(ctx, poller);
}

/** Registers `snmp status` and `snmp user add|list|delete`. */
function registerAgentCommands(ctx: PluginContext<SnmpConfig>, agent: SnmpAgent): void {
  ctx.commands.register(
    defineCommand({
      name: 'snmp status',
      summary: 'SNMP agent address, engine ID, boots, users and USM counters',
      privilege: 'Login',
      args: Type.Object({}),
      handler: async () => {
        const f = await agent.facts();
        if (!f) return { listening: false };
        return { listening: true, ...f };
      },
      human: (r) =>
        'address' in r
          ? formatKeyValues([
              ['Listening', r.port ? `udp ${r.address}:${r.port}` : 'no (AgentX subagent only)'],
              ['AgentX', r.agentx],
              ['Engine ID', `0x${r.engineId}`],
              ['Engine boots', String(r.boots)],
              ['Engine time', `${r.time} s`],
              ['Users', String(r.users)],
              ['MIB instances', String(r.objects)],
              ...Object.entries(r.stats).map(([k, v]): [string, string] => [k, String(v)]),
            ])
          : 'SNMP agent is not listening',
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp user add',
      summary: 'Add (or replace) an SNMPv3 USM user; reads the auth and privacy passphrases from stdin',
      privilege: 'ConfigureUsers',
      args: Type.Object({
        name: Type.String({ description: 'user name' }),
        auth: StringEnum(['sha224', 'sha256', 'sha384', 'sha512'] as const, {
          default: 'sha256',
          description: 'authentication protocol',
        }),
        priv: StringEnum(['aes', 'aes256'] as const, { default: 'aes', description: 'privacy protocol' }),
        access: StringEnum(['ro', 'rw'] as const, { default: 'ro', description: 'ro: GET only; rw: SET too' }),
        authPassphrase: Type.String(),
        privPassphrase: Type.String(),
      }),
      positional: ['name'],
      stdin: [
        { name: 'authPassphrase', prompt: 'Authentication passphrase: ', secret: true },
        { name: 'privPassphrase', prompt: 'Privacy passphrase: ', secret: true },
      ],
      handler: async (a) => {
        if (!agent.users) throw new VpmdError('E_SNMP_LISTEN', 'the SNMP agent is not running (see vpmctl status)');
        const u = await agent.users.add({
          name: a.name,
          auth: a.auth,
          priv: a.priv,
          access: a.access,
          authPassphrase: a.authPassphrase,
          privPassphrase: a.privPassphrase,
        });
        return { ...u, auth: a.auth, priv: a.priv, usage: usage(u.name, a.auth, a.priv, await agent.facts()) };
      },
      human: (r) => `SNMP user ${r.name} added (${toolName(r.auth)}/${toolName(r.priv)}, ${r.access})\n${r.usage}`,
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp user list',
      summary: 'List the SNMPv3 users (no keys)',
      privilege: 'ConfigureUsers',
      args: Type.Object({}),
      handler: () => agent.users?.list() ?? [],
      human: (rows) =>
        formatTable(rows, [
          { header: 'User', value: (u) => u.name },
          { header: 'Auth', value: (u) => (u.auth ? toolName(u.auth) : '-') },
          { header: 'Priv', value: (u) => (u.priv ? toolName(u.priv) : '-') },
          { header: 'Level', value: (u) => u.level },
          { header: 'Access', value: (u) => u.access },
          { header: 'Source', value: (u) => u.source },
          { header: 'View', value: (u) => u.view ?? 'all' },
        ]),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp user delete',
      summary: 'Delete an SNMPv3 user added with snmp user add',
      privilege: 'ConfigureUsers',
      args: Type.Object({ name: Type.String() }),
      positional: ['name'],
      handler: async (a) => {
        if (!agent.users) throw new VpmdError('E_SNMP_LISTEN', 'the SNMP agent is not running (see vpmctl status)');
        await agent.users.remove(a.name);
        return `SNMP user ${a.name} deleted`;
      },
    }),
  );
}

/** Registers `snmp targets`, `snmp walk` and `snmp outlet`. */
function registerPollerCommands(ctx: PluginContext<SnmpConfig>, poller: Poller): void {
  ctx.commands.register(
    defineCommand({
      name: 'snmp targets',
      summary: 'SNMP devices polled, with their state',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => poller.list(),
      human: (rows) =>
        rows.length === 0
          ? 'no SNMP targets configured (plugins.snmp.targets)'
          : formatTable(rows, [
              { header: 'Target', value: (r) => r.name },
              { header: 'Address', value: (r) => r.address },
              { header: 'Profile', value: (r) => r.profile },
              { header: 'State', value: (r) => r.status },
              { header: 'Readings', value: (r) => String(r.readings) },
              { header: 'Last poll', value: (r) => r.lastPoll ?? '-' },
              { header: 'Error', value: (r) => r.lastError ?? '' },
            ]),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp walk',
      summary: 'Walk a subtree of an SNMP target (like snmpbulkwalk)',
      privilege: 'Login',
      args: Type.Object({
        target: Type.String({ description: 'target name' }),
        oid: Type.String({ description: 'numeric OID, e.g. 1.3.6.1.2.1.1' }),
      }),
      positional: ['target', 'oid'],
      handler: async (a) => {
        let oid: string;
        try {
          oid = parseOid(a.oid).join('.');
        } catch (e) {
          throw new VpmdError('E_COMMAND_USAGE', `snmp walk: ${e instanceof Error ? e.message : String(e)}`, {
            oid: a.oid,
          });
        }
        const { client } = poller.client(a.target);
        return (await client.walk(oid, 10_000)).map((vb) => ({ oid: vb.oid, value: valueText(vb.value) }));
      },
      human: (rows) => rows.map((r) => `.${r.oid} = ${r.value}`).join('\n'),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp outlet',
      summary: 'Switch a PDU outlet on, off or reboot it (APC rPDU2 targets)',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: Type.String({ description: 'target name' }),
        outlet: Type.Integer({ minimum: 1, maximum: 96, description: 'outlet number' }),
        action: StringEnum(['on', 'off', 'reboot'] as const),
      }),
      positional: ['target', 'outlet', 'action'],
      handler: async (a, inv) => {
        const { target, client } = poller.client(a.target);
        if (target.profile !== 'apc-rpdu2') {
          throw new VpmdError(
            'E_SNMP_OUTLET',
            `target '${a.target}' has profile ${target.profile}; outlet control needs profile apc-rpdu2`,
            { target: a.target },
          );
        }
        if (target.outlets > 0 && a.outlet > target.outlets) {
          throw new VpmdError(
            'E_SNMP_OUTLET',
            `target '${a.target}' has outlets 1-${target.outlets}; got ${a.outlet}`,
            { target: a.target, outlet: a.outlet },
          );
        }
        await client.setInt(`${RPDU2_OUTLET_COMMAND}.${a.outlet}`, OUTLET_COMMAND[a.action]);
        ctx.access.audit(inv.principal, `snmp outlet ${a.target} ${a.outlet} ${a.action}`, 'ok');
        return { target: a.target, outlet: a.outlet, action: a.action };
      },
      human: (r) => `Outlet ${r.outlet} of ${r.target}: ${r.action} requested`,
    }),
  );
}

/** The snmpwalk line that reads the agent as this user, printed by `snmp user add`. */
function usage(
  name: string,
  auth: AuthProtocol,
  priv: PrivProtocol,
  f: { address: string; port: number } | undefined,
): string {
  const where = f ? `${f.address}:${f.port}` : 'HOST:PORT';
  return `snmpwalk -v3 -l authPriv -u ${name} -a ${toolName(auth)} -A AUTHPASS -x ${toolName(priv)} -X PRIVPASS ${where} 1.3.6.1.2.1.1`;
}
