/**
 * A bounded ring buffer: pushing is O(1) and, once full, overwrites the oldest item instead of
 * shifting an array. Slots are added as items arrive, not preallocated, so many rings that hold
 * few items stay small. The core's history ring before it became column-wise (ReadingRing): the
 * benchmark's `growing` variant, to measure "start small" on its own.
 */
import { VpmdError } from '../../core/errors.js';

/** Bounded FIFO history that keeps the newest `capacity` items. */
export class RingBuffer<T> {
  /** Maximum number of items kept. */
  readonly capacity: number;
  #slots: T[] = [];
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
  }

  /** Number of items held (at most {@link capacity}). */
  get size(): number {
    return this.#size;
  }

  /** Appends `item`, dropping the oldest one when full. */
  push(item: T): void {
    if (this.#size < this.capacity) {
      // Nothing wraps before the ring is full, so the oldest item is still at slot 0.
      this.#slots.push(item);
      this.#size++;
      // The array grew by ~1.5x steps: keep exactly `capacity` slots from now on.
      if (this.#size === this.capacity) this.#slots = this.#slots.slice();
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
