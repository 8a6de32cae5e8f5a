/**
 * The SNMP plugin: an SNMPv3 agent (authPriv, USM per RFC 3414, standard power MIBs and
 * VPMD-MIB) and a poller for PDUs and other SNMPv3 devices. See docs/snmp.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin, type PluginHealth } from 'vpmd';
import { SNMP_ERRORS } from './errors.js';
import { SnmpConfigSchema } from './config.js';
import { SnmpAgent } from './agent/snmp-agent.js';
import { Poller } from './poller/poller.js';
import { registerCommands } from './cli.js';
import { Notifier } from './notifier/notifier.js';

export default definePlugin({
  name: 'snmp',
  version: '1.0.0',
  description: 'SNMPv3 agent serving power, thermal and sleep-state data, and a PDU/SNMPv3 device poller',
  coreApi: '^1.2.0',
  errors: SNMP_ERRORS,
  config: SnmpConfigSchema,
  optional: ['host-sleep@1', 'guest-channels@1', 'bmcs@1', 'energy@1', 'power-control@1', 'power-profiles@1'],

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

    registerCommands(ctx, agent, poller);

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
      // -M/-m without '+': only the shipped modules, not net-snmp's default list (IF-MIB ...),
      // which stock Debian lacks (about 30 "Cannot find module" errors before the walk).
      notes: [
        `SNMPv3 agent on udp ${env.address}:${port}, user 'demo' (rw), SHA-256/AES; passphrases shown once:`,
        `  snmpwalk -v3 -l authPriv -u demo -a SHA-256 -A '${authPass}' -x AES -X '${privPass}' -M ${mibDir()}:${mibDir()}/ietf -m SNMPv2-MIB:VPMD-MIB ${env.address}:${port} 1.3.6.1`,
      ],
    };
  },
});

/** Where VPMD-MIB.txt is: beside this module in the source tree, or the repo's copy when run from dist/. */
function mibDir(): string {
  const here = fileURLToPath(new URL('./mib/mibs', import.meta.url));
  return existsSync(join(here, 'VPMD-MIB.txt'))
    ? here
    : fileURLToPath(new URL('../../../plugins/snmp/mib/mibs', import.meta.url));
}
