/** Builds real core services for kernel tests: a simulated host, real stores in a temp dir. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../core/logger.js';
import type { CoreServices } from '../../core/kernel/plugin-context.js';
import { createServices, withHost } from '../../core/core-services.js';
import { parseConfigText } from '../../core/config/load-config.js';
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

/** Real services, wired as the agent wires them, over a freshly generated simulated host. */
export async function makeTestServices(profile = 'intel-acpi-cpufreq-8'): Promise<TestServices> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-test-'));
  const hostRoot = join(dir, 'host');
  const { config, problems } = parseConfigText(
    `host: {root: ${hostRoot}, simulated: true}\nstate: {dir: ${join(dir, 'state')}}\nmanagement: {address: 127.0.0.1}\nlibvirt: {bus: session, driver: Test}\n`,
  );
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const parts = createServices(config, createLogger({ level: 'silent' }));
  const audit: VpmdEventMap['audit.v1'][] = [];
  const states: VpmdEventMap['plugin.state.v1'][] = [];
  parts.bus.on('test', 'audit.v1', (e) => void audit.push(e));
  parts.bus.on('test', 'plugin.state.v1', (e) => void states.push(e));
  await generateSimulatedHost(hostRoot, { profile: profile as never });
  const services = withHost(parts, createHostModel(await openSimulatedHost(hostRoot)));
  return {
    services,
    dir,
    audit,
    states,
    cleanup: async () => {
      parts.scheduler.cancelOwner('core');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
