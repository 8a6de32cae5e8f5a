/**
 * The composition root of the agent: builds the core services from a checked configuration,
 * plans and starts the plugins, opens the control socket, and stops everything in reverse.
 * Nothing here is a module singleton: two agents can run in one process (the tests do).
 */
import { lockStateDir, type StateLock } from './state/state-lock.js';
import type { Logger } from './logger.js';
import { VpmdError } from './errors.js';
import type { CoreConfig } from './config/core-schema.js';
import { assertNoProblems, type ConfigProblem } from './config/load-config.js';
import { AuditLog } from './services/audit-log.js';
import type { CommandOutcome } from './services/commands.js';
import { createServices, withHost } from './core-services.js';
import type { Principal } from './access/privileges.js';
import { Kernel, type PluginStatus } from './kernel/kernel.js';
import { planPlugins, type PluginSource } from './kernel/plugin-plan.js';
import { validatePlugins } from './kernel/plugin-validate.js';
import { loadExternalPlugins } from './kernel/plugin-loader.js';
import type { CoreServices } from './kernel/plugin-context.js';
import { ControlServer } from './control/control-server.js';
import { openHost, type OpenedHost } from './host-runtime.js';
import type { SysfsBackend } from './host/sysfs-backend.js';
import { registerCoreCommands } from './commands/index.js';
import { HostPowerService } from './host-power/index.js';
import { HOST_POWER } from './contracts/host-power.js';
import { AUDIT_LOG } from './contracts/audit-log.js';
import { BMCS } from './contracts/bmc.js';
import { BmcRouter } from './bmc/bmc-router.js';
import { CPU_LIMITS } from './contracts/cpu-limits.js';
import { CpuLimitsService } from './cpu-limits/cpu-limits-service.js';
import { CORE_OWNER } from './kernel/core-capabilities.js';
import { PLUGIN_STATUS } from './contracts/plugin-status.js';

/** What the agent needs to be built. */
export interface AgentOptions {
  readonly config: CoreConfig;
  /** The configuration file (external plugin paths are relative to it). */
  readonly configFile: string;
  /** Built-in plugins. */
  readonly builtins: readonly PluginSource[];
  readonly log: Logger;
  /**
   * Wraps the host backend the agent opens (tests inject faults with it; see
   * `FaultInjectingSysfs`). Default: the backend as opened.
   */
  readonly wrapHostBackend?: (backend: SysfsBackend) => SysfsBackend;
}

/**
 * Checks a configuration completely (core, external modules, plugin sections, dependencies).
 * `pluginChecks` (what `vpmd check-config` asks for) adds each enabled plugin's own checks
 * (`manifest.validate`); the agent leaves them out at start, where the plugin refuses the same
 * things itself and only that plugin fails, not the agent.
 */
export async function checkConfiguration(
  config: CoreConfig,
  configFile: string,
  builtins: readonly PluginSource[],
  opts: { readonly pluginChecks?: boolean } = {},
): Promise<{ problems: ConfigProblem[]; sources: PluginSource[] }> {
  const ext = await loadExternalPlugins(config, configFile);
  const sources = [...builtins, ...ext.sources];
  const plan = planPlugins(sources, config);
  const own = opts.pluginChecks === true ? await validatePlugins(plan) : [];
  return { problems: [...ext.problems, ...plan.problems, ...own], sources };
}

/** A running vpmd agent. */
export class Agent {
  private kernel: Kernel | undefined;
  private control: ControlServer | undefined;
  private host: OpenedHost | undefined;
  private services: CoreServices | undefined;
  private audit: AuditLog | undefined;
  private lock: StateLock | undefined;
  private cpuLimits: CpuLimitsService | undefined;
  private stopping: Promise<void> | undefined;
  readonly startedAt = new Date();

  constructor(private readonly opts: AgentOptions) {}

  /**
   * Starts the agent. A plugin that fails is contained (see `status`); a core failure (bad
   * config, unusable socket or state directory) throws and leaves nothing running.
   */
  async start(): Promise<void> {
    const { config, log } = this.opts;
    const { problems, sources } = await checkConfiguration(config, this.opts.configFile, this.opts.builtins);
    assertNoProblems(this.opts.configFile, problems);
    const plan = planPlugins(sources, config);

    // Before any state is read: a second agent on this state.dir refuses to start.
    const lock = await lockStateDir(config.state.dir);
    this.lock = lock;
    let host: OpenedHost;
    let audit: AuditLog;
    const parts = createServices(config, log);
    const { bus, scheduler, telemetry } = parts;
    try {
      audit = new AuditLog(config.state.dir, log.child({ component: 'audit' }));
      await audit.load();
      host = await openHost(config.host, scheduler, telemetry, log.child({ component: 'host' }), {
        ...(this.opts.wrapHostBackend === undefined ? {} : { wrapBackend: this.opts.wrapHostBackend }),
      });
    } catch (e) {
      await lock.release();
      throw e;
    }
    this.audit = audit;
    bus.on('core', 'audit.v1', (e) => {
      audit.record(e);
    });
    this.host = host;
    const services = withHost(parts, host.model);
    this.services = services;
    // The core's own capabilities, there before the first plugin starts.
    const hostPower = new HostPowerService(
      {
        ...(config.hostPower.busAddress !== undefined ? { busAddress: config.hostPower.busAddress } : {}),
        timeoutMs: Math.round(config.hostPower.timeout * 1000),
        simulated: config.host.simulated,
      },
      { access: services.access, bus, rtc: host.model.rtc, log: log.child({ component: 'host-power' }) },
    );
    services.capabilities.provide(CORE_OWNER, HOST_POWER.id, hostPower);
    services.capabilities.provide(CORE_OWNER, AUDIT_LOG.id, audit);
    services.capabilities.provide(CORE_OWNER, BMCS.id, new BmcRouter((id) => services.capabilities.get(id)));
    const cpuLimits = new CpuLimitsService({
      cpufreq: host.model.cpufreq,
      state: services.state.scope('core'),
      log: log.child({ component: 'cpu-limits' }),
    });
    this.cpuLimits = cpuLimits;
    services.capabilities.provide(CORE_OWNER, CPU_LIMITS.id, cpuLimits);
    // The kernel is built just below; asked only once plugins run.
    services.capabilities.provide(CORE_OWNER, PLUGIN_STATUS.id, { list: () => this.status() });
    const kernel = new Kernel(services, plan.plugins, {
      startMs: config.kernel.startTimeout * 1000,
      stopMs: config.kernel.stopTimeout * 1000,
    });
    this.kernel = kernel;
    registerCoreCommands(services, {
      status: () => this.status(),
      audit,
      startedAt: this.startedAt,
      simulated: host.simulated,
      hostRoot: config.host.root,
    });
    const control = new ControlServer(config.control.socket, services.commands, log.child({ component: 'control' }));
    try {
      await control.start();
    } catch (e) {
      await host.close();
      await lock.release();
      throw e;
    }
    this.control = control;
    // The socket answers from here on; a plugin's command waits until its plugin has started.
    let startupDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (startupDone = r));
    services.commands.setStartupGate({ starting: () => kernel.starting(), done });
    try {
      // Windows a crashed run left behind go back before any plugin claims anew.
      await cpuLimits.restoreLeftovers();
      await kernel.start();
    } finally {
      startupDone();
      services.commands.setStartupGate(undefined);
    }
    const st = await kernel.status();
    log.info(
      { plugins: st.map((p) => ({ name: p.name, state: p.state })) },
      `vpmd started: ${st.filter((p) => p.state === 'running').length} plugin(s) running, ${st.filter((p) => p.state === 'failed').length} failed`,
    );
  }

  /** Plugin states and health. */
  async status(): Promise<PluginStatus[]> {
    if (!this.kernel) throw new VpmdError('E_INTERNAL', 'agent not started');
    return this.kernel.status();
  }

  /**
   * Runs a registered command as `principal`, with the same privilege check and audit as every
   * surface (for embedders and tests; operators use the control socket).
   */
  async runCommand(argv: readonly string[], principal: Principal, stdin?: readonly string[]): Promise<CommandOutcome> {
    if (!this.services) throw new VpmdError('E_INTERNAL', 'agent not started');
    return this.services.commands.run(
      argv,
      { principal, progress: () => {}, signal: new AbortController().signal },
      stdin,
    );
  }

  /** Stops plugins in reverse order, then the core. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.control?.stop();
      await this.kernel?.stop();
      await this.cpuLimits?.restoreAll();
      await this.host?.close();
      await this.audit?.flush();
      await this.lock?.release();
      this.opts.log.info('vpmd stopped');
    })();
    return this.stopping;
  }
}
