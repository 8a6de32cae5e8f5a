/**
 * The power plugin: one control loop per host (docs/power-control.md) for the host power cap
 * (RAPL PL1/PL2 per package, and the host's BMC through bmcs@1), per-VM budgets (frequency
 * ceiling through cpu-limits@1, vCPU quota through domains@1) and facility limits (PDU ratings,
 * thermal zones). Provides `power-control@1` for Redfish and SNMP and adds `vpmctl power ...`.
 */
import {
  BMCS,
  CPU_LIMITS,
  DOMAINS,
  ENERGY,
  POWER_CONTROL,
  VpmdError,
  definePlugin,
  type PluginHealth,
  type Principal,
} from 'vpmd';
import { registerCommands } from './cli.js';
import { PowerConfigSchema } from './config.js';
import { PowerController } from './controller.js';
import { POWER_ERRORS, POWER_EVENTS } from './errors.js';
import { domainsQuota } from './quota.js';
import { PowerControlService, checkBudget } from './service.js';

export default definePlugin({
  name: 'power',
  version: '1.0.0',
  description: 'Host power cap, per-VM power budgets and facility limits in one control loop',
  coreApi: '^1.2.0',
  config: PowerConfigSchema,
  errors: POWER_ERRORS,
  events: [...POWER_EVENTS],
  provides: [POWER_CONTROL.id],
  optional: [DOMAINS.id, ENERGY.id],

  register(ctx) {
    for (const b of ctx.config.budgets) checkBudget(b);
    let controller: PowerController | undefined;
    const running = (): PowerController => {
      if (controller === undefined) throw new VpmdError('E_PLUGIN_STOPPED', 'the power controller is not running', {});
      return controller;
    };
    const service = new PowerControlService(running, ctx.access);
    ctx.capabilities.provide(POWER_CONTROL, service);
    registerCommands(ctx, () => service, running);

    return {
      async start() {
        const domains = ctx.capabilities.find(DOMAINS);
        // The quota is libvirt's (through domains@1); a simulated host has none to throttle.
        const quota = ctx.core.simulated ? undefined : domainsQuota(domains);
        const bmcs = ctx.config.bmc === undefined ? undefined : ctx.capabilities.get(BMCS);
        const c = new PowerController({
          config: ctx.config,
          host: ctx.host,
          cpuLimits: ctx.capabilities.get(CPU_LIMITS),
          domains,
          energy: ctx.capabilities.find(ENERGY),
          quota,
          bmcs,
          state: ctx.state,
          latest: (id) => {
            try {
              return ctx.telemetry.latest(id);
            } catch {
              return undefined;
            }
          },
          sinks: {
            audit: (by: Principal, action, outcome, detail) => ctx.access.audit(by, action, outcome, detail),
            budgetEvent: (e) => ctx.events.emit('power.budget.v1', e),
            capEvent: (e) => ctx.events.emit('power.cap.v1', e),
            facilityEvent: (e) => ctx.events.emit('power.facility.v1', e),
          },
          now: Date.now,
        });
        await c.open();
        controller = c;
        // The first period runs before start returns: the cap is in force once the agent is up.
        await c.step();
        ctx.scheduler.every('control', ctx.config.periodMs, () => c.step());
      },
      stop() {
        controller = undefined;
        return Promise.resolve();
      },
      health(): PluginHealth {
        if (controller === undefined) return { status: 'ok', detail: 'not started' };
        const p = controller.policy;
        return {
          status: 'ok',
          detail: `${p.paused ? 'paused' : 'running'}; cap ${p.cap.watts === null ? 'none' : `${p.cap.watts} W`}; ${p.budgets.length} budget(s)`,
        };
      },
    };
  },

  demo() {
    return {
      config: {
        cap: { watts: 60, correctionMs: 1000 },
        budgets: [{ vm: 'batch-1', watts: 8, windowS: 60, priority: 10 }],
      },
      notes: [
        'power      host cap 60 W on RAPL: vpmctl power cap 50 | vpmctl power status | vpmctl power policy pause',
        'power      Redfish: PATCH /redfish/v1/Chassis/host/Controls/PowerLimit {"SetPoint": 55} (also EnvironmentMetrics.PowerLimitWatts)',
        'power      budget 8 W (60 s average) for VM batch-1: vpmctl power status | vpmctl vm energy',
      ],
    };
  },
});
