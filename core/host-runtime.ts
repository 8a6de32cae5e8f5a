/**
 * The host as the running agent sees it: the host model over the real root or the simulated
 * kernel, the periodic host telemetry sample, and (simulated hosts only) the simulator's clock
 * tick and a slowly wandering load so that readings move as on a live machine.
 */
import type { Logger } from './logger.js';
import type { CoreConfig } from './config/core-schema.js';
import type { Scheduler, TaskHandle } from './services/scheduler.js';
import type { TelemetryStore } from './telemetry/index.js';
import { createHostModel, createHostTelemetry, RealSysfs, type HostModel, type SysfsBackend } from './host/index.js';
import { openSimulatedHost } from './sim/index.js';

/** The opened host. */
export interface OpenedHost {
  readonly model: HostModel;
  readonly simulated: boolean;
  close(): Promise<void>;
}

/** Next value of a bounded random walk in [0.05, 0.95]. */
function wander(load: number, random: () => number): number {
  return Math.min(0.95, Math.max(0.05, load + (random() - 0.5) * 0.2));
}

/** Opens the host named by the `host` config section and starts its core tasks. */
export async function openHost(
  cfg: CoreConfig['host'],
  scheduler: Scheduler,
  telemetry: TelemetryStore,
  log: Logger,
  options: { readonly random?: () => number; readonly wrapBackend?: (b: SysfsBackend) => SysfsBackend } = {},
): Promise<OpenedHost> {
  const random = options.random ?? Math.random;
  const sim = cfg.simulated ? await openSimulatedHost(cfg.root) : undefined;
  const opened: SysfsBackend = sim ?? new RealSysfs(cfg.root);
  const model = createHostModel(options.wrapBackend === undefined ? opened : options.wrapBackend(opened));
  const host = createHostTelemetry(model);
  const defs = await host.definitions();
  for (const d of defs) {
    try {
      telemetry.define(d, 'core');
    } catch (e) {
      // One odd sensor (a threshold the store refuses) costs its metric, not the agent.
      log.warn({ metric: d.id, err: e instanceof Error ? e.message : String(e) }, 'host metric not defined');
    }
  }
  log.info({ metrics: defs.length, root: cfg.root, simulated: cfg.simulated }, 'host telemetry defined');
  const sample = async (): Promise<void> => {
    for (const v of await host.sample()) {
      try {
        telemetry.record(v.id, v.value);
      } catch {
        // Undefined above (refused definition): nothing to record into.
      }
    }
  };
  await sample().catch((e: unknown) =>
    log.warn({ err: e instanceof Error ? e.message : String(e) }, 'first host sample failed'),
  );
  // The host's own tasks, cancelled by close(): other core-owned tasks are not the host's to end.
  const tasks: TaskHandle[] = [scheduler.every('core', 'host-telemetry', cfg.sampleInterval * 1000, sample)];
  if (sim) {
    let load = 0.3;
    sim.setLoad('all', load);
    tasks.push(
      scheduler.every('core', 'sim-clock', 1000, async () => {
        load = wander(load, random);
        sim.setLoad('all', load);
        await sim.sync();
      }),
    );
  }
  return {
    model,
    simulated: cfg.simulated,
    close: async () => {
      for (const t of tasks) t.cancel();
      await sim?.sync();
    },
  };
}
