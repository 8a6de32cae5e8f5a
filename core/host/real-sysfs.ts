/**
 * {@link SysfsBackend} over the real filesystem. On a production host the root is `/`; tests and
 * the demo point it at a directory holding a copied or generated tree.
 */
import { close, constants, open, readFile, readdir, realpath, stat, write } from 'node:fs';
import { relative, resolve } from 'node:path';
import { hostFileError } from './host-errors.js';
import { normalizeBackendPath, sortNaturally, type SysfsBackend } from './sysfs-backend.js';

const WRITE_FLAGS = constants.O_WRONLY | constants.O_TRUNC;

function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/**
 * Reads and writes kernel files under a root directory. Errors become coded
 * {@link VpmdError}s: ENOENT → E_HOST_NOT_FOUND, EINVAL → E_HOST_INVALID, EBUSY → E_HOST_BUSY,
 * EACCES/EPERM → E_HOST_ACCESS, anything else → E_HOST_IO; each names the full file path and the
 * value written, with `details` `{ file, errno, value? }`. Paths containing `..` are refused
 * (E_HOST_INVALID) so a caller cannot leave the root; symbolic links inside the tree are followed,
 * as sysfs itself is full of them.
 */
export class RealSysfs implements SysfsBackend {
  /** Absolute root directory. */
  readonly root: string;

  /** @param root Directory holding `sys/`, `proc/` and `dev/`; defaults to `/`. */
  constructor(root = '/') {
    this.root = resolve(root);
  }

  /**
   * Absolute path of a root-relative path (after validation).
   *
   * @throws VpmdError E_HOST_INVALID for a path containing `..` or NUL.
   */
  resolvePath(path: string): string {
    const rel = normalizeBackendPath(path);
    return rel === '' ? this.root : resolve(this.root, rel);
  }

  /** @inheritDoc */
  async read(path: string): Promise<string> {
    const file = this.resolvePath(path);
    // The callback API is several times faster than fs/promises for many small files, which
    // matters when a 64-CPU host's cpufreq tree is read in one batch.
    return new Promise((ok, fail) => {
      readFile(file, 'utf8', (err, data) => {
        if (err) fail(hostFileError({ op: 'read', file, errno: errnoOf(err) }, err));
        else ok(data.endsWith('\n') ? data.slice(0, -1) : data);
      });
    });
  }

  /** @inheritDoc */
  async write(path: string, value: string): Promise<void> {
    const file = this.resolvePath(path);
    // No O_CREAT: a write to a missing attribute fails with ENOENT as it does in sysfs instead
    // of creating a regular file. O_TRUNC matters only for plain-file trees (sysfs ignores it).
    return new Promise((ok, fail) => {
      const failWith = (err: NodeJS.ErrnoException): void =>
        fail(hostFileError({ op: 'write', file, errno: errnoOf(err), value }, err));
      open(file, WRITE_FLAGS, (openErr, fd) => {
        if (openErr) return failWith(openErr);
        // sysfs takes one write(2) per value: the kernel's EINVAL/EBUSY arrives here.
        write(fd, value, (writeErr) => {
          close(fd, (closeErr) => {
            if (writeErr) failWith(writeErr);
            else if (closeErr) failWith(closeErr);
            else ok();
          });
        });
      });
    });
  }

  /** @inheritDoc */
  async list(dir: string): Promise<string[]> {
    const file = this.resolvePath(dir);
    return new Promise((ok, fail) => {
      readdir(file, (err, names) => {
        if (err) fail(hostFileError({ op: 'list', file, errno: errnoOf(err) }, err));
        else ok(sortNaturally(names));
      });
    });
  }

  /** @inheritDoc */
  async exists(path: string): Promise<boolean> {
    const file = this.resolvePath(path);
    return new Promise((ok, fail) => {
      stat(file, (err) => {
        if (!err) ok(true);
        else if (err.code === 'ENOENT' || err.code === 'ENOTDIR') ok(false);
        else fail(hostFileError({ op: 'exists', file, errno: errnoOf(err) }, err));
      });
    });
  }

  /** @inheritDoc */
  async realpath(path: string): Promise<string> {
    const file = this.resolvePath(path);
    return new Promise((ok, fail) => {
      realpath(file, (err, real) => {
        if (err) return fail(hostFileError({ op: 'read', file, errno: errnoOf(err) }, err));
        // A link leaving the root keeps its own name: the caller only compares paths.
        const rel = relative(this.root, real);
        ok(rel.startsWith('..') ? normalizeBackendPath(path) : rel);
      });
    });
  }
}
