/** Core commands about the agent itself: help, status, version, audit. */
import { Type } from '@sinclair/typebox';
import { defineCommand, type CommandRegistry } from '../services/commands.js';
import { formatKeyValues, formatTable } from '../services/format.js';
import type { PluginStatus } from '../kernel/kernel.js';
import type { AuditLog } from '../services/audit-log.js';
import { VPMD_VERSION } from '../version.js';

/** What the agent commands need from the agent. */
export interface AgentFacts {
  status(): Promise<PluginStatus[]>;
  readonly audit: AuditLog;
  readonly startedAt: Date;
  readonly simulated: boolean;
  readonly hostRoot: string;
}

function uptime(since: Date): string {
  let s = Math.floor((Date.now() - since.getTime()) / 1000);
  const d = Math.floor(s / 86400);
  s %= 86400;
  const h = Math.floor(s / 3600);
  s %= 3600;
  const m = Math.floor(s / 60);
  return `${d > 0 ? `${d}d ` : ''}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Registers help, status, version and audit. */
export function registerAgentCommands(reg: CommandRegistry, facts: AgentFacts): void {
  reg.register(
    'core',
    defineCommand({
      name: 'help',
      summary: 'List commands, or describe one',
      privilege: 'Login',
      args: Type.Object({ command: Type.Optional(Type.Array(Type.String(), { description: 'command words' })) }),
      positional: ['command'],
      handler: (a, inv) => {
        const all = reg.list(inv.principal);
        const want = (a.command ?? []).join(' ');
        const shown = want ? all.filter((c) => c.name === want || c.name.startsWith(`${want} `)) : all;
        return shown.map((c) => ({
          name: c.name,
          usage: c.usage,
          summary: c.summary,
          privilege: c.privilege,
          params: c.params,
        }));
      },
      human: (rows, a) => {
        if (rows.length === 0) return `no command matches '${(a.command ?? []).join(' ')}'`;
        if (rows.length === 1 && a.command?.length) {
          const c = rows[0]!;
          const label = (p: (typeof c.params)[number]): string => (p.positional ? p.name.toUpperCase() : `--${p.name}`);
          const w = Math.max(0, ...c.params.map((p) => label(p).length));
          const params = c.params.map(
            (p) =>
              `  ${label(p).padEnd(w)}  ${p.description}${p.choices ? ` (${p.choices.join(', ')})` : ''}${p.required ? '' : ' [optional]'}`,
          );
          return [
            `Usage: ${c.usage}`,
            '',
            `  ${c.summary}`,
            `  Needs the ${c.privilege} privilege.`,
            ...(params.length ? ['', 'Arguments:', ...params] : []),
          ].join('\n');
        }
        const w = Math.max(...rows.map((r) => r.name.length));
        return rows.map((r) => `  ${r.name.padEnd(w)}   ${r.summary}`).join('\n');
      },
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'status',
      summary: 'Agent uptime and each plugin with its state and health',
      privilege: 'Login',
      args: Type.Object({}),
      handler: async () => ({
        version: VPMD_VERSION,
        startedAt: facts.startedAt.toISOString(),
        uptime: uptime(facts.startedAt),
        host: facts.simulated ? `simulated (${facts.hostRoot})` : facts.hostRoot,
        plugins: await facts.status(),
      }),
      human: (r) =>
        [
          formatKeyValues([
            ['vpmd', r.version],
            ['Uptime', r.uptime],
            ['Host', r.host],
          ]),
          '',
          r.plugins.length === 0
            ? 'No plugins configured.'
            : formatTable(r.plugins, [
                { header: 'Plugin', value: (p) => p.name },
                { header: 'Version', value: (p) => p.version },
                { header: 'State', value: (p) => p.state },
                { header: 'Health', value: (p) => p.health?.status ?? '-' },
                { header: 'Detail', value: (p) => p.error?.message ?? p.health?.detail ?? '' },
              ]),
        ].join('\n'),
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'version',
      summary: 'vpmd version',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => ({ version: VPMD_VERSION, node: process.version }),
      human: (r) => `vpmd ${r.version} (node ${r.node})`,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'audit',
      summary: 'Recent privileged actions and refusals (who, from where, what, outcome)',
      privilege: 'ConfigureManager',
      args: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'how many entries' }),
      }),
      handler: (a) => facts.audit.list(a.limit),
      human: (rows) =>
        rows.length === 0
          ? 'No audit entries.'
          : formatTable(rows, [
              { header: 'Time', value: (e) => new Date(e.timestamp).toISOString() },
              { header: 'Principal', value: (e) => e.principal },
              { header: 'Origin', value: (e) => `${e.origin}${e.address ? `@${e.address}` : ''}` },
              { header: 'Action', value: (e) => e.action },
              { header: 'Outcome', value: (e) => e.outcome },
              { header: 'Detail', value: (e) => e.detail ?? '' },
            ]),
    }),
  );
}
