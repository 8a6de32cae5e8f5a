/** Builds real core services for kernel tests: a simulated host, real stores in a temp dir. */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container } from 'tsyringe';
import { createLogger } from '../../core/logger.js';
import { AccessPolicy } from '../../core/access/access-policy.js';
import { CommandRegistry } from '../../core/services/commands.js';
import { EventBus } from '../../core/services/event-bus.js';
import { Scheduler } from '../../core/services/scheduler.js';
import { CapabilityRegistry } from '../../core/kernel/capabilities.js';
import type { CoreServices } from '../../core/kernel/plugin-context.js';
import { StateStore } from '../../core/state/index.js';
import { TelemetryStore } from '../../core/telemetry/index.js';
import { createHostModel } from '../../core/host/index.js';
import { generateSimulatedHost, openSimulatedHost } from '../../core/sim/index.js';
import type { VpmdEventMap } from '../../core/contracts/events.js';

/** Services plus what tests inspect. */
export interface TestServices {
  services: CoreServices;
  dir: string;
  audit: VpmdEventMap['audit.v1'][];
  states: VpmdEventMap['plugin.state.v1'][];
  cleanup(): Promise<void>;
}

/** Real services over a freshly generated simulated host. */
export async function makeTestServices(profile = 'intel-acpi-cpufreq-8'): Promise<TestServices> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-test-'));
  const log = createLogger({ level: 'silent' });
  const bus = new EventBus(log);
  const audit: VpmdEventMap['audit.v1'][] = [];
  const states: VpmdEventMap['plugin.state.v1'][] = [];
  bus.on('test', 'audit.v1', (e) => void audit.push(e));
  bus.on('test', 'plugin.state.v1', (e) => void states.push(e));
  const access = new AccessPolicy({ address: '127.0.0.1', allow: ['127.0.0.0/8'], audit: (e) => bus.emit('audit.v1', e) });
  await generateSimulatedHost(join(dir, 'host'), { profile: profile as never });
  const sim = await openSimulatedHost(join(dir, 'host'));
  const scheduler = new Scheduler(log);
  const services: CoreServices = {
    log,
    bus,
    scheduler,
    commands: new CommandRegistry(access),
    access,
    capabilities: new CapabilityRegistry(),
    telemetry: new TelemetryStore(),
    state: new StateStore(join(dir, 'state')),
    host: createHostModel(sim),
    container: container.createChildContainer(),
    core: { libvirt: { bus: 'session', driver: 'Test' }, hostRoot: join(dir, 'host'), simulated: true, stateDir: join(dir, 'state') },
  };
  return {
    services,
    dir,
    audit,
    states,
    cleanup: async () => {
      scheduler.cancelOwner('core');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
