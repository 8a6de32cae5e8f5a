/**
 * Bounded concurrency for pollers: at most `max` calls run at once, the rest wait in the order
 * they came. A call's own deadline should start when it runs, not while it waits here.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  /** @param max how many calls may run at once (at least 1). */
  constructor(private readonly max: number) {}

  /** Runs `fn` when a slot is free; resolves or rejects as `fn` does. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
