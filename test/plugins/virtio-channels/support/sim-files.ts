/** Reading the simulated host's cpufreq files as `cat` would (the simulator writes through). */
import { expect } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One cpufreq file of a policy, trimmed. */
export async function cpufreq(hostRoot: string, policy: number, file: string): Promise<string> {
  return (await readFile(join(hostRoot, 'sys/devices/system/cpu/cpufreq', `policy${policy}`, file), 'utf8')).trim();
}

/** Modification time (ns) of a policy file: unchanged when nothing was written. */
export async function mtimeNs(hostRoot: string, policy: number, file: string): Promise<bigint> {
  return (await stat(join(hostRoot, 'sys/devices/system/cpu/cpufreq', `policy${policy}`, file), { bigint: true }))
    .mtimeNs;
}

/** Polls `fn` until it returns true (bounded; no timing assertion). */
export async function eventually(fn: () => Promise<boolean> | boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until a policy file shows `want`, then asserts it (replies never wait for sysfs: the
 * write follows the ACK in the background, within the pCPU's change limit).
 */
export async function settles(hostRoot: string, policy: number, file: string, want: string): Promise<void> {
  let last = '';
  await eventually(async () => (last = await cpufreq(hostRoot, policy, file)) === want, `${file} = ${want}`).catch(
    () => undefined,
  );
  expect(last).toBe(want);
}
