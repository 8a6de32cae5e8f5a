/** The pollers' bounded concurrency: never more than `max` at once, waiting calls in order. */
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../../core/index.js';

describe('ConcurrencyLimiter', () => {
  it('runs at most max calls at once, the rest in the order they came, and frees a slot on failure', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const release: Array<() => void> = [];
    const call = (i: number, fail = false): Promise<number> =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        running--;
        if (fail) throw new Error(`call ${i} failed`);
        return i;
      });
    const calls = [call(0, true), call(1), call(2), call(3)];
    await expect.poll(() => started).toEqual([0, 1]);
    release.shift()?.();
    await expect(calls[0]).rejects.toThrow('call 0 failed');
    await expect.poll(() => started).toEqual([0, 1, 2]);
    while (started.length < 4 || release.length > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(calls.slice(1))).toEqual([1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
  });
});
