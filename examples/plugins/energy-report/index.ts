/**
 * Example external plugin: an energy report for the host.
 *
 * It shows the whole plugin contract in about a hundred lines: a manifest with a config schema,
 * a command with a privilege and a human formatter, a periodic task, telemetry it reads and a
 * metric it defines, its own error codes (with an exit code of their own) and its own event type
 * (see vocabulary.ts), persisted state, and health. It imports only `vpmd`.
 *
 * Load it from config:
 *   plugins:
 *     energy-report:
 *       module: ./path/to/dist/examples/plugins/energy-report/index.js
 *       budgetWatts: 150
 */
import { Type, VpmdError, definePlugin, defineCommand, formatKeyValues, type PluginHealth } from 'vpmd';
import { ENERGY_REPORT_ERRORS, ENERGY_REPORT_EVENTS } from './vocabulary.js';

const Totals = Type.Object({ joules: Type.Number({ minimum: 0 }), since: Type.String() });
const TOTALS_SPEC = { version: 1, schema: Totals } as const;

export default definePlugin({
  name: 'energy-report',
  version: '1.0.0',
  description: 'Integrates the host RAPL power into an energy total and warns when a power budget is exceeded',
  coreApi: '^1.2.0',
  errors: ENERGY_REPORT_ERRORS,
  events: ENERGY_REPORT_EVENTS,
  config: Type.Object({
    budgetWatts: Type.Number({ minimum: 1, maximum: 100000, description: 'host power budget in watts' }),
    interval: Type.Number({ minimum: 0.1, maximum: 3600, default: 1, description: 'seconds between samples' }),
  }),

  register(ctx) {
    let joules = 0;
    let since = new Date().toISOString();
    let lastWatts: number | null = null;
    let overBudget = false;
    let health: PluginHealth = { status: 'ok', detail: 'no power reading yet' };
    const metricId = 'energy-report/host/energy';

    /** Sum of the RAPL package power readings (W), or null when the host has none. */
    const hostWatts = (): number | null => {
      // Package domains only: their sub-domains (core, dram) are already inside or beside them.
      const pkgs = ctx.telemetry
        .list({ kind: 'power', target: 'host', prefix: 'host/rapl/' })
        .filter((m) => /^host\/rapl\/package-\d+\/power$/.test(m.id));
      const values = pkgs.map((m) => m.latest?.value).filter((v): v is number => typeof v === 'number');
      return values.length ? values.reduce((a, b) => a + b, 0) : null;
    };

    ctx.commands.register(
      defineCommand({
        name: 'energy report',
        summary: 'Host energy since the report was started, and the power budget',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => ({
          joules: Math.round(joules),
          kWh: joules / 3.6e6,
          since,
          watts: lastWatts,
          budgetWatts: ctx.config.budgetWatts,
        }),
        human: (r) =>
          formatKeyValues([
            ['Energy', `${r.joules} J (${r.kWh.toFixed(6)} kWh)`],
            ['Since', r.since],
            ['Power', r.watts === null ? 'unavailable (no RAPL on this host)' : `${r.watts.toFixed(1)} W`],
            ['Budget', `${r.budgetWatts} W`],
          ]),
      }),
    );
    ctx.commands.register(
      defineCommand({
        name: 'energy check',
        summary: 'Succeed when host power is within the budget (exit 20 above it), like a monitoring check',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => {
          const watts = hostWatts();
          const budgetWatts = ctx.config.budgetWatts;
          if (watts === null)
            throw new VpmdError('E_ENERGY_REPORT_NO_POWER', 'energy check: the host has no RAPL power reading');
          if (watts > budgetWatts)
            throw new VpmdError(
              'E_ENERGY_REPORT_OVER_BUDGET',
              `energy check: host power ${watts.toFixed(1)} W is above the ${budgetWatts} W budget`,
              { watts, budgetWatts },
            );
          return { watts, budgetWatts };
        },
        human: (r) => `host power ${r.watts.toFixed(1)} W is within the ${r.budgetWatts} W budget`,
      }),
    );
    ctx.commands.register(
      defineCommand({
        name: 'energy reset',
        summary: 'Start the energy total again from zero',
        privilege: 'ConfigureComponents',
        args: Type.Object({}),
        handler: async () => {
          joules = 0;
          since = new Date().toISOString();
          await ctx.state.write('totals', TOTALS_SPEC, { joules, since });
          return 'energy total reset';
        },
      }),
    );

    return {
      async start() {
        const saved = await ctx.state.read('totals', TOTALS_SPEC);
        if (saved) ({ joules, since } = saved);
        ctx.telemetry.define({
          id: metricId,
          name: 'Host energy (energy-report)',
          kind: 'energy',
          unit: 'J',
          source: { plugin: 'energy-report', target: 'host', sensor: 'rapl-sum' },
        });
        const dt = ctx.config.interval;
        ctx.scheduler.every('integrate', dt * 1000, async () => {
          const w = hostWatts();
          lastWatts = w;
          if (w === null) {
            health = { status: 'degraded', detail: 'no RAPL power reading on this host' };
            return;
          }
          joules += w * dt;
          ctx.telemetry.record(metricId, joules);
          const over = w > ctx.config.budgetWatts;
          if (over !== overBudget) {
            overBudget = over;
            ctx.events.emit('energy-report.budget.v1', {
              state: over ? 'over' : 'within',
              watts: w,
              budgetWatts: ctx.config.budgetWatts,
              timestamp: Date.now(),
            });
          }
          health = over
            ? {
                status: 'degraded',
                detail: `host power ${w.toFixed(1)} W exceeds the ${ctx.config.budgetWatts} W budget`,
              }
            : { status: 'ok', detail: `${w.toFixed(1)} W of ${ctx.config.budgetWatts} W` };
          await ctx.state.write('totals', TOTALS_SPEC, { joules, since });
        });
      },
      stop() {
        ctx.log.info({ joules: Math.round(joules) }, 'energy report stopped');
      },
      health: () => health,
    };
  },
});
