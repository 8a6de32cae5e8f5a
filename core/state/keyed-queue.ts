/**
 * Runs asynchronous tasks one after another per key, in call order, while tasks of different
 * keys run concurrently. The state store uses it so that two writes (or a read-modify-write)
 * of the same state file never interleave.
 */
export class KeyedQueue {
  /** The tail of each key's chain; removed once the chain drains so keys do not accumulate. */
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Runs `task` after every task queued earlier for `key` has settled (fulfilled or rejected:
   * one failure does not block the ones behind it).
   * @returns the task's own result or rejection.
   */
  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Number of keys with queued or running tasks (for diagnostics and tests). */
  get activeKeys(): number {
    return this.#tails.size;
  }
}
