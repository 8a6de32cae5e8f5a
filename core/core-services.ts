/**
 * Builds the agent-wide services from a checked configuration. The agent and the tests use the
 * same builder, so a test's services are wired exactly as in production.
 */
import 'reflect-metadata';
import { container as rootContainer } from 'tsyringe';
import type { Logger } from './logger.js';
import type { CoreConfig } from './config/core-schema.js';
import { AccessPolicy } from './access/access-policy.js';
import { CommandRegistry } from './services/commands.js';
import { EventBus } from './services/event-bus.js';
import { Scheduler } from './services/scheduler.js';
import { CapabilityRegistry } from './kernel/capabilities.js';
import type { CoreServices } from './kernel/plugin-context.js';
import { StateStore } from './state/index.js';
import { TelemetryStore } from './telemetry/index.js';
import type { HostModel } from './host/index.js';

/** Every service but the host model, which is opened with the scheduler and telemetry store. */
export type ServicesWithoutHost = Omit<CoreServices, 'host'>;

/** Creates the services of one agent (no module singletons: each call is independent). */
export function createServices(config: CoreConfig, log: Logger): ServicesWithoutHost {
  const bus = new EventBus(log);
  const access = new AccessPolicy({
    ...(config.management.address !== undefined ? { address: config.management.address } : {}),
    ...(config.management.interface !== undefined ? { interface: config.management.interface } : {}),
    allow: config.management.allow,
    audit: (e) => bus.emit('audit.v1', e),
  });
  return {
    log,
    bus,
    access,
    scheduler: new Scheduler(log.child({ component: 'scheduler' })),
    telemetry: new TelemetryStore({
      onStatusChange: (e) => bus.emit('telemetry.status.v1', e),
      // A failing subscriber must not fail the poller that recorded the reading.
      onListenerError: (err, metric) => log.error({ err, metric }, 'telemetry listener failed'),
    }),
    commands: new CommandRegistry(access),
    capabilities: new CapabilityRegistry(),
    state: new StateStore(config.state.dir),
    container: rootContainer.createChildContainer(),
    core: {
      libvirt: config.libvirt,
      hostRoot: config.host.root,
      simulated: config.host.simulated,
      stateDir: config.state.dir,
    },
  };
}

/** Completes the services with the opened host model. */
export function withHost(parts: ServicesWithoutHost, host: HostModel): CoreServices {
  return { ...parts, host };
}
