import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../../core/state/keyed-queue.js';

/** A promise with its resolve function exposed. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedQueue', () => {
  it('runs tasks of one key strictly one after another, in call order', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const first = deferred();
    const a = queue.run('k', async () => {
      log.push('a start');
      await first.promise;
      log.push('a end');
    });
    const b = queue.run('k', () => {
      log.push('b');
      return Promise.resolve();
    });
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    first.resolve();
    await Promise.all([a, b]);
    expect(log).toEqual(['a start', 'a end', 'b']);
  });

  it('runs tasks of different keys concurrently', async () => {
    const queue = new KeyedQueue();
    const gate = deferred();
    const blocked = queue.run('a', () => gate.promise);
    expect(await queue.run('b', () => Promise.resolve('b done'))).toBe('b done');
    gate.resolve();
    await blocked;
  });

  it('passes each rejection to its caller without blocking the tasks behind it', async () => {
    const queue = new KeyedQueue();
    const failing = queue.run('k', () => Promise.reject(new Error('boom')));
    const next = queue.run('k', () => Promise.resolve(2));
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe(2);
  });

  it('forgets keys once their tasks have drained', async () => {
    const queue = new KeyedQueue();
    await Promise.all(['a', 'b', 'c'].map((k) => queue.run(k, () => Promise.resolve())));
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.activeKeys).toBe(0);
  });
});
