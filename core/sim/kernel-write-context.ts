/**
 * What a simulated-kernel write rule sees and may do. Rules validate a value the way the kernel
 * does and either reject it with an errno (nothing changes) or apply it to the tree and state.
 */
import type { SimProfile } from './sim-profile.js';
import type { SimState } from './sim-state.js';
import type { SimTree } from './sim-tree.js';

/** The kernel state a rule works on, and the effects it may have. */
export interface WriteContext {
  readonly tree: SimTree;
  readonly profile: SimProfile;
  readonly state: SimState;
  /** Simulated time, epoch ms. */
  nowMs(): number;
  /** Fails the write with an errno and a hint saying what the kernel allows. Nothing changes. */
  reject(errno: 'EINVAL' | 'EBUSY' | 'EACCES' | 'EPERM', hint: string): never;
  /** Sets a file's content (persisted after the rule returns). */
  set(path: string, value: string): void;
  /** Replaces whole directories or links (removed, then rewritten from the tree). */
  restructure(paths: readonly string[]): void;
  /** The host goes to sleep in `state` (`freeze`, `mem`, `disk`) and resumes. */
  sleep(state: string): void;
}

/** A write rule: the path pattern it owns and how it applies a value. */
export interface WriteRule {
  readonly pattern: RegExp;
  apply(ctx: WriteContext, match: RegExpExecArray, value: string): void;
}

/** Words of a kernel list file. */
export function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((w) => w !== '');
}

/** Parses an unsigned decimal as the kernel's kstrtouint does, or rejects with EINVAL. */
export function parseUnsigned(ctx: WriteContext, value: string, what: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    ctx.reject('EINVAL', `expected ${what} (a non-negative integer)`);
  return Number(v);
}

/** Parses `0` or `1`, or rejects with EINVAL. */
export function parseBool01(ctx: WriteContext, value: string): '0' | '1' {
  const v = value.trim();
  if (v !== '0' && v !== '1') ctx.reject('EINVAL', 'expected 0 or 1');
  return v;
}
