/**
 * A profiles engine over a simulated host with a fixed clock: the real core cpu-limits service,
 * a real state store, and a backend that counts the files written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuLimitsService } from '../../../core/cpu-limits/cpu-limits-service.js';
import { createHostModel, type HostModel } from '../../../core/host/index.js';
import { CountingSysfs } from '../../../testkit/counting-sysfs.js';
import { createLogger } from '../../../core/logger.js';
import { createTemporarySimulatedHost, type SimProfileName, type SimulatedKernel } from '../../../core/sim/index.js';
import { StateStore } from '../../../core/state/index.js';
import type { Domains } from '../../../core/contracts/domains.js';
import { ProfilesConfigSchema, type ProfilesConfig } from '../../../plugins/profiles/config.js';
import { ProfileEngine } from '../../../plugins/profiles/engine.js';
import type { Drift } from '../../../plugins/profiles/reconciler.js';
import { Value } from '@sinclair/typebox/value';

export interface Fixture {
  readonly kernel: SimulatedKernel;
  readonly backend: CountingSysfs;
  readonly host: HostModel;
  readonly limits: CpuLimitsService;
  readonly state: StateStore;
  readonly engine: ProfileEngine;
  readonly drift: Drift[];
  readonly clock: { now: number };
  /** A second engine on the same host and state (an agent restart). */
  restart(config?: Partial<ProfilesConfig>): ProfileEngine;
  dispose(): Promise<void>;
}

/** Builds the fixture; `config` is completed with the schema's defaults. */
export async function profilesFixture(
  config: Partial<ProfilesConfig>,
  opts: { profile?: SimProfileName; start?: number; domains?: Domains } = {},
): Promise<Fixture> {
  const clock = { now: opts.start ?? Date.UTC(2026, 0, 5, 12, 0, 0) };
  const sim = await createTemporarySimulatedHost({
    profile: opts.profile ?? 'intel-acpi-cpufreq-8',
    now: () => clock.now,
  });
  const backend = new CountingSysfs(sim.kernel);
  const host = createHostModel(backend);
  const stateDir = await mkdtemp(join(tmpdir(), 'vpmd-profiles-state-'));
  const state = new StateStore(stateDir);
  const log = createLogger({ level: 'silent' });
  const limits = new CpuLimitsService({ cpufreq: host.cpufreq, state: state.scope('core'), log, now: () => clock.now });
  const drift: Drift[] = [];
  const make = (c: Partial<ProfilesConfig>): ProfileEngine =>
    new ProfileEngine({
      host,
      state: state.scope('profiles'),
      limits,
      domains: opts.domains,
      log,
      now: () => clock.now,
      config: Value.Default(ProfilesConfigSchema, structuredClone(c)) as ProfilesConfig,
      onDrift: (d) => drift.push(...d),
    });
  const engine = make(config);
  return {
    kernel: sim.kernel,
    backend,
    host,
    limits,
    state,
    engine,
    drift,
    clock,
    restart: (c) => make(c ?? config),
    dispose: async () => {
      await sim.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
