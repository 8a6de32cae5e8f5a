import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../../../core/services/scheduler.js';
import { createLogger } from '../../../core/logger.js';

const log = createLogger({ level: 'silent' });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('scheduler', () => {
  it('runs a periodic task and never overlaps a slow run with the next', async () => {
    const s = new Scheduler(log);
    let release: (() => void) | undefined;
    let runs = 0;
    s.every('p', 'slow', 100, () => {
      runs++;
      return new Promise<void>((r) => (release = r));
    });
    await vi.advanceTimersByTimeAsync(450);
    expect(runs).toBe(1);
    expect(s.stats('p')[0]).toMatchObject({ runs: 0, skipped: 3, running: true });
    release?.();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
  });

  it('spreads first runs with jitter and runs now when asked', async () => {
    const fixed = new Scheduler(log, () => 0.5);
    const fired: string[] = [];
    fixed.every('p', 'jittered', 1000, () => void fired.push('j'), { jitter: 1 });
    fixed.every('p', 'now', 1000, () => void fired.push('n'), { runNow: true });
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['n']);
    await vi.advanceTimersByTimeAsync(1499);
    expect(fired).toEqual(['n', 'n', 'j']);
  });

  it('counts failures without stopping the task, and cancels everything of an owner', async () => {
    const s = new Scheduler(log);
    let n = 0;
    s.every('p', 'flaky', 10, () => {
      n++;
      throw new Error('peer down');
    });
    s.after('p', 'once', 1000, () => void n++);
    s.every('other', 'keep', 10, () => {});
    await vi.advanceTimersByTimeAsync(35);
    expect(s.stats('p')[0]).toMatchObject({ failures: 3, lastError: 'peer down' });
    expect(s.cancelOwner('p')).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(n).toBe(3);
    expect(s.stats().map((t) => t.owner)).toEqual(['other']);
  });
});
