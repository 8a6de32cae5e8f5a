/**
 * `vpmctl ipmi ...`: sensors, sel, chassis, poll, targets. Reading needs Login; chassis control
 * and clearing the SEL need ConfigureComponents (checked and audited per action).
 */
import {
  StringEnum,
  Type,
  defineCommand,
  formatTable,
  type BmcPowerLimit,
  type BmcPowerLimitChange,
  type ChassisAction,
  type PluginContext,
  type Principal,
} from 'vpmd';
import { chassisControl, chassisStatus } from './commands/chassis.js';
import { setPowerLimit } from './commands/dcmi-power-limit.js';
import { clearSel, readSel } from './commands/sel.js';
import { readSensors } from './commands/sensors.js';
import { CHASSIS_DONE, formatChassis, formatSel, formatSensors } from './cli-format.js';
import type { Poller } from './poller/poller.js';

/** The part of the plugin context the commands use. */
export type CommandContext = Pick<PluginContext, 'commands' | 'access'>;

/** Registers the commands; `poller()` is the running poller (throws when not started). */
export function registerCommands(ctx: CommandContext, poller: () => Poller): void {
  const target = Type.String({ description: 'target name from plugins.ipmi.targets' });

  ctx.commands.register(
    defineCommand({
      name: 'ipmi sensors',
      summary: 'Read every sensor of a BMC now (like ipmitool sdr list)',
      privilege: 'Login',
      args: Type.Object({ target }),
      positional: ['target'],
      handler: async ({ target: name }) => {
        const tp = poller().target(name);
        return tp.withSession(async (s) => readSensors(s, (await tp.loadSdr(s)).cache.sensors));
      },
      human: (r) => formatSensors(r),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'ipmi sel',
      summary: 'List (or with --clear, erase) the System Event Log of a BMC',
      privilege: 'Login',
      args: Type.Object({
        target,
        clear: Type.Optional(Type.Boolean({ description: 'erase the SEL (needs ConfigureComponents)' })),
      }),
      positional: ['target'],
      handler: async ({ target: name, clear }, inv) => {
        const tp = poller().target(name);
        if (clear === true) {
          const action = `ipmi sel ${name} --clear`;
          ctx.access.require(inv.principal, 'ConfigureComponents', action);
          try {
            await tp.withSession((s) => clearSel(s));
          } catch (e) {
            ctx.access.audit(inv.principal, action, 'failed', (e as Error).message);
            throw e;
          }
          ctx.access.audit(inv.principal, action, 'ok');
          return { cleared: true as const, entries: [] };
        }
        return { cleared: false as const, entries: await tp.withSession((s) => readSel(s)) };
      },
      human: (r) => (r.cleared ? 'Clearing SEL.  Please allow a few seconds to erase.' : formatSel(r.entries)),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'ipmi chassis',
      summary: 'Chassis power status or control: status | on | off | cycle | reset | soft',
      privilege: 'Login',
      args: Type.Object({
        target,
        action: StringEnum(['status', 'on', 'off', 'cycle', 'reset', 'soft'], {
          description: 'status, or a power action',
        }),
      }),
      positional: ['target', 'action'],
      handler: async ({ target: name, action }, inv) => {
        const tp = poller().target(name);
        if (action === 'status') {
          const status = await tp.withSession((s) => chassisStatus(s));
          tp.power = status.power;
          return { target: name, action, status };
        }
        await chassis(ctx, poller(), name, action, inv.principal);
        return { target: name, action };
      },
      human: (r) =>
        'status' in r && r.status !== undefined ? formatChassis(r.status) : (CHASSIS_DONE[r.action] ?? r.action),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'ipmi poll',
      summary: 'Poll every target once now and report successes, failures and duration',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => poller().sweep(),
      human: (r) =>
        [
          `Polled ${r.targets} target(s) in ${r.durationMs} ms: ${r.successes} ok, ${r.failures} failed`,
          ...r.errors.map((e) => `  ${e.target}: ${e.error}`),
        ].join('\n'),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'ipmi targets',
      summary: 'Configured BMCs with their state, power and last poll',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () =>
        [...poller().targets.values()].map((t) => ({
          ...t.describe(),
          // Never polled yet: pending, not ok.
          state: t.state === 'unknown' ? 'pending' : t.state,
          unread: t.unread,
          fault: t.dominantFault ?? null,
          faults: { ...t.faults },
          hasSession: t.hasSession,
          failures: t.failures,
          code: t.lastError?.code ?? null,
          session: t.sessionStats() ?? null,
          cipherSuite: t.suiteHint ?? null,
          // The SDR cache: its key, and how often the repository was checked and read in full.
          sdr: { key: t.sdr?.key ?? null, sensors: t.sdr?.sensors.length ?? 0, ...t.sdrCounters },
        })),
      human: (rows) =>
        formatTable(rows, [
          { header: 'Name', value: (r) => r.name },
          { header: 'Address', value: (r) => `${r.host}:${r.port}` },
          { header: 'State', value: (r) => r.state },
          { header: 'Power', value: (r) => r.power ?? '-' },
          {
            header: 'Last poll',
            value: (r) => (r.lastPoll === undefined ? 'never' : new Date(r.lastPoll).toISOString()),
          },
          { header: 'Detail', value: (r) => r.detail ?? '' },
        ]),
    }),
  );
}

/** Chassis control with privilege check and audit; shared by the command and the BMC capability. */
export async function chassis(
  ctx: CommandContext,
  poller: Poller,
  name: string,
  action: ChassisAction,
  principal: Principal,
): Promise<void> {
  const what = `ipmi chassis ${name} ${action}`;
  ctx.access.require(principal, 'ConfigureComponents', what);
  const tp = poller.target(name);
  try {
    await tp.withSession((s) => chassisControl(s, action));
  } catch (e) {
    ctx.access.audit(principal, what, 'failed', (e as Error).message);
    throw e;
  }
  ctx.access.audit(principal, what, 'ok');
  if (action === 'on' || action === 'off') tp.power = action;
}

/** DCMI Set/Activate Power Limit with privilege check and audit (the BMC driver's setPowerLimit). */
export async function setLimit(
  ctx: CommandContext,
  poller: Poller,
  name: string,
  change: BmcPowerLimitChange,
  principal: Principal,
): Promise<BmcPowerLimit | null> {
  const what = `ipmi dcmi power limit ${name} ${change.watts === null ? 'off' : `${change.watts} W`}`;
  ctx.access.require(principal, 'ConfigureComponents', what);
  try {
    const r = await poller.target(name).withSession((s) => setPowerLimit(s, change));
    ctx.access.audit(principal, what, 'ok');
    return r;
  } catch (e) {
    ctx.access.audit(principal, what, 'failed', (e as Error).message);
    throw e;
  }
}
