/**
 * vpmctl commands: `profile list`, `profile show NAME`, `profile apply POOL PROFILE`,
 * `profile reset`. Human tables by default, `--json` for the result objects.
 */
import { Type, defineCommand, formatCpuList, formatKeyValues, formatTable, type PluginContext } from 'vpmd';
import type { Profile, ProfilesConfig } from './config.js';
import type { ProfileEngine } from './engine.js';
import type { ApplyReport, Drift } from './reconciler.js';

/** One profile as `profile list` shows it. */
export interface ProfileRow {
  readonly name: string;
  readonly description?: string;
  readonly pools: readonly string[];
  readonly settings: Profile;
}

function summary(p: Profile): string {
  const parts: string[] = [];
  if (p.governor !== undefined) parts.push(`governor=${p.governor}`);
  if (p.epp !== undefined) parts.push(`epp=${p.epp}`);
  if (p.minKHz !== undefined || p.maxKHz !== undefined) parts.push(`freq=${p.minKHz ?? '-'}..${p.maxKHz ?? '-'}kHz`);
  if (p.turbo !== undefined) parts.push(`turbo=${p.turbo ? 'on' : 'off'}`);
  if (p.resumeLatencyUs !== undefined) parts.push(`resume<=${p.resumeLatencyUs}us`);
  if (p.uncore !== undefined) parts.push(`uncore=${p.uncore.minKHz ?? '-'}..${p.uncore.maxKHz ?? '-'}kHz`);
  return parts.join(' ');
}

/** The rows of `profile list`. */
export function profileRows(engine: ProfileEngine): ProfileRow[] {
  const assigned = engine.assignments();
  return Object.entries(engine.config.profiles).map(([name, settings]) => ({
    name,
    ...(settings.description !== undefined ? { description: settings.description } : {}),
    pools: [...assigned].filter(([, p]) => p === name).map(([pool]) => pool),
    settings,
  }));
}

function reportLine(r: ApplyReport): string {
  const failed = r.failures.map((f) => `\n  failed: ${f.path} = ${f.value}: ${f.error}`).join('');
  return `${r.written} file(s) written, ${r.unchanged} already right${failed}`;
}

/** Registers the commands. */
export function registerCommands(ctx: PluginContext<ProfilesConfig>, engine: () => ProfileEngine): void {
  ctx.commands.register(
    defineCommand({
      name: 'profile list',
      summary: 'Power profiles and pools: which pool runs which profile',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => ({ profiles: profileRows(engine()), pools: engine().pools() }),
      human: (r) =>
        `${formatTable(r.profiles, [
          { header: 'Profile', value: (p) => p.name },
          { header: 'Pools', value: (p) => (p.pools.length > 0 ? p.pools.join(',') : '-') },
          { header: 'Settings', value: (p) => summary(p.settings) },
        ])}\n\n${formatTable(r.pools, [
          { header: 'Pool', value: (p) => p.name },
          { header: 'CPUs', value: (p) => formatCpuList(p.cpus) || '-' },
          { header: 'Source', value: (p) => p.source },
          { header: 'Profile', value: (p) => p.profile ?? '-' },
          { header: 'Schedule', value: (p) => p.schedule ?? '-' },
        ])}`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'profile show',
      summary: 'One profile, or with no name the managed files, found values and drift',
      privilege: 'Login',
      args: Type.Object({ name: Type.Optional(Type.String({ description: 'profile name' })) }),
      positional: ['name'],
      handler: (args) => {
        const e = engine();
        if (args.name !== undefined) {
          const settings = e.profile(args.name);
          return {
            profile: {
              name: args.name,
              pools: profileRows(e).find((r) => r.name === args.name)?.pools ?? [],
              settings,
            },
          };
        }
        return {
          managed: e.reconciler.desiredFiles().map((f) => ({
            ...f,
            found: e.reconciler.foundValues()[f.path] ?? null,
          })),
          drift: [...e.reconciler.drift()] as Drift[],
          writes: e.reconciler.writes,
        };
      },
      human: (r) => {
        if ('profile' in r && r.profile !== undefined) {
          const p = r.profile;
          return formatKeyValues([
            ['Profile', p.name],
            ['Pools', p.pools.join(',') || '-'],
            ['Description', p.settings.description],
            ['Governor', p.settings.governor],
            ['EPP', p.settings.epp],
            ['Min kHz', p.settings.minKHz],
            ['Max kHz', p.settings.maxKHz],
            ['Turbo', p.settings.turbo === undefined ? undefined : p.settings.turbo ? 'on' : 'off'],
            ['Resume latency us', p.settings.resumeLatencyUs],
            [
              'Uncore kHz',
              p.settings.uncore ? `${p.settings.uncore.minKHz ?? '-'}..${p.settings.uncore.maxKHz ?? '-'}` : undefined,
            ],
          ]);
        }
        if (!('managed' in r) || r.managed === undefined) return '';
        const files = formatTable(r.managed, [
          { header: 'What', value: (f) => f.what },
          { header: 'Wanted', value: (f) => f.value },
          { header: 'Found', value: (f) => f.found },
        ]);
        const drift =
          r.drift.length === 0
            ? 'no drift'
            : r.drift.map((d) => `drift: ${d.what}: wanted ${d.desired}, is ${d.actual}`).join('\n');
        return `${files}\n${drift}`;
      },
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'profile apply',
      summary: 'Runs a profile on a pool (only the differences are written)',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        pool: Type.String({ description: 'pool name' }),
        profile: Type.String({ description: 'profile name' }),
      }),
      positional: ['pool', 'profile'],
      handler: async (args, inv) => {
        try {
          const report = await engine().apply(args.pool, args.profile);
          ctx.access.audit(
            inv.principal,
            'profile apply',
            'ok',
            `${args.pool} -> ${args.profile}: ${report.written} written`,
          );
          return { pool: args.pool, profile: args.profile, ...report };
        } catch (e) {
          ctx.access.audit(inv.principal, 'profile apply', 'failed', e instanceof Error ? e.message : String(e));
          throw e;
        }
      },
      human: (r) => `Pool ${r.pool} runs profile ${r.profile}: ${reportLine(r)}`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'profile reset',
      summary: 'Puts back every value vpmd found before it applied profiles',
      privilege: 'ConfigureComponents',
      args: Type.Object({}),
      handler: async (_args, inv) => {
        const report = await engine().reset();
        ctx.access.audit(
          inv.principal,
          'profile reset',
          report.failures.length === 0 ? 'ok' : 'failed',
          reportLine(report),
        );
        return report;
      },
      human: (r) => `Restored the values found: ${reportLine(r)}`,
    }),
  );
}
