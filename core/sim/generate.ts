/**
 * Generates a simulated host: a realistic `sys/`, `proc/` and `dev/` tree for a profile, plus
 * the marker `.vpmd-sim.json` with the profile and the simulator's state.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VpmdError } from '../errors.js';
import { buildCpuTree } from './build-cpu-tree.js';
import { buildCpufreqTree } from './build-cpufreq-tree.js';
import { buildPlatformTree } from './build-platform-tree.js';
import { buildQosUncoreTree } from './sim-qos-uncore.js';
import { writeTree } from './sim-disk.js';
import { computePower } from './sim-physics.js';
import type { SimProfileName } from './sim-profile.js';
import { getSimProfile } from './sim-profiles.js';
import { dynamicPaths, dynamicValue } from './sim-sensors.js';
import { SIM_MARKER, SIM_MARKER_FORMAT, initialState, writeMarker, type SimMarker } from './sim-state.js';
import { SimTree } from './sim-tree.js';
import { openSimulatedHost, type OpenSimulatedHostOptions, type SimulatedKernel } from './simulated-kernel.js';

/** Options of {@link generateSimulatedHost}. */
export interface GenerateSimulatedHostOptions {
  readonly profile: SimProfileName;
  /** Seeds counters and idle statistics (same seed, same tree). Default 1. */
  readonly seed?: number;
  /** Simulated boot time, epoch ms (default: now). */
  readonly now?: number;
}

/** Builds the in-memory tree of a profile, with dynamic files at their initial values. */
export function buildSimulatedTree(options: GenerateSimulatedHostOptions): { tree: SimTree; marker: SimMarker } {
  const profile = getSimProfile(options.profile);
  const seed = options.seed ?? 1;
  const now = options.now ?? Date.now();
  const tree = new SimTree();
  buildCpuTree(tree, profile);
  buildCpufreqTree(tree, profile);
  buildPlatformTree(tree, profile);
  buildQosUncoreTree(tree, profile);
  const state = initialState(profile, seed, now);
  const ctx = { tree, profile, state, power: computePower(tree, profile, state), nowMs: now };
  for (const path of dynamicPaths(tree, profile)) {
    const value = dynamicValue(path, ctx);
    if (value !== undefined) tree.file(path, value);
  }
  const marker: SimMarker = {
    format: SIM_MARKER_FORMAT,
    profile: profile.name,
    description: profile.description,
    seed,
    generatedAtMs: now,
    state,
  };
  return { tree, marker };
}

/**
 * Lays out a simulated host under `dir` (created if needed). A directory that already holds a
 * simulated host is regenerated from scratch.
 *
 * @throws VpmdError E_HOST_INVALID for an unknown profile, or when `dir` is a non-empty
 *   directory that is not a simulated host (nothing is overwritten then).
 */
export async function generateSimulatedHost(dir: string, options: GenerateSimulatedHostOptions): Promise<SimMarker> {
  const root = resolve(dir);
  const { tree, marker } = buildSimulatedTree(options);
  const entries = await readdir(root).catch(() => [] as string[]);
  if (entries.length > 0) {
    if (!entries.includes(SIM_MARKER)) {
      throw new VpmdError(
        'E_HOST_INVALID',
        `Refusing to generate a simulated host in ${root}: the directory is not empty and holds no ${SIM_MARKER}`,
        {
          dir: root,
        },
      );
    }
    await Promise.all(
      ['sys', 'proc', 'dev', SIM_MARKER].map((e) => rm(join(root, e), { recursive: true, force: true })),
    );
  }
  await mkdir(root, { recursive: true });
  await writeTree(root, tree);
  await writeMarker(root, marker);
  return marker;
}

/** A simulated host in a fresh temporary directory. */
export interface TemporarySimulatedHost {
  readonly dir: string;
  readonly kernel: SimulatedKernel;
  /** Waits for pending writes and removes the directory. */
  dispose(): Promise<void>;
}

/** Options of {@link createTemporarySimulatedHost}. */
export interface TemporarySimulatedHostOptions
  extends Omit<GenerateSimulatedHostOptions, 'now'>, OpenSimulatedHostOptions {
  /**
   * Directory to create the host in (default: the OS temporary directory). A tmpfs such as
   * `/dev/shm` makes generating a 64-CPU host (about 6000 files) several times faster.
   */
  readonly parent?: string;
}

/** Generates and opens a simulated host in a new temporary directory (tests, demos). */
export async function createTemporarySimulatedHost(
  options: TemporarySimulatedHostOptions,
): Promise<TemporarySimulatedHost> {
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'vpmd-sim-'));
  const clock = options.now;
  await generateSimulatedHost(dir, {
    profile: options.profile,
    seed: options.seed ?? 1,
    ...(clock === undefined ? {} : { now: clock() }),
  });
  const kernel = await openSimulatedHost(dir, clock === undefined ? {} : { now: clock });
  return {
    dir,
    kernel,
    dispose: async () => {
      await kernel.flush();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
