/**
 * A {@link SysfsBackend} that hands every call to another backend: the base of backends that
 * change or watch one kind of call (fault injection, counting) and pass the rest through.
 */
import type { SysfsBackend } from './sysfs-backend.js';

/** Passes every call through to `inner`; a subclass overrides what it changes. */
export class PassThroughSysfs implements SysfsBackend {
  constructor(protected readonly inner: SysfsBackend) {}

  get root(): string {
    return this.inner.root;
  }
  read(path: string): Promise<string> {
    return this.inner.read(path);
  }
  write(path: string, value: string): Promise<void> {
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
}
