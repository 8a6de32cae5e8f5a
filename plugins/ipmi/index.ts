/**
 * The ipmi plugin: a native IPMI 2.0 / RMCP+ client and a BMC poller. It provides the BMC
 * driver (`bmc-driver.ipmi@1`, routed by the core's `bmcs@1`), records every sensor reading in the telemetry store (source plugin
 * `ipmi`, target = BMC name), turns new SEL entries into `hw.log.v1` events, tracks chassis
 * power per target, and adds `vpmctl ipmi sensors|sel|chassis|poll|targets`.
 */
import { IPMI_BMC_DRIVER, VpmdError, definePlugin, type PluginHealth } from 'vpmd';
import { IPMI_ERRORS } from './errors.js';
import { IpmiConfigSchema, checkTargets, ipmiConfigProblems, resolveTarget } from './config.js';
import { registerCommands } from './cli.js';
import { ipmiDriver } from './driver.js';
import { Poller } from './poller/poller.js';

/** Health detail of a target not polled yet. */
const PENDING = 'pending: not polled yet';

/** The ipmi plugin's manifest. */
export default definePlugin({
  name: 'ipmi',
  version: '1.0.0',
  description: 'Native IPMI 2.0 (RMCP+) client and BMC poller: sensors, SEL, chassis power, DCMI',
  coreApi: '^1.2.0',
  errors: IPMI_ERRORS,
  config: IpmiConfigSchema,
  provides: [IPMI_BMC_DRIVER.id],
  // What start would refuse (two targets on one BMC, a missing passwordFile), for check-config.
  validate: (config) => ipmiConfigProblems(config),

  register(ctx) {
    checkTargets(ctx.config);
    let poller: Poller | undefined;
    const running = (): Poller => {
      if (poller === undefined) throw new VpmdError('E_PLUGIN_STOPPED', 'the IPMI poller is not running', {});
      return poller;
    };
    registerCommands(ctx, running);

    const driver = ipmiDriver(ctx, running);
    ctx.capabilities.provide(IPMI_BMC_DRIVER, driver);

    return {
      async start() {
        const targets = await Promise.all(ctx.config.targets.map((t) => resolveTarget(ctx.config, t)));
        poller = await Poller.open(
          ctx.config,
          { log: ctx.log, telemetry: ctx.telemetry, events: ctx.events, state: ctx.state },
          targets,
          ctx.access.bindAddress(),
        );
        const p = poller;
        for (const t of targets) {
          ctx.scheduler.every(`poll ${t.name}`, t.intervalMs, () => p.poll(t.name), { jitter: 1, runNow: true });
        }
        ctx.scheduler.every('keepalive', Math.min(5_000, ctx.config.keepalive * 500), () => p.keepalive());
        ctx.log.info({ targets: targets.length, address: p.endpoint.address().address }, 'IPMI poller started');
      },
      async stop() {
        const p = poller;
        poller = undefined;
        await p?.close();
      },
      health(): PluginHealth {
        if (poller === undefined) return { status: 'ok', detail: 'not started' };
        const all = [...poller.targets.values()];
        // A target never polled yet is pending, not ok: nothing is known of it.
        const targets = Object.fromEntries(
          all.map((t) => [
            t.target.name,
            t.state === 'unknown'
              ? { status: 'degraded' as const, detail: PENDING }
              : {
                  status:
                    t.state === 'ok'
                      ? ('ok' as const)
                      : t.state === 'failed'
                        ? ('failed' as const)
                        : ('degraded' as const),
                  ...(t.detail ? { detail: t.detail } : {}),
                },
          ]),
        );
        const bad = all.filter((t) => t.state === 'degraded' || t.state === 'failed');
        const pending = all.filter((t) => t.state === 'unknown');
        const ok = all.length - bad.length - pending.length;
        return {
          status: bad.length || pending.length ? 'degraded' : 'ok',
          detail:
            all.length === 0
              ? 'no targets configured'
              : `${ok} of ${all.length} BMC(s) ok${pending.length ? `; ${pending.length} pending (not polled yet)` : ''}${bad.length ? `; failing: ${bad.map((t) => t.target.name).join(', ')}` : ''}`,
          targets,
        };
      },
    };
  },

  demo() {
    // The demo host has no BMC and the plugin starts none: ipmi_sim is a test peer, not
    // something to leave running on a user's machine. Targets are configured by the operator.
    return {
      config: { targets: [] },
      notes: [
        'ipmi       no BMC in the demo (plugins.ipmi.targets is empty); see docs/ipmi.md to poll an ipmi_sim or a real BMC',
      ],
    };
  },
});
