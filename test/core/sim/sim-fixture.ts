/** Test helpers: a simulated host on a fixed clock, and assertions on coded errors. */
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isVpmdError, type ErrorCode, type VpmdError } from '../../../core/errors.js';
import { createHostModel, type HostModel } from '../../../core/host/index.js';
import { createTemporarySimulatedHost, type SimProfileName, type SimulatedKernel } from '../../../core/sim/index.js';

/** The fixed simulated time tests start at (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000;

/** tmpfs when the machine has one: a 64-CPU tree is about 6000 files, slow to create on ext4. */
export const SIM_PARENT = ((): string | undefined => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
})();

/** A simulated host opened on a fixed clock. */
export interface SimFixture {
  readonly dir: string;
  readonly kernel: SimulatedKernel;
  readonly host: HostModel;
  /** Reads a file straight from disk (what `cat` shows), without the trailing newline. */
  readonly disk: (path: string) => Promise<string>;
  dispose(): Promise<void>;
}

/** Generates and opens a host whose clock stands at {@link T0} until `kernel.advance()`. */
export async function simHost(profile: SimProfileName, seed = 1): Promise<SimFixture> {
  const sim = await createTemporarySimulatedHost({
    profile,
    seed,
    now: () => T0,
    ...(SIM_PARENT === undefined ? {} : { parent: SIM_PARENT }),
  });
  return {
    dir: sim.dir,
    kernel: sim.kernel,
    host: createHostModel(sim.kernel),
    disk: async (path) => {
      await sim.kernel.flush();
      const text = await readFile(join(sim.dir, path), 'utf8');
      return text.endsWith('\n') ? text.slice(0, -1) : text;
    },
    dispose: () => sim.dispose(),
  };
}

/** Awaits `promise`, expects a VpmdError with `code`, and returns it for further checks. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<VpmdError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}, but nothing was thrown`).toBeDefined();
  if (!isVpmdError(caught)) throw caught;
  expect(caught.code, caught.message).toBe(code);
  return caught;
}

/** Root-relative policy file. */
export function policyFile(id: number, name: string): string {
  return `sys/devices/system/cpu/cpufreq/policy${id}/${name}`;
}
