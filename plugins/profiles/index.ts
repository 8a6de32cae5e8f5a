/**
 * profiles: named power profiles (governor, EPP, min/max frequency, turbo, a resume-latency
 * bound with the C-states above it disabled, uncore min/max) applied to CPU pools (explicit
 * lists, or the pCPUs of the VMs of a latency class through `domains@1`), reconciled so that
 * only differences are written, drift reported, and everything found put back on reset and on
 * stop. Time-of-day schedules switch pools' profiles. Frequency limits are claims on the core's
 * `cpu-limits@1`, never direct writes. See docs/profiles.md.
 */
import { CPU_LIMITS, DOMAINS, definePlugin, isVpmdError, type PluginHealth } from 'vpmd';
import { registerCommands } from './cli.js';
import { ProfilesConfigSchema } from './config.js';
import { ProfileEngine } from './engine.js';
import { PROFILES_ERRORS } from './errors.js';
import { DEMO_PROFILES } from './demo.js';
import { providePowerProfiles } from './power-profiles.js';
import './events.js';

export default definePlugin({
  name: 'profiles',
  version: '1.0.0',
  description: 'Power profiles on CPU pools: governor, EPP, frequency, turbo, resume latency, uncore; schedules',
  coreApi: '^1.2.0',
  errors: PROFILES_ERRORS,
  events: ['profiles.applied.v1', 'profiles.drift.v1'],
  config: ProfilesConfigSchema,
  provides: ['power-profiles@1'],
  optional: ['domains@1'],

  register(ctx) {
    let engine: ProfileEngine | undefined;
    const get = (): ProfileEngine => {
      if (engine === undefined) throw new Error('profiles: not started');
      return engine;
    };
    registerCommands(ctx, get);
    providePowerProfiles(ctx, get);
    return {
      async start() {
        engine = new ProfileEngine({
          host: ctx.host,
          state: ctx.state,
          limits: ctx.capabilities.find(CPU_LIMITS),
          domains: ctx.capabilities.find(DOMAINS),
          log: ctx.log,
          now: Date.now,
          config: ctx.config,
          onDrift: (drift) => {
            for (const d of drift) {
              ctx.log.warn(d, 'profile drift: something else changed a knob');
              ctx.events.emit('profiles.drift.v1', d);
            }
          },
          onApplied: ({ reason, report }) =>
            ctx.events.emit('profiles.applied.v1', {
              reason,
              written: report.written,
              failures: report.failures.length,
              timestamp: Date.now(),
            }),
        });
        const e = engine;
        // A profile that does not fit this host (or overlapping pools) refuses the whole apply and
        // changes nothing; the agent keeps running with the plugin degraded and saying why.
        await e.start().catch((err: unknown) => {
          if (!isVpmdError(err) || !err.code.startsWith('E_PROFILES_')) throw err;
          e.lastError = err.message;
          ctx.log.error({ err: err.message }, 'profiles not applied at start');
        });
        if (ctx.config.schedules.length > 0) ctx.scheduler.every('schedules', 1000, () => e.tick());
        ctx.scheduler.every('drift', ctx.config.driftCheckSeconds * 1000, () => e.checkDrift());
        if (ctx.config.pools.some((p) => p.latencyClass !== undefined)) {
          ctx.events.on('domain.lifecycle.v1', (ev) => {
            if (ev.kind === 'paused' || ev.kind === 'resumed' || ev.kind === 'pmsuspended') return;
            e.reapply(`domain ${ev.name} ${ev.kind}`).catch((err: unknown) => {
              e.lastError = err instanceof Error ? err.message : String(err);
              ctx.log.warn({ err: e.lastError }, 'profiles could not follow a domain change');
            });
          });
        }
      },
      async stop() {
        if (engine !== undefined && ctx.config.restoreOnStop) {
          const r = await engine.reset().catch((err: unknown) => {
            ctx.log.warn({ err }, 'profiles: could not restore the values found');
            return undefined;
          });
          if (r !== undefined) ctx.log.info({ written: r.written }, 'profiles: restored the values found');
        }
        engine = undefined;
      },
      health(): PluginHealth {
        if (engine === undefined) return { status: 'failed', detail: 'not started' };
        const drift = engine.reconciler.drift().length;
        const failures = engine.lastReport?.failures.length ?? 0;
        const pools = engine.pools();
        const detail = `${pools.filter((p) => p.profile !== undefined).length}/${pools.length} pools with a profile, ${drift} drifted knob(s)`;
        if (failures > 0 || engine.lastError !== undefined)
          return {
            status: 'degraded',
            detail: `${detail}; ${failures} write(s) failed${engine.lastError ? `; ${engine.lastError}` : ''}`,
          };
        return { status: drift > 0 ? 'degraded' : 'ok', detail };
      },
    };
  },

  demo: () => ({
    config: DEMO_PROFILES,
    notes: [
      'profiles: pool realtime (pCPUs 2-3 of vm1/vm2) runs latency-critical, pool bulk (4-7) runs bulk',
      '  vpmctl profile list ; vpmctl profile show latency-critical ; vpmctl profile apply bulk latency-critical ; vpmctl profile reset',
    ],
  }),
});
