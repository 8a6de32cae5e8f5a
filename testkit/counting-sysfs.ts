/**
 * A sysfs backend that passes everything through to another and counts what went by: for tests
 * that assert how many files a feature reads or which it writes.
 */
import type { SysfsBackend } from '../core/host/sysfs-backend.js';

/** Counts reads per file and records writes, in order; everything else passes through. */
export class CountingSysfs implements SysfsBackend {
  /** Reads per root-relative path. */
  readonly reads = new Map<string, number>();
  /** Writes in the order they were made. */
  writes: Array<{ path: string; value: string }> = [];

  constructor(private readonly inner: SysfsBackend) {}

  get root(): string {
    return this.inner.root;
  }
  read(path: string): Promise<string> {
    this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
    return this.inner.read(path);
  }
  write(path: string, value: string): Promise<void> {
    this.writes.push({ path, value });
    return this.inner.write(path, value);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  async realpath(path: string): Promise<string> {
    return this.inner.realpath === undefined ? path : this.inner.realpath(path);
  }
  /** All reads so far. */
  totalReads(): number {
    let n = 0;
    for (const c of this.reads.values()) n += c;
    return n;
  }
}
