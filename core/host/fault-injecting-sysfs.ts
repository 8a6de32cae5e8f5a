/**
 * A {@link SysfsBackend} that breaks reads the way real machines do, for tests: over another
 * backend, a seeded random choice of files reads as missing, empty or garbled, or fails with
 * ENODATA, EIO, EACCES, EBUSY or EINVAL. The choice is fixed per file and seed, so a file stays
 * broken for the whole run (as a broken sensor does) and a failing seed can be replayed.
 * Writes, listings and `exists` pass through untouched.
 */
import { hostFileError } from './host-errors.js';
import { PassThroughSysfs } from './pass-through-sysfs.js';
import type { SysfsBackend } from './sysfs-backend.js';

/** What a broken file does when read. */
export type InjectedFault = 'missing' | 'empty' | 'garbage' | 'ENODATA' | 'EIO' | 'EACCES' | 'EBUSY' | 'EINVAL';

/** Every fault {@link FaultInjectingSysfs} injects. */
export const INJECTED_FAULTS: readonly InjectedFault[] = [
  'missing',
  'empty',
  'garbage',
  'ENODATA',
  'EIO',
  'EACCES',
  'EBUSY',
  'EINVAL',
];

/** Options of {@link FaultInjectingSysfs}. */
export interface FaultInjectionOptions {
  readonly seed: number;
  /** Share of files that are broken, 0..1 (default 0.2). */
  readonly rate?: number;
  /** Faults to draw from (default all of {@link INJECTED_FAULTS}). */
  readonly faults?: readonly InjectedFault[];
}

/** FNV-1a over the seed and the path: a stable pseudo-random number in [0, 1). */
function hash01(seed: number, path: string, salt: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${salt}:${path}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/** Wraps a backend and breaks a seeded random share of its files on read. */
export class FaultInjectingSysfs extends PassThroughSysfs {
  private readonly rate: number;
  private readonly faults: readonly InjectedFault[];
  /** Files broken so far and how (for a test's failure message). */
  readonly injected = new Map<string, InjectedFault>();

  constructor(
    inner: SysfsBackend,
    private readonly options: FaultInjectionOptions,
  ) {
    super(inner);
    this.rate = options.rate ?? 0.2;
    this.faults = options.faults ?? INJECTED_FAULTS;
  }

  /** The fault a file gets under this seed, or undefined when it reads normally. */
  faultOf(path: string): InjectedFault | undefined {
    if (hash01(this.options.seed, path, 'pick') >= this.rate) return undefined;
    const i = Math.floor(hash01(this.options.seed, path, 'kind') * this.faults.length);
    return this.faults[i];
  }

  override async read(path: string): Promise<string> {
    const fault = this.faultOf(path);
    if (fault === undefined) return this.inner.read(path);
    this.injected.set(path, fault);
    const file = `${this.root.replace(/\/$/, '')}/${path}`;
    switch (fault) {
      case 'empty':
        return '';
      case 'garbage':
        return '\u0000\u00ff not a value \u{1F4A5}';
      case 'missing':
        throw hostFileError({ op: 'read', file, errno: 'ENOENT' });
      default:
        throw hostFileError({ op: 'read', file, errno: fault });
    }
  }
}
