/**
 * `vpmctl redfish targets|sensors|logs|reset|walk|poll`: the Redfish BMCs the plugin polls, as
 * tables by default and JSON with `--json`. `reset` is a ComputerSystem.Reset with any ResetType
 * the BMC allows (ConfigureComponents, audited); `walk` GETs any URI of a BMC (ConfigureManager:
 * it reads with the poller's BMC account).
 */
import { Type, defineCommand, formatTable, type PluginContext } from 'vpmd';
import { controlsOf, resetSystem } from './driver.js';
import type { LogEntryView } from './logs.js';
import type { RedfishPoller } from './poller.js';

/** The part of the plugin context the commands use. */
type CommandContext = Pick<PluginContext, 'commands' | 'access'>;

const Target = Type.String({ description: 'target name from plugins.redfish.targets' });

interface SensorRow {
  readonly chassis: string;
  readonly name: string;
  readonly kind: string;
  readonly value: number | null;
  readonly unit: string;
  readonly status: string;
  readonly uri: string;
}

interface ControlRow {
  readonly uri: string;
  readonly type: string | null;
  readonly setPoint: number | null;
  readonly units: string | null;
  readonly mode: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Registers the commands over the running poller. */
export function registerPollerCommands(ctx: CommandContext, poller: () => RedfishPoller): void {
  ctx.commands.register(
    defineCommand({
      name: 'redfish targets',
      summary: 'List the Redfish BMCs polled, with their health',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () =>
        [...poller().targets.values()].map((t) => ({
          ...t.describe(),
          url: t.target.origin,
          powerState: t.system?.powerState ?? null,
          resetTypes: t.system?.resetTypes ?? [],
          events: t.streaming ? 'sse' : 'polled',
          eventRereads: t.events,
          polls: t.polls,
          requests: t.session.counters.requests,
          notModified: t.session.counters.notModified,
          retries: t.session.counters.retries,
          logins: t.session.counters.logins,
        })),
      human: (rows) =>
        rows.length === 0
          ? 'No Redfish targets (plugins.redfish.targets is empty)'
          : formatTable(rows, [
              { header: 'Name', value: (r) => r.name },
              { header: 'URL', value: (r) => r.url },
              { header: 'State', value: (r) => r.state },
              { header: 'Power', value: (r) => r.powerState ?? '-' },
              { header: 'Events', value: (r) => r.events },
              { header: 'Last poll', value: (r) => (r.lastPoll ? new Date(r.lastPoll).toISOString() : '-') },
              { header: 'Detail', value: (r) => r.detail ?? '' },
            ]),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'redfish sensors',
      summary: "A Redfish BMC's readings (polled now) and its Controls",
      privilege: 'Login',
      args: Type.Object({ target: Target }),
      positional: ['target'],
      handler: async ({ target }) => {
        const p = poller();
        const t = p.target(target);
        await p.poll(target, true);
        if (t.lastError !== undefined && t.state !== 'ok' && t.lastPoll === undefined) throw t.lastError;
        const sensors: SensorRow[] = t.readings.map(({ chassis, reading: r }) => ({
          chassis,
          name: r.name,
          kind: r.kind,
          value: r.value,
          unit: r.unit,
          status: r.status,
          uri: r.sensor,
        }));
        const controls: ControlRow[] = (await controlsOf(t)).map((c) => ({
          uri: str(c['@odata.id']) ?? '',
          type: str(c.ControlType),
          setPoint: typeof c.SetPoint === 'number' ? c.SetPoint : null,
          units: str(c.SetPointUnits),
          mode: str(c.ControlMode),
        }));
        return { target, sensors, controls };
      },
      human: (r) =>
        [
          formatTable(r.sensors, [
            { header: 'Chassis', value: (x) => x.chassis },
            { header: 'Sensor', value: (x) => x.name },
            { header: 'Reading', value: (x) => (x.value === null ? 'na' : `${x.value} ${x.unit}`) },
            { header: 'Status', value: (x) => x.status },
          ]),
          ...(r.controls.length
            ? [
                '',
                formatTable(r.controls, [
                  { header: 'Control', value: (x) => x.uri },
                  { header: 'Type', value: (x) => x.type ?? '-' },
                  { header: 'Set point', value: (x) => (x.setPoint === null ? '-' : `${x.setPoint} ${x.units ?? ''}`) },
                  { header: 'Mode', value: (x) => x.mode ?? '-' },
                ]),
              ]
            : []),
        ].join('\n'),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'redfish logs',
      summary: "A Redfish BMC's log entries (every LogService of its managers and systems)",
      privilege: 'Login',
      args: Type.Object({ target: Target }),
      positional: ['target'],
      handler: async ({ target }): Promise<LogEntryView[]> => {
        const p = poller();
        return p.logs.entries(p.target(target));
      },
      human: (rows) =>
        rows.length === 0
          ? 'No log entries'
          : formatTable(rows, [
              { header: 'Created', value: (r) => r.created ?? '-' },
              { header: 'Severity', value: (r) => r.severity },
              { header: 'Message', value: (r) => r.message },
              { header: 'Entry', value: (r) => r.id },
            ]),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'redfish reset',
      summary: 'ComputerSystem.Reset of a Redfish BMC with a ResetType it allows (On, ForceOff, PowerCycle, ...)',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: Target,
        type: Type.String({
          pattern: '^[A-Za-z]{2,32}$',
          description: 'ResetType, e.g. On, ForceOff, GracefulShutdown',
        }),
      }),
      positional: ['target', 'type'],
      handler: async ({ target, type }, inv) => {
        const what = `redfish reset ${target} ${type}`;
        try {
          await resetSystem(poller().target(target), type);
        } catch (e) {
          ctx.access.audit(inv.principal, what, 'failed', (e as Error).message);
          throw e;
        }
        ctx.access.audit(inv.principal, what, 'ok');
        return { target, resetType: type };
      },
      human: (r) => `Reset ${r.resetType} sent to ${r.target}`,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'redfish walk',
      summary: 'GET one URI of a Redfish BMC (with its session) and print the JSON',
      privilege: 'ConfigureManager',
      args: Type.Object({
        target: Target,
        uri: Type.String({ pattern: '^/redfish(/|$)', maxLength: 2048, description: 'e.g. /redfish/v1/Chassis' }),
      }),
      positional: ['target', 'uri'],
      handler: async ({ target, uri }) => poller().target(target).session.get(uri),
      human: (r) => JSON.stringify(r, null, 2),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'redfish poll',
      summary: 'Poll every Redfish BMC now',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => poller().sweep(),
      human: (r) => `${r.ok} BMC(s) polled, ${r.failed} failed, in ${r.durationMs} ms`,
    }),
  );
}
