/**
 * The host-sleep service: holds a logind session of the core's host power (`host-power@1`), the
 * discovery result, the delay inhibitor and the suspend operation in flight. It follows
 * PrepareForSleep to record when the host really went down and came back, whoever asked logind
 * for it. The D-Bus calls, their bounds and the RTC alarm around the sleep call are the core's.
 */
import {
  HOST_POWER,
  VpmdError,
  type HostPowerState,
  type InhibitorLock,
  type LogindSession,
  type PluginContext,
  type Principal,
  type SleepSupport,
  type SleepTarget,
  type SuspendOutcome,
  type SuspendRequest,
} from 'vpmd';
import {
  changedTargets,
  discoverSleep,
  LIBVIRT_NAME,
  resultKey,
  supportedTargets,
  VERB_OF,
} from './sleep-discovery.js';
import { OPERATION_SPEC, type SleepOperation } from './sleep-operation.js';
import { resolveWakeTime } from './wake-time.js';

/** Settings of the service (from the plugin config). */
export interface SleepServiceOptions {
  readonly minWakeSeconds: number;
  /** How long to wait for PrepareForSleep(true) once logind accepted a request. */
  readonly prepareTimeoutMs: number;
  /** *WithFlags flags: 1 = inhibitors bind privileged callers too. */
  readonly sleepFlags: bigint;
  readonly rtcDevice: string;
}

/** Why discovery ran. */
export type DiscoveryReason = 'start' | 'resume' | 'request';

/** Who suspended the host when vpmd did not (another program asked logind). */
const EXTERNAL: Principal = { name: 'logind', role: 'ReadOnly', origin: 'internal' };

function who(p: Principal): string {
  return `${p.name}@${p.origin}${p.address === undefined ? '' : `(${p.address})`}`;
}

/** See the module comment. */
export class SleepService {
  private client: LogindSession | undefined;
  private logindProblem: string | undefined;
  private current: SleepSupport | undefined;
  private lock: InhibitorLock | undefined;
  private power: HostPowerState = 'on';
  private op: { record: SleepOperation; principal: Principal } | undefined;
  private prepareTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly changeListeners = new Set<(s: SleepSupport) => void>();
  private stopped = false;
  /** PrepareForSleep and timeout handling, one at a time and in signal order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: PluginContext,
    private readonly opts: SleepServiceOptions,
  ) {}

  /** Connects to logind (a missing one is logged, not fatal), takes the delay lock, discovers. */
  async start(): Promise<void> {
    await this.connect();
    await this.discover('start');
  }

  /** Releases the lock and the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.prepareTimer);
    // Let a transition being recorded finish its state write before the store goes away.
    await this.chain;
    this.lock?.release();
    this.lock = undefined;
    this.unsubscribe?.();
    this.client?.close();
    this.client = undefined;
  }

  /** Calls `fn` after every discovery whose result differs from the previous one. */
  onChange(fn: (s: SleepSupport) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** The host's power state as vpmd knows it. */
  state(): HostPowerState {
    return this.power;
  }

  /** Whether the delay inhibitor is held. */
  holdsLock(): boolean {
    return this.lock !== undefined;
  }

  /** The operation in flight, if any. */
  inFlight(): SleepOperation | undefined {
    return this.op?.record;
  }

  /** The last operation recorded (persisted: survives restarts). */
  lastRecord(): Promise<SleepOperation | undefined> {
    return this.ctx.state.read('last-operation', OPERATION_SPEC);
  }

  /** The last discovery (running one first if none ran). */
  async support(): Promise<SleepSupport> {
    return this.current ?? this.discover('request');
  }

  /** Runs discovery; emits `host.sleep.v1` when the result changed. */
  async discover(reason: DiscoveryReason): Promise<SleepSupport> {
    if (this.client !== undefined && !this.client.usable) this.dropClient('the D-Bus connection failed');
    if (this.client === undefined && reason !== 'start') await this.connect();
    const client = this.client;
    const next = await discoverSleep(
      this.ctx.host.sleep,
      client === undefined ? undefined : (target) => client.can(target),
      this.logindProblem,
    );
    if (next.logindProblem !== undefined && next.logindProblem !== this.current?.logindProblem) {
      this.ctx.log.warn(
        { problem: next.logindProblem },
        'logind unavailable: no sleep state is offered (the kernel view is still reported)',
      );
    }
    const before = this.current;
    this.current = next;
    if (before === undefined || resultKey(before) !== resultKey(next)) {
      this.ctx.events.emit('host.sleep.v1', {
        supported: supportedTargets(next),
        changed: changedTargets(before, next),
        reason,
        ...(next.logindProblem === undefined ? {} : { logindProblem: next.logindProblem }),
        timestamp: next.discoveredAt,
      });
      for (const fn of [...this.changeListeners]) fn(next);
    }
    // The lock comes after discovery: a frozen logind then costs one timeout at start, not two.
    if (next.logindProblem === undefined && this.power === 'on') await this.takeLock();
    return next;
  }

  /**
   * Suspends the host (or, with dryRun, says what it would do). The privilege check is the
   * caller's: the command registry or the capability wrapper.
   */
  async suspend(req: SuspendRequest, by: Principal, cause: string): Promise<SuspendOutcome> {
    this.assertIdle();
    const wake = resolveWakeTime(req, this.opts.minWakeSeconds, Date.now());
    const support = await this.support();
    const entry = support.targets.find((t) => t.target === req.target);
    if (entry === undefined || !entry.supported) {
      if (support.logindProblem !== undefined) {
        throw new VpmdError(
          'E_HOST_POWER_UNAVAILABLE',
          `${LIBVIRT_NAME[req.target]} needs systemd-logind, which is unavailable: ${support.logindProblem}`,
          { target: req.target },
        );
      }
      throw new VpmdError(
        'E_LIBVIRT_CAPS_SLEEP_UNSUPPORTED',
        `${LIBVIRT_NAME[req.target]} is not supported by this host: logind Can${VERB_OF[req.target]} answers ${entry?.logind ?? 'nothing'}; kernel: ${entry?.kernel ?? 'unknown'}`,
        {
          target: req.target,
          logind: entry?.logind ?? 'unavailable',
        },
      );
    }
    const verb = VERB_OF[req.target];
    const flagged = `${verb}WithFlags(${this.opts.sleepFlags})`;
    const steps = [
      this.lock === undefined
        ? 'take a logind delay inhibitor (sleep)'
        : 'keep the logind delay inhibitor already held',
      ...(wake === undefined
        ? []
        : [
            `set the ${this.opts.rtcDevice} wake alarm to ${new Date(wake * 1000).toISOString()} (clear, write ${wake}, read back)`,
          ]),
      `call logind ${flagged} (${verb}(false) on a logind without it)`,
      'on PrepareForSleep(true): persist the operation, release the inhibitor; on PrepareForSleep(false): record the resume',
    ];
    if (req.dryRun === true)
      return { target: req.target, ...(wake === undefined ? {} : { wakeAlarm: wake }), steps, dryRun: true };
    return this.run(req.target, wake, by, steps, cause);
  }

  /** @throws E_LIBVIRT_CAPS_SUSPEND_BUSY while an operation is in flight. */
  private assertIdle(): void {
    if (this.op === undefined) return;
    const r = this.op.record;
    throw new VpmdError(
      'E_LIBVIRT_CAPS_SUSPEND_BUSY',
      `Suspend operation already in progress (${r.target} requested by ${r.requestedBy} at ${new Date(r.requestedAt).toISOString()}, host ${this.power})`,
      {
        target: r.target,
        requestedBy: r.requestedBy,
        state: this.power,
      },
    );
  }

  private async run(
    target: SleepTarget,
    wake: number | undefined,
    by: Principal,
    planned: readonly string[],
    cause: string,
  ): Promise<SuspendOutcome> {
    // Checked again with no await before claiming the slot: two requests may have passed the first check.
    this.assertIdle();
    const record: SleepOperation = {
      target,
      requestedBy: who(by),
      requestedAt: Date.now(),
      state: 'requested',
      ...(wake === undefined ? {} : { wakeAlarm: wake }),
    };
    const op = { record, principal: by };
    this.op = op;
    this.setPower('suspending', target, by);
    const done: string[] = [];
    try {
      const client = this.client;
      if (client === undefined)
        throw new VpmdError(
          'E_HOST_POWER_UNAVAILABLE',
          `systemd-logind is unavailable: ${this.logindProblem ?? 'not connected'}`,
        );
      if (this.lock === undefined)
        this.lock = await client.inhibit('sleep', 'vpmd', 'vpmd records the suspend before the host sleeps', 'delay');
      done.push(`delay inhibitor held (fd ${this.lock.fd})`);
      await this.persist();
      // The core sets the alarm, calls logind, and clears the alarm again if the call fails.
      const out = await client.suspend(
        {
          target,
          flags: this.opts.sleepFlags,
          rtcDevice: this.opts.rtcDevice,
          ...(wake === undefined ? {} : { wakeAlarm: wake }),
        },
        by,
        cause,
      );
      done.push(...out.steps);
      // PrepareForSleep(true) may already have been handled (it can overtake this continuation).
      if (this.op === op && op.record.state === 'requested') {
        op.record = { ...op.record, state: 'accepted' };
        await this.persist();
        this.prepareTimer = setTimeout(
          () => this.enqueue(() => this.prepareTimedOut(), 'suspend timeout handling failed'),
          this.opts.prepareTimeoutMs,
        );
      }
      return { target, ...(wake === undefined ? {} : { wakeAlarm: wake }), steps: done, dryRun: false };
    } catch (e) {
      if (this.op === op) await this.finish('failed', e instanceof Error ? e.message : String(e));
      this.ctx.log.warn({ err: e, planned }, 'suspend failed before the host went down; nothing is left armed');
      throw e;
    }
  }

  /** logind accepted but the host never went down (inhibited, or refused after the call). */
  private async prepareTimedOut(): Promise<void> {
    if (this.op === undefined || this.op.record.state !== 'accepted') return;
    const detail = `no PrepareForSleep within ${this.opts.prepareTimeoutMs} ms after logind accepted the request`;
    if (this.op.record.wakeAlarm !== undefined)
      await this.ctx.host.rtc.clearWakeAlarm(this.opts.rtcDevice).catch(() => undefined);
    this.ctx.access.audit(this.op.principal, 'host suspend', 'failed', detail);
    await this.finish('failed', detail);
  }

  private async onPrepareForSleep(start: boolean): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    if (start) {
      clearTimeout(this.prepareTimer);
      // Someone else asked logind: record it all the same.
      this.op ??= {
        record: { target: 'mem', requestedBy: who(EXTERNAL), requestedAt: now, state: 'accepted', external: true },
        principal: EXTERNAL,
      };
      this.op.record = { ...this.op.record, state: 'suspended', wentDownAt: now };
      try {
        await this.persist();
      } finally {
        // Releasing the delay lock is what lets logind proceed: never keep it, even if the write failed.
        this.lock?.release();
        this.lock = undefined;
      }
      this.setPower(
        'suspended',
        this.op.record.external === true ? undefined : this.op.record.target,
        this.op.principal,
      );
      this.ctx.access.audit(
        this.op.principal,
        'host suspend',
        'ok',
        `host went down at ${new Date(now).toISOString()}`,
      );
      return;
    }
    if (this.op === undefined) return;
    this.op.record = { ...this.op.record, resumedAt: now };
    this.setPower('resuming', this.op.record.external === true ? undefined : this.op.record.target, this.op.principal);
    await this.clearOwnAlarm(this.op.record.wakeAlarm);
    await this.takeLock();
    await this.discover('resume').catch((err: unknown) => this.ctx.log.warn({ err }, 'discovery after resume failed'));
    this.ctx.access.audit(this.op.principal, 'host resume', 'ok', `host came back at ${new Date(now).toISOString()}`);
    await this.finish('resumed');
  }

  /**
   * Woken by something else (Wake-on-LAN, power button) before the alarm fired: a pending alarm
   * of ours would wake the host at a time nobody expects any more, so it goes.
   */
  private async clearOwnAlarm(alarm: number | undefined): Promise<void> {
    if (alarm === undefined) return;
    try {
      const rtc = await this.ctx.host.rtc.read(this.opts.rtcDevice);
      if (rtc.wakeAlarm === alarm) await this.ctx.host.rtc.clearWakeAlarm(this.opts.rtcDevice);
    } catch (err) {
      this.ctx.log.warn({ err, alarm }, 'could not clear the pending wake alarm after resume');
    }
  }

  private async finish(state: 'resumed' | 'failed', detail?: string): Promise<void> {
    clearTimeout(this.prepareTimer);
    const op = this.op;
    if (op === undefined) return;
    op.record = { ...op.record, state, ...(detail === undefined ? {} : { detail }) };
    await this.persist().catch((err: unknown) => this.ctx.log.error({ err }, 'could not persist the suspend record'));
    this.op = undefined;
    this.setPower('on', op.record.external === true ? undefined : op.record.target, op.principal);
  }

  private setPower(state: HostPowerState, target: SleepTarget | undefined, by: Principal): void {
    this.power = state;
    this.ctx.events.emit('host.power.v1', {
      state,
      ...(target === undefined ? {} : { target }),
      timestamp: Date.now(),
      requestedBy: who(by),
    });
  }

  private async persist(): Promise<void> {
    if (this.op !== undefined) await this.ctx.state.write('last-operation', OPERATION_SPEC, this.op.record);
  }

  private async connect(): Promise<void> {
    try {
      const client = await this.ctx.capabilities.get(HOST_POWER).openLogind();
      this.client = client;
      this.logindProblem = undefined;
      this.unsubscribe = client.onPrepareForSleep((start) => {
        this.enqueue(() => this.onPrepareForSleep(start), `PrepareForSleep(${start}) handling failed`);
      });
    } catch (e) {
      this.logindProblem = e instanceof Error ? e.message : String(e);
      this.ctx.log.warn({ problem: this.logindProblem }, 'systemd-logind is not available');
    }
  }

  private enqueue(fn: () => Promise<void>, what: string): void {
    this.chain = this.chain.then(fn).catch((err: unknown) => this.ctx.log.error({ err }, what));
  }

  private dropClient(why: string): void {
    this.ctx.log.warn({ why }, 'dropping the logind connection; the next discovery reconnects');
    this.lock?.release();
    this.lock = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.client?.close();
    this.client = undefined;
  }

  /** Holds a delay lock so a suspend by anyone waits until vpmd has persisted its state. */
  private async takeLock(): Promise<void> {
    if (this.lock !== undefined || this.client === undefined) return;
    try {
      this.lock = await this.client.inhibit(
        'sleep',
        'vpmd',
        'vpmd records the suspend before the host sleeps',
        'delay',
      );
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'could not take the logind delay inhibitor; suspends are recorded after the fact');
    }
  }
}
