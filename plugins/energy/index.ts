/**
 * energy: per-VM energy accounting (`energy@1`). Every interval (default 1 s) each RAPL zone's
 * energy is split into the idle floor, each VM's share (its vCPU and emulator threads' CPU time
 * on the zone's CPUs, weighted by the CPUs' frequency), the host's own processes and the
 * unattributed rest; per-VM joule counters are kept by UUID through `ctx.state`, and scaled to
 * the host's wall power when a telemetry metric measures it (`wallPower`). VMs come from
 * `domains@1`, declared optional: without a provider every busy CPU-second is the host's.
 * See docs/energy.md.
 */
import { DOMAINS, ENERGY, Type, definePlugin, type PluginHealth } from 'vpmd';
import { registerCommands } from './cli.js';
import { EnergyEngine } from './energy-engine.js';
import { ENERGY_ERRORS } from './errors.js';
import { DEFAULT_FREQUENCY_MODEL } from './frequency-weight.js';
import { LEDGER_STATE, type LedgerData } from './ledger.js';
import { energyConfigProblems } from './validate.js';

const ConfigSchema = Type.Object(
  {
    interval: Type.Optional(
      Type.Number({ minimum: 0.1, maximum: 60, description: 'accounting interval, s (default 1)' }),
    ),
    wallPower: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'telemetry metric id of the host wall power in W (IPMI DCMI, Redfish, PDU outlet)',
      }),
    ),
    wallMaxAge: Type.Optional(
      Type.Number({ minimum: 1, maximum: 3600, description: 'ignore wall readings older than this, s (default 30)' }),
    ),
    idleFloorW: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), {
        description: 'fixed idle floor per RAPL zone key (package-0...), W; measured when absent',
      }),
    ),
    model: Type.Optional(
      Type.Object(
        {
          minVoltage: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 2 })),
          maxVoltage: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 2 })),
          staticShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          voltageExponent: Type.Optional(Type.Number({ minimum: 0.5, maximum: 4 })),
        },
        { additionalProperties: false, description: 'frequency weight w(f) (docs/energy.md)' },
      ),
    ),
    historyStep: Type.Optional(
      Type.Number({ minimum: 1, maximum: 600, description: 'history point spacing, s (default 10)' }),
    ),
    persistEvery: Type.Optional(
      Type.Number({ minimum: 1, maximum: 3600, description: 'save counters every, s (default 10)' }),
    ),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'energy',
  version: '1.0.0',
  description: 'Per-VM energy accounting (energy@1): RAPL split by frequency-weighted CPU time, wall-scaled',
  coreApi: '^1.2.0',
  errors: ENERGY_ERRORS,
  config: ConfigSchema,
  validate: (config) => energyConfigProblems(config),
  provides: ['energy@1'],
  optional: ['domains@1'],
  demo: () => ({ config: {}, notes: ['energy      vpmctl vm energy   (simulated VMs burn CPU; figures after 2 s)'] }),

  register(ctx) {
    const c = ctx.config;
    const intervalMs = Math.round((c.interval ?? 1) * 1000);
    const engine = new EnergyEngine(
      {
        host: ctx.host,
        domains: () => ctx.capabilities.find(DOMAINS),
        latest: (id) => ctx.telemetry.latest(id),
        now: Date.now,
      },
      {
        intervalMs,
        model: { ...DEFAULT_FREQUENCY_MODEL, ...c.model },
        idleFloorW: c.idleFloorW ?? {},
        ...(c.wallPower === undefined ? {} : { wallMetric: c.wallPower }),
        wallMaxAgeMs: (c.wallMaxAge ?? 30) * 1000,
        historyStepMs: Math.max(intervalMs, (c.historyStep ?? 10) * 1000),
      },
    );
    ctx.capabilities.provide(ENERGY, engine);
    registerCommands(ctx, engine, Date.now);
    let persistable = true;
    let lastError: string | undefined;
    const save = async (): Promise<void> => {
      if (persistable) await ctx.state.write('ledger', LEDGER_STATE, engine.snapshot());
    };
    return {
      async start() {
        let restored: LedgerData | undefined;
        try {
          restored = await ctx.state.read('ledger', LEDGER_STATE);
        } catch (e) {
          // Never overwrite counters we could not read: the operator decides (docs/energy.md).
          persistable = false;
          lastError = `saved counters unreadable, not persisting: ${e instanceof Error ? e.message : String(e)}`;
          ctx.log.error({ err: lastError }, 'energy ledger');
        }
        await engine.init(restored);
        if (engine.zoneList().length === 0) lastError = 'no readable RAPL zone: nothing to account';
        await engine.sample();
        ctx.scheduler.every('sample', intervalMs, () => engine.sample());
        ctx.scheduler.every('persist', (c.persistEvery ?? 10) * 1000, save);
      },
      async stop() {
        await save();
        engine.close();
      },
      health(): PluginHealth {
        if (lastError !== undefined) return { status: 'degraded', detail: lastError };
        const h = engine.host();
        const running = engine.vms().filter((v) => v.running).length;
        if (c.wallPower !== undefined && (h.wall?.watts ?? null) === null)
          return { status: 'degraded', detail: `no fresh wall-power reading from ${c.wallPower}; RAPL figures only` };
        return { status: 'ok', detail: `${running} running VM(s), ${h.zones.length} RAPL zone(s)` };
      },
    };
  },
});
