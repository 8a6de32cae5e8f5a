/**
 * Boots a real agent for tests: a freshly generated simulated host, a private state directory
 * and control socket, and the plugins under test (manifests or sources). Plugin authors use it
 * to test their plugin the way operators run it: through commands on the control socket.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Agent } from '../core/agent.js';
import { createLogger } from '../core/logger.js';
import { parseConfigText, assertNoProblems } from '../core/config/load-config.js';
import { ControlClient, type RunReply } from '../core/control/control-client.js';
import type { PluginManifest } from '../core/kernel/plugin-contract.js';
import type { PluginSource } from '../core/kernel/plugin-plan.js';
import type { PluginStatus } from '../core/kernel/kernel.js';
import { generateSimulatedHost, type SimProfileName } from '../core/sim/index.js';

/** Options of {@link bootAgent}. */
export interface BootOptions {
  /** Plugins to load (manifests are wrapped as sources of kind and origin `testkit`). */
  readonly plugins: ReadonlyArray<PluginManifest | PluginSource>;
  /** Config sections by plugin name; every given plugin gets `{}` unless set here. */
  readonly sections?: Readonly<Record<string, Record<string, unknown>>>;
  /** Simulated host profile (default `intel-acpi-cpufreq-8`). */
  readonly profile?: SimProfileName;
  /** Extra core config (merged over the test defaults), e.g. `{ libvirt: { bus: 'session', driver: 'Test' } }`. */
  readonly core?: Readonly<Record<string, unknown>>;
  /** Log level (default silent; `VPMD_TEST_LOG=debug` overrides). */
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Start timeout in seconds (default 10). */
  readonly startTimeout?: number;
  /**
   * Runs on the generated host before the agent opens it, e.g. to start simulated VMs:
   * `async (root) => { const k = await openSimulatedHost(root); k.vms.start(...); await k.sync(); }`.
   */
  readonly prepareHost?: (hostRoot: string) => Promise<void>;
}

/** A running test agent. */
export interface BootedAgent {
  readonly agent: Agent;
  readonly dir: string;
  readonly hostRoot: string;
  readonly socket: string;
  readonly configFile: string;
  /** Runs a command as the socket owner (Administrator), like `vpmctl`. */
  run(argv: readonly string[], stdin?: readonly string[]): Promise<RunReply>;
  /** Runs a command and returns its JSON result, throwing its error message on failure. */
  json<T = unknown>(argv: readonly string[], stdin?: readonly string[]): Promise<T>;
  status(): Promise<PluginStatus[]>;
  /** Stops the agent and removes its directory. */
  stop(): Promise<void>;
}

/** A test agent's files, all below its own directory. */
export interface TestAgentFiles {
  /** The simulated host's root. */
  readonly hostRoot: string;
  readonly socket: string;
  readonly stateDir: string;
  readonly configFile: string;
}

/** Where a test agent living in `dir` keeps its simulated host, control socket, state and config. */
export function testAgentFiles(dir: string): TestAgentFiles {
  return {
    hostRoot: join(dir, 'host'),
    socket: join(dir, 'control.sock'),
    stateDir: join(dir, 'state'),
    configFile: join(dir, 'vpmd.yaml'),
  };
}

/**
 * The config of a test agent living in `dir` ({@link testAgentFiles}): its simulated host sampled
 * every second, its own control socket and state directory, management on loopback only, and the
 * plugins' sections. `extra` adds or replaces top-level sections (`log`, `kernel`, `libvirt` ...).
 * Used by {@link bootAgent}, and by tests that start `vpmd` as its own process with this config.
 */
export function testAgentConfig(
  dir: string,
  plugins: Readonly<Record<string, Record<string, unknown>>>,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const files = testAgentFiles(dir);
  return {
    host: { root: files.hostRoot, simulated: true, sampleInterval: 1 },
    control: { socket: files.socket },
    state: { dir: files.stateDir },
    management: { address: '127.0.0.1', allow: ['127.0.0.0/8', '::1/128'] },
    plugins,
    ...extra,
  };
}

function isSource(p: PluginManifest | PluginSource): p is PluginSource {
  return 'origin' in p && 'manifest' in p;
}

/** Boots an agent with `opts.plugins` on a simulated host. */
export async function bootAgent(opts: BootOptions): Promise<BootedAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-testkit-'));
  const { hostRoot, socket, configFile } = testAgentFiles(dir);
  await generateSimulatedHost(hostRoot, { profile: opts.profile ?? 'intel-acpi-cpufreq-8' });
  await opts.prepareHost?.(hostRoot);
  const sources: PluginSource[] = opts.plugins.map((p) =>
    isSource(p) ? p : { manifest: p, kind: 'testkit', origin: 'testkit' },
  );
  const plugins: Record<string, Record<string, unknown>> = {};
  for (const s of sources) {
    const name = (s.manifest as { name?: unknown }).name;
    if (typeof name === 'string') plugins[name] = opts.sections?.[name] ?? {};
  }
  for (const [k, v] of Object.entries(opts.sections ?? {})) plugins[k] ??= v;
  const config = testAgentConfig(dir, plugins, {
    log: { level: opts.logLevel ?? 'silent' },
    kernel: { startTimeout: opts.startTimeout ?? 10, stopTimeout: 5 },
    ...opts.core,
  });
  const text = stringify(config);
  await writeFile(configFile, text, { mode: 0o600 });
  const parsed = parseConfigText(text, configFile);
  assertNoProblems(configFile, parsed.problems);
  const envLevel = process.env.VPMD_TEST_LOG as BootOptions['logLevel'] | undefined;
  const log = createLogger({ level: envLevel ?? parsed.config.log.level });
  const agent = new Agent({ config: parsed.config, configFile, builtins: sources, log });
  try {
    await agent.start();
  } catch (e) {
    await agent.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const run = async (argv: readonly string[], stdin?: readonly string[]): Promise<RunReply> => {
    const c = await ControlClient.connect(socket);
    try {
      return await c.run(argv, stdin ? { stdin } : {});
    } finally {
      c.close();
    }
  };
  return {
    agent,
    dir,
    hostRoot,
    socket,
    configFile,
    run,
    json: async <T>(argv: readonly string[], stdin?: readonly string[]): Promise<T> => {
      const r = await run(argv, stdin);
      if (r.type === 'error') throw Object.assign(new Error(r.error.message), { code: r.error.code });
      return r.result as T;
    },
    status: () => agent.status(),
    stop: async () => {
      await agent.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
