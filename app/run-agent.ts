/**
 * Running the agent in the foreground until SIGTERM or SIGINT: stop plugins in reverse order
 * within their timeouts, then exit 0. A second signal exits at once.
 */
import { Agent } from '../core/agent.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { CoreConfig } from '../core/config/core-schema.js';
import type { PluginSource } from '../core/kernel/plugin-plan.js';
import { pino } from 'pino';

/** Starts an agent and wires signals; resolves when it has stopped. */
export async function runAgentUntilSignal(
  config: CoreConfig,
  configFile: string,
  builtins: readonly PluginSource[],
  opts: { logFile?: string; onStarted?: (agent: Agent) => Promise<void> } = {},
): Promise<number> {
  const log: Logger = createLogger({
    level: config.log.level,
    ...(opts.logFile ? { destination: pino.destination({ dest: opts.logFile, mkdir: true, sync: false }) } : {}),
  });
  const agent = new Agent({ config, configFile, builtins, log });
  let signals = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) process.exit(130);
      log.info({ signal: sig }, 'stopping');
      void agent.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await agent.start();
  await opts.onStarted?.(agent);
  await done;
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  return 0;
}
