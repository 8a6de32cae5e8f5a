/**
 * The plugin kernel: starts planned plugins in dependency order, each within a timeout; rolls
 * back a plugin whose start fails (the others keep running); stops them in reverse order, each
 * within a timeout; reports state and health per plugin.
 */
import { VpmdError, toVpmdError } from '../errors.js';
import type { PluginState } from '../contracts/events.js';
import { createPluginContext, releasePlugin, type ContextHandle, type CoreServices } from './plugin-context.js';
import type { PluginHealth, PluginInstance } from './plugin-contract.js';
import type { PlannedPlugin } from './plugin-plan.js';
import { declareVocabulary } from './vocabulary.js';

/** Timeouts of the kernel, in milliseconds. */
export interface KernelTimeouts {
  readonly startMs: number;
  readonly stopMs: number;
  /** How long `health()` may take before the plugin is reported degraded. */
  readonly healthMs?: number;
}

/** What `vpmctl status` shows for one plugin. */
export interface PluginStatus {
  readonly name: string;
  readonly version: string;
  readonly origin: string;
  readonly state: PluginState;
  readonly since: string;
  readonly health?: PluginHealth;
  readonly error?: { readonly code: string; readonly message: string };
}

interface Slot {
  readonly plan: PlannedPlugin;
  state: PluginState;
  since: number;
  handle?: ContextHandle;
  instance?: PluginInstance;
  pushed?: PluginHealth;
  error?: VpmdError;
}

/** Runs `fn` with a deadline; the signal aborts when the deadline passes. */
async function withTimeout<T>(
  ms: number,
  onTimeout: () => VpmdError,
  fn: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = onTimeout();
      ac.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => fn(ac.signal)), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The plugin kernel. */
export class Kernel {
  private readonly slots: Slot[];
  private started: Slot[] = [];

  constructor(
    private readonly s: CoreServices,
    plugins: readonly PlannedPlugin[],
    private readonly timeouts: KernelTimeouts,
  ) {
    this.slots = plugins.map((plan) => ({ plan, state: plan.enabled ? 'pending' : 'disabled', since: Date.now() }));
    // Before any register(): a plugin subscribing to another's event type, or listing every
    // event type, sees the whole vocabulary whatever the start order.
    declareVocabulary(
      s.bus,
      plugins.map((p) => p.manifest),
    );
  }

  /** Starts every enabled plugin in order. Never throws for a plugin's failure: see {@link status}. */
  async start(): Promise<void> {
    for (const slot of this.slots) {
      if (slot.state !== 'pending') continue;
      const missing = this.failedDependency(slot);
      if (missing) {
        this.fail(
          slot,
          new VpmdError(
            'E_PLUGIN_DEPENDENCY',
            `plugin ${slot.plan.manifest.name} not started: it requires ${missing.capability}, whose provider ${missing.provider} failed`,
            {
              plugin: slot.plan.manifest.name,
              capability: missing.capability,
            },
          ),
        );
        continue;
      }
      await this.startOne(slot);
    }
  }

  /** Stops running plugins in reverse start order. */
  async stop(): Promise<void> {
    for (const slot of [...this.started].reverse()) await this.stopOne(slot);
    this.started = [];
  }

  /** Names of enabled plugins not yet started (pending or starting), in start order. */
  starting(): string[] {
    return this.slots.filter((s) => s.state === 'pending' || s.state === 'starting').map((s) => s.plan.manifest.name);
  }

  /** State and health of every plugin, in start order. */
  async status(): Promise<PluginStatus[]> {
    return Promise.all(this.slots.map((slot) => this.statusOf(slot)));
  }

  private failedDependency(slot: Slot): { capability: string; provider: string } | undefined {
    for (const cap of slot.plan.manifest.requires ?? []) {
      const provider = this.slots.find((o) => (o.plan.manifest.provides ?? []).includes(cap) && o.plan.enabled);
      if (provider && provider.state !== 'running') return { capability: cap, provider: provider.plan.manifest.name };
    }
    return undefined;
  }

  private transition(slot: Slot, to: PluginState, error?: VpmdError): void {
    const from = slot.state;
    slot.state = to;
    slot.since = Date.now();
    this.s.bus.emit('plugin.state.v1', {
      plugin: slot.plan.manifest.name,
      from,
      to,
      ...(error ? { error: error.message } : {}),
    });
  }

  private fail(slot: Slot, err: VpmdError): void {
    slot.error = err;
    this.s.log.error(
      { plugin: slot.plan.manifest.name, code: err.code, err },
      `plugin ${slot.plan.manifest.name} failed: ${err.message}`,
    );
    this.transition(slot, 'failed', err);
  }

  private async startOne(slot: Slot): Promise<void> {
    const m = slot.plan.manifest;
    this.transition(slot, 'starting');
    const t0 = Date.now();
    try {
      await withTimeout(
        this.timeouts.startMs,
        () =>
          new VpmdError('E_PLUGIN_START_TIMEOUT', `plugin ${m.name} did not start within ${this.timeouts.startMs} ms`, {
            plugin: m.name,
          }),
        async (signal) => {
          slot.handle = createPluginContext(this.s, m, slot.plan.config, (h) => (slot.pushed = h));
          slot.instance = await m.register(slot.handle.ctx);
          if (!slot.instance || typeof slot.instance.start !== 'function' || typeof slot.instance.stop !== 'function') {
            throw new VpmdError(
              'E_PLUGIN_MANIFEST',
              `plugin ${m.name}: register() must return { start, stop, health? }`,
              { plugin: m.name },
            );
          }
          await slot.instance.start(signal);
          const missing = (m.provides ?? []).filter((id) => this.s.capabilities.providerOf(id) !== m.name);
          if (missing.length > 0) {
            throw new VpmdError(
              'E_PLUGIN_START',
              `plugin ${m.name} declares ${missing.join(', ')} under provides but did not provide it`,
              { plugin: m.name },
            );
          }
        },
      );
    } catch (e) {
      const err = toVpmdError(e);
      const wrapped =
        err.code === 'E_INTERNAL'
          ? new VpmdError(
              'E_PLUGIN_START',
              `plugin ${m.name} failed to start: ${err.message}`,
              { plugin: m.name },
              { cause: e },
            )
          : err;
      await this.rollback(slot);
      this.fail(slot, wrapped);
      return;
    }
    this.started.push(slot);
    this.s.log.info({ plugin: m.name, version: m.version, ms: Date.now() - t0 }, `plugin ${m.name} started`);
    this.transition(slot, 'running');
  }

  /** Undoes a partial start: the plugin's stop (best effort, bounded), then its registrations. */
  private async rollback(slot: Slot): Promise<void> {
    const name = slot.plan.manifest.name;
    slot.handle?.close();
    if (slot.instance) {
      try {
        await withTimeout(
          this.timeouts.stopMs,
          () => new VpmdError('E_PLUGIN_STOP_TIMEOUT', `plugin ${name}: stop during rollback timed out`),
          () => slot.instance?.stop(),
        );
      } catch (e) {
        this.s.log.warn({ plugin: name, err: e }, 'stop during rollback failed');
      }
    }
    const released = releasePlugin(this.s, name);
    this.s.log.info({ plugin: name, released }, `plugin ${name} rolled back`);
  }

  private async stopOne(slot: Slot): Promise<void> {
    const name = slot.plan.manifest.name;
    this.transition(slot, 'stopping');
    slot.handle?.close();
    try {
      await withTimeout(
        this.timeouts.stopMs,
        () =>
          new VpmdError('E_PLUGIN_STOP_TIMEOUT', `plugin ${name} did not stop within ${this.timeouts.stopMs} ms`, {
            plugin: name,
          }),
        () => slot.instance?.stop(),
      );
    } catch (e) {
      slot.error = toVpmdError(e);
      this.s.log.error({ plugin: name, err: e }, `plugin ${name} did not stop cleanly`);
    }
    releasePlugin(this.s, name);
    this.transition(slot, 'stopped');
  }

  private async statusOf(slot: Slot): Promise<PluginStatus> {
    const m = slot.plan.manifest;
    const base = {
      name: m.name,
      version: m.version,
      origin: slot.plan.origin,
      state: slot.state,
      since: new Date(slot.since).toISOString(),
      ...(slot.error ? { error: { code: slot.error.code, message: slot.error.message } } : {}),
    };
    if (slot.state !== 'running') return base;
    let health: PluginHealth = slot.pushed ?? { status: 'ok' };
    if (slot.instance?.health) {
      const healthMs = this.timeouts.healthMs ?? 2000;
      try {
        health = await withTimeout(
          healthMs,
          () => new VpmdError('E_TIMEOUT', `health check did not answer within ${healthMs} ms`),
          () => slot.instance!.health!(),
        );
      } catch (e) {
        health = { status: 'degraded', detail: toVpmdError(e).message };
      }
    }
    return { ...base, health };
  }
}
