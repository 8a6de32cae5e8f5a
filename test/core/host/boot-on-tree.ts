/**
 * Boots a real agent (no plugins, `host.simulated: false`) on a captured sysfs tree or on `/`,
 * optionally wrapping its backend (fault injection), and runs commands through the control socket
 * as vpmctl does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Agent } from '../../../core/agent.js';
import { assertNoProblems, parseConfigText } from '../../../core/config/load-config.js';
import { ControlClient } from '../../../core/control/control-client.js';
import type { SysfsBackend } from '../../../core/host/index.js';
import { createLogger } from '../../../core/logger.js';
import type { PluginSource } from '../../../core/kernel/plugin-plan.js';

/** A running agent on a tree. */
export interface TreeAgent {
  readonly agent: Agent;
  /** Runs a command and returns its JSON result; throws the command's error. */
  json<T>(argv: readonly string[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts an agent whose host root is `root`. */
export async function bootOnTree(
  root: string,
  wrapHostBackend?: (b: SysfsBackend) => SysfsBackend,
  plugins: { readonly sources?: readonly PluginSource[]; readonly sections?: Record<string, unknown> } = {},
): Promise<TreeAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-tree-'));
  const socket = join(dir, 'control.sock');
  const text = stringify({
    host: { root, simulated: false, sampleInterval: 3600 },
    control: { socket },
    state: { dir: join(dir, 'state') },
    log: { level: 'silent' },
    plugins: plugins.sections ?? {},
  });
  const configFile = join(dir, 'vpmd.yaml');
  await writeFile(configFile, text, { mode: 0o600 });
  const parsed = parseConfigText(text, configFile);
  assertNoProblems(configFile, parsed.problems);
  const agent = new Agent({
    config: parsed.config,
    configFile,
    builtins: plugins.sources ?? [],
    log: createLogger({ level: 'silent' }),
    ...(wrapHostBackend === undefined ? {} : { wrapHostBackend }),
  });
  try {
    await agent.start();
  } catch (e) {
    await agent.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    agent,
    json: async <T>(argv: readonly string[]): Promise<T> => {
      const c = await ControlClient.connect(socket);
      try {
        const r = await c.run(argv);
        if (r.type === 'error') throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.result as T;
      } finally {
        c.close();
      }
    },
    stop: async () => {
      await agent.stop();
      // The state directory may still be settling after stop on a busy machine: retry.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}
