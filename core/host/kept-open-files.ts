/**
 * Small kernel files read every interval (`/proc/stat`, each CPU's `scaling_cur_freq`): on a
 * real file tree ({@link RealSysfs}) each is opened once, kept open and re-read with
 * `pread(fd, buf, 0)` into one reusable buffer — procfs and sysfs regenerate the text on a read
 * at offset 0 — instead of open + read + close through the thread pool every time. Any other
 * backend (the simulated kernel, a fault-injecting wrapper) is read through its `read()`.
 *
 * A file that cannot be read reads as `undefined` and its descriptor is dropped (reopened next
 * time); descriptors of files no longer asked for are closed at the end of each read, so at most
 * as many stay open as one call asks for (bounded by `maxOpenFiles`).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { RealSysfs } from './real-sysfs.js';
import type { SysfsBackend } from './sysfs-backend.js';

interface Kept {
  readonly fd: number;
  round: number;
}

/** Re-reads a set of small files through kept-open descriptors (see the module comment). */
export class KeptOpenFiles {
  private readonly open = new Map<string, Kept>();
  private buf = Buffer.allocUnsafe(16 * 1024);
  private round = 0;
  /** What {@link readIfChanged} last saw, per path (bytes on a real tree, text otherwise). */
  private readonly lastSeen = new Map<string, Buffer | string>();

  constructor(
    private readonly backend: SysfsBackend,
    private readonly maxOpenFiles = 1024,
  ) {}

  /** Descriptors currently open. */
  get openFiles(): number {
    return this.open.size;
  }

  /**
   * Each file's text (root-relative paths, trailing newline removed as {@link SysfsBackend.read}
   * does), in the order asked; `undefined` where it cannot be read.
   */
  async readTexts(paths: readonly string[]): Promise<Array<string | undefined>> {
    const backend = this.backend;
    if (!(backend instanceof RealSysfs))
      return Promise.all(paths.map((p) => backend.read(p).then(undefined, () => undefined)));
    const round = ++this.round;
    const out = paths.map((p) => this.readOne(backend, p, round));
    for (const [path, k] of this.open)
      if (k.round !== round) {
        this.closeFd(k.fd);
        this.open.delete(path);
      }
    return Promise.resolve(out);
  }

  /**
   * Reads one file and returns its text only when it differs from what the previous call for
   * the same path saw; `unchanged` otherwise (compared as bytes on a real tree: no text is
   * decoded for a large file that rarely changes). `undefined` when it cannot be read. Its
   * descriptor is not given back by {@link readTexts}' sweep: use one instance per purpose.
   */
  async readIfChanged(path: string): Promise<{ readonly text: string } | 'unchanged' | undefined> {
    const backend = this.backend;
    if (!(backend instanceof RealSysfs)) {
      const text = await backend.read(path).then(undefined, () => undefined);
      if (text === undefined) return undefined;
      if (this.lastSeen.get(path) === text) return 'unchanged';
      this.lastSeen.set(path, text);
      return { text };
    }
    const round = this.round;
    const len = this.readBytes(backend, path, round);
    if (len === undefined) return undefined;
    const bytes = this.buf.subarray(0, len);
    const last = this.lastSeen.get(path);
    if (last instanceof Buffer && last.equals(bytes)) return 'unchanged';
    this.lastSeen.set(path, Buffer.from(bytes));
    const end = len > 0 && this.buf[len - 1] === 0x0a ? len - 1 : len;
    return { text: this.buf.toString('utf8', 0, end) };
  }

  /** Closes every kept descriptor (reopened on the next read). */
  close(): void {
    for (const k of this.open.values()) this.closeFd(k.fd);
    this.open.clear();
    this.lastSeen.clear();
  }

  private readOne(backend: RealSysfs, path: string, round: number): string | undefined {
    const len = this.readBytes(backend, path, round);
    if (len === undefined) return undefined;
    const end = len > 0 && this.buf[len - 1] === 0x0a ? len - 1 : len;
    return this.buf.toString('utf8', 0, end);
  }

  /** Reads the whole file into the shared buffer; its length, or undefined when unreadable. */
  private readBytes(backend: RealSysfs, path: string, round: number): number | undefined {
    let kept = this.open.get(path);
    if (kept === undefined) {
      let fd: number;
      try {
        fd = openSync(backend.resolvePath(path), 'r');
      } catch {
        return undefined;
      }
      kept = { fd, round };
      if (this.open.size < this.maxOpenFiles) this.open.set(path, kept);
    }
    kept.round = round;
    try {
      let len = readSync(kept.fd, this.buf, 0, this.buf.length, 0);
      // A file as long as the buffer may be longer: grow and read it again from the start.
      while (len === this.buf.length) {
        this.buf = Buffer.allocUnsafe(this.buf.length * 2);
        len = readSync(kept.fd, this.buf, 0, this.buf.length, 0);
      }
      return len;
    } catch {
      // The file went away or failed: drop it (closed below), reopen next time.
      this.open.delete(path);
      return undefined;
    } finally {
      // Not kept (over the bound, or dropped above): give the descriptor back now.
      if (this.open.get(path) !== kept) this.closeFd(kept.fd);
    }
  }

  private closeFd(fd: number): void {
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to give back.
    }
  }
}
