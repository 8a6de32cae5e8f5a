/**
 * A sysfs backend that passes everything through to another and counts what went by: for tests
 * that assert how many files a feature reads or which it writes.
 */
import { PassThroughSysfs } from '../core/host/pass-through-sysfs.js';

/** Counts reads per file and records writes, in order; everything else passes through. */
export class CountingSysfs extends PassThroughSysfs {
  /** Reads per root-relative path. */
  readonly reads = new Map<string, number>();
  /** Writes in the order they were made. */
  writes: Array<{ path: string; value: string }> = [];

  override read(path: string): Promise<string> {
    this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
    return this.inner.read(path);
  }
  override write(path: string, value: string): Promise<void> {
    this.writes.push({ path, value });
    return this.inner.write(path, value);
  }
  /** All reads so far. */
  totalReads(): number {
    let n = 0;
    for (const c of this.reads.values()) n += c;
    return n;
  }
}
