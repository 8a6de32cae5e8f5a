/** Process checks shared by the peer tests. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Asserts that `pid` no longer exists: process.kill(pid, 0) throws ESRCH. */
export function expectNoProcess(pid: number): void {
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
}

/**
 * Whether `pid` is a live (non-zombie) process. Peers of a test process that died are
 * reparented to pid 1, which in some containers never reaps them: a zombie has released
 * everything but its pid, so it counts as gone here.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // vanished between the two checks
  }
}
