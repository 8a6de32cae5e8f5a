/**
 * Timers and periodic polls, owned by a plugin and cancelled when it stops or is rolled back.
 * A periodic task never overlaps itself: if a run is still going when the next is due, that
 * tick is skipped and counted (a slow peer must not pile up work). Jitter spreads the first run
 * of many tasks with the same interval so that 1,000 pollers do not fire at once.
 */
import { inspect } from 'node:util';
import type { Logger } from '../logger.js';
import { VpmdError } from '../errors.js';

/** Options for a periodic task. */
export interface EveryOptions {
  /** Delay the first run by a random fraction of the interval in [0, jitter). Default 0. */
  readonly jitter?: number;
  /** Run once immediately (after jitter) instead of waiting one interval. Default false. */
  readonly runNow?: boolean;
}

/** A handle on a scheduled task. */
export interface TaskHandle {
  readonly name: string;
  cancel(): void;
}

/** Counters for one periodic task. */
export interface TaskStats {
  readonly name: string;
  readonly owner: string;
  readonly intervalMs: number;
  readonly runs: number;
  readonly failures: number;
  readonly skipped: number;
  readonly running: boolean;
  readonly lastError?: string;
}

interface Task {
  name: string;
  owner: string;
  intervalMs: number;
  runs: number;
  failures: number;
  skipped: number;
  running: boolean;
  lastError?: string;
  timer?: NodeJS.Timeout;
  interval?: NodeJS.Timeout;
}

/** The agent-wide scheduler; plugins see it through {@link ScopedScheduler}. */
export class Scheduler {
  private readonly tasks = new Set<Task>();

  constructor(
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Runs `fn` every `intervalMs` on behalf of `owner`. */
  every(owner: string, name: string, intervalMs: number, fn: () => unknown, opts: EveryOptions = {}): TaskHandle {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) {
      throw new VpmdError('E_INTERNAL', `task '${name}': interval must be a positive number of ms, got ${intervalMs}`);
    }
    const task: Task = { name, owner, intervalMs, runs: 0, failures: 0, skipped: 0, running: false };
    this.tasks.add(task);
    const jitter = Math.min(Math.max(opts.jitter ?? 0, 0), 1);
    const firstDelay = (opts.runNow ? 0 : intervalMs) + Math.floor(this.random() * jitter * intervalMs);
    task.timer = setTimeout(() => {
      task.timer = undefined;
      this.tick(task, fn);
      task.interval = setInterval(() => this.tick(task, fn), intervalMs);
      task.interval.unref?.();
    }, firstDelay);
    task.timer.unref?.();
    return { name, cancel: () => this.cancel(task) };
  }

  /** Runs `fn` once after `delayMs` on behalf of `owner`. */
  after(owner: string, name: string, delayMs: number, fn: () => unknown): TaskHandle {
    const task: Task = { name, owner, intervalMs: 0, runs: 0, failures: 0, skipped: 0, running: false };
    this.tasks.add(task);
    task.timer = setTimeout(
      () => {
        this.tasks.delete(task);
        this.tick(task, fn);
      },
      Math.max(0, delayMs),
    );
    task.timer.unref?.();
    return { name, cancel: () => this.cancel(task) };
  }

  /** Cancels every task of `owner`; returns how many. */
  cancelOwner(owner: string): number {
    let n = 0;
    for (const t of [...this.tasks]) {
      if (t.owner === owner) {
        this.cancel(t);
        n++;
      }
    }
    return n;
  }

  /** Counters of the live periodic tasks, optionally of one owner. */
  stats(owner?: string): TaskStats[] {
    return [...this.tasks]
      .filter((t) => owner === undefined || t.owner === owner)
      .map((t) => ({
        name: t.name,
        owner: t.owner,
        intervalMs: t.intervalMs,
        runs: t.runs,
        failures: t.failures,
        skipped: t.skipped,
        running: t.running,
        ...(t.lastError !== undefined ? { lastError: t.lastError } : {}),
      }));
  }

  private cancel(task: Task): void {
    if (task.timer) clearTimeout(task.timer);
    if (task.interval) clearInterval(task.interval);
    this.tasks.delete(task);
  }

  private tick(task: Task, fn: () => unknown): void {
    if (task.running) {
      task.skipped++;
      return;
    }
    task.running = true;
    const done = (err?: unknown): void => {
      task.running = false;
      task.runs++;
      if (err !== undefined) {
        task.failures++;
        task.lastError = err instanceof Error ? err.message : typeof err === 'string' ? err : inspect(err);
        this.log.warn({ task: task.name, owner: task.owner, err }, 'scheduled task failed');
      }
    };
    try {
      const r = fn();
      if (r instanceof Promise)
        r.then(
          () => done(),
          (e: unknown) => done(e ?? new Error('rejected')),
        );
      else done();
    } catch (e) {
      done(e);
    }
  }
}

/** The scheduler as one plugin sees it. */
export interface ScopedScheduler {
  every(name: string, intervalMs: number, fn: () => unknown, opts?: EveryOptions): TaskHandle;
  after(name: string, delayMs: number, fn: () => unknown): TaskHandle;
}

/** Creates the plugin-scoped view of `scheduler`. */
export function scopeScheduler(scheduler: Scheduler, owner: string): ScopedScheduler {
  return {
    every: (name, ms, fn, opts) => scheduler.every(owner, name, ms, fn, opts),
    after: (name, ms, fn) => scheduler.after(owner, name, ms, fn),
  };
}
