/**
 * The seam between the host model and the kernel's files. Every reader and writer of the host
 * model goes through a {@link SysfsBackend}, so the same code runs against the real `/sys` and
 * `/proc` ({@link RealSysfs}) or against the simulated host (`SimulatedKernel` in `core/sim`).
 */
import { VpmdError } from '../errors.js';

/** Access to the kernel's pseudo-files under one root directory. */
export interface SysfsBackend {
  /** Absolute directory under which `sys/`, `proc/` and `dev/` live (`/` on a real host). */
  readonly root: string;
  /**
   * Reads a file, e.g. `sys/devices/system/cpu/online` (relative to {@link root}). The content
   * is returned without its trailing newline.
   */
  read(path: string): Promise<string>;
  /** Writes `value` to a file, as `echo -n value > file` would. */
  write(path: string, value: string): Promise<void>;
  /** Entry names of a directory, sorted naturally (`cpu2` before `cpu10`). */
  list(dir: string): Promise<string[]>;
  /** True when the file or directory exists. */
  exists(path: string): Promise<boolean>;
  /**
   * The root-relative path with symbolic links resolved (`cpu1/cpufreq` → `cpufreq/policy0`),
   * when the backend can tell; used to group per-CPU cpufreq links into policies.
   */
  realpath?(path: string): Promise<string>;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Natural order for kernel entry names: `cpu2` sorts before `cpu10`, `policy9` before `policy10`. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Sorts names naturally (see {@link naturalCompare}); returns a new array. */
export function sortNaturally(names: Iterable<string>): string[] {
  return [...names].sort(naturalCompare);
}

const CLEAN_PATH = /^(?!\.{1,2}(?:\/|$))[^/\0]+(?:\/(?!\.{1,2}(?:\/|$))[^/\0]+)*$/;

/**
 * Normalises a backend path to a root-relative form without `.` segments or duplicate slashes.
 * A leading `/` is accepted (the path is still relative to the backend's root).
 *
 * @throws VpmdError E_HOST_INVALID when the path contains `..` (it could escape the root) or NUL.
 */
export function normalizeBackendPath(path: string): string {
  // Fast path for the common, already-clean form (`sys/devices/...`): no scanning needed.
  if (CLEAN_PATH.test(path)) return path;
  if (path.includes('\0')) {
    throw new VpmdError('E_HOST_INVALID', `Host path ${JSON.stringify(path)} contains a NUL byte`, { path });
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new VpmdError('E_HOST_INVALID', `Host path "${path}" contains "..": paths must stay inside the host root`, {
      path,
    });
  }
  return segments.join('/');
}

/** Joins backend path segments with `/`. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
