/**
 * A fixed-capacity ring buffer: pushing is O(1) and, once full, overwrites the oldest item
 * instead of shifting an array. Telemetry histories receive thousands of readings per second.
 */
import { VpmdError } from '../errors.js';

/** Bounded FIFO history that keeps the newest `capacity` items. */
export class RingBuffer<T> {
  /** Maximum number of items kept. */
  readonly capacity: number;
  readonly #slots: Array<T | undefined>;
  /** Index of the oldest item. */
  #start = 0;
  #size = 0;

  /**
   * @param capacity an integer >= 1.
   * @throws VpmdError E_INTERNAL for any other capacity.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new VpmdError('E_INTERNAL', `ring buffer capacity must be an integer >= 1, got ${capacity}`, { capacity });
    }
    this.capacity = capacity;
    this.#slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Number of items held (at most {@link capacity}). */
  get size(): number {
    return this.#size;
  }

  /** Appends `item`, dropping the oldest one when full. */
  push(item: T): void {
    if (this.#size < this.capacity) {
      this.#slots[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
    } else {
      this.#slots[this.#start] = item;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** The newest item, or undefined when empty. */
  newest(): T | undefined {
    return this.#size === 0 ? undefined : this.#slots[(this.#start + this.#size - 1) % this.capacity];
  }

  /** Items from newest to oldest, without copying the buffer. */
  *newestFirst(): IterableIterator<T> {
    for (let i = this.#size - 1; i >= 0; i--) {
      yield this.#slots[(this.#start + i) % this.capacity] as T;
    }
  }

  /** A copy of the items, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) out.push(this.#slots[(this.#start + i) % this.capacity] as T);
    return out;
  }
}
