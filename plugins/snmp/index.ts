/**
 * The SNMP plugin: an SNMPv3 agent (authPriv, USM per RFC 3414, standard power MIBs and
 * VPMD-MIB) and a poller for PDUs and other SNMPv3 devices. See docs/snmp.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  VpmdError,
  Type,
  definePlugin,
  defineCommand,
  formatKeyValues,
  formatTable,
  StringEnum,
  type PluginHealth,
} from 'vpmd';
import { SNMP_ERRORS } from './errors.js';
import { SnmpConfigSchema } from './config.js';
import { SnmpAgent } from './snmp-agent.js';
import { toolName, type AuthProtocol, type PrivProtocol } from './usm-crypto.js';
import { registerPollerCommands, Poller } from './poller.js';
import { Notifier } from './notifier.js';

export default definePlugin({
  name: 'snmp',
  version: '1.0.0',
  description: 'SNMPv3 agent serving power, thermal and sleep-state data, and a PDU/SNMPv3 device poller',
  coreApi: '^1.2.0',
  errors: SNMP_ERRORS,
  config: SnmpConfigSchema,
  optional: ['host-sleep@1', 'guest-channels@1', 'bmcs@1'],

  register(ctx) {
    const agent = new SnmpAgent(ctx);
    const poller = new Poller(ctx);
    const notifier = new Notifier(ctx, agent);
    let health: PluginHealth = { status: 'ok', detail: 'starting' };

    ctx.events.on('host.power.v1', (e) => {
      agent.hostPower = {
        state: e.state,
        ...(e.target ? { target: e.target } : {}),
        reason: e.requestedBy ? `requested by ${e.requestedBy}` : '',
      };
    });

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

    registerPollerCommands(ctx, poller);

    return {
      async start() {
        await agent.start();
        notifier.start();
        poller.start();
        health = { status: 'ok', detail: 'agent listening' };
      },
      async stop() {
        poller.stop();
        notifier.stop();
        await agent.stop();
      },
      health: () => {
        const targets = poller.health();
        const bad = Object.values(targets).filter((t) => t.status !== 'ok').length;
        return {
          ...health,
          ...(bad ? { status: 'degraded', detail: `${bad} poller target(s) failing` } : {}),
          targets,
        };
      },
    };
  },

  async demo(env) {
    const port = await env.freePort('udp');
    const authPass = env.password();
    const privPass = env.password();
    return {
      config: { port },
      commands: [
        {
          argv: ['snmp', 'user', 'add', 'demo', '--auth', 'sha256', '--priv', 'aes', '--access', 'rw'],
          stdin: [authPass, privPass],
        },
      ],
      notes: [
        `SNMPv3 agent on udp ${env.address}:${port}, user 'demo' (rw), SHA-256/AES; passphrases shown once:`,
        `  snmpwalk -v3 -l authPriv -u demo -a SHA-256 -A '${authPass}' -x AES -X '${privPass}' -M +${mibDir()}:${mibDir()}/ietf -m +VPMD-MIB ${env.address}:${port} 1.3.6.1`,
      ],
    };
  },
});

/** Where VPMD-MIB.txt is: beside this module in the source tree, or the repo's copy when run from dist/. */
function mibDir(): string {
  const here = fileURLToPath(new URL('./mibs', import.meta.url));
  return existsSync(join(here, 'VPMD-MIB.txt'))
    ? here
    : fileURLToPath(new URL('../../../plugins/snmp/mibs', import.meta.url));
}

function usage(
  name: string,
  auth: AuthProtocol,
  priv: PrivProtocol,
  f: { address: string; port: number } | undefined,
): string {
  const where = f ? `${f.address}:${f.port}` : 'HOST:PORT';
  return `snmpwalk -v3 -l authPriv -u ${name} -a ${toolName(auth)} -A AUTHPASS -x ${toolName(priv)} -X PRIVPASS ${where} 1.3.6.1.2.1.1`;
}
