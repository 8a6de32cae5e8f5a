/**
 * Writes the simulated kernel's changes through to its files.
 *
 * - Files are written synchronously, in place, as the change is made: once a kernel write
 *   returns, `cat` shows it, as with sysfs. Each is a few µs of page-cache work (see
 *   `rewriteFileSync`); a queue of asynchronous writes cost more in thread-pool round trips than
 *   the writes themselves, and made later writes wait for earlier ones.
 * - Structural changes (directories removed and rewritten) are synchronous too, so the files
 *   always show the in-memory tree; they are rare (a driver switching mode).
 * - The marker (`.vpmd-sim.json`, the simulator's state) is written at most every
 *   {@link MARKER_DELAY_MS}, with the state as it is then: a stream of writes costs one marker
 *   write per window instead of one each (it was half the disk work of a frequency change).
 *   {@link flush} writes a pending one at once; the agent's `sync()` every second and its close
 *   do. Only a reopen reads it, and a reopen integrates the dynamics from the saved clock.
 * - Bulk writes (every dynamic file, on `sync()`) are cut into slices so that other work is not
 *   held up for long.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { diskContent, rewriteFileSync, writeTreeSync } from './sim-disk.js';
import { SIM_MARKER } from './sim-state.js';
import { SimTree } from './sim-tree.js';

/** The marker is written at most this often (ms). */
export const MARKER_DELAY_MS = 50;

/** Files written per slice of a bulk write. */
export const BULK_SLICE = 16;

/** Persists a simulated tree's changes (see the module comment). */
export class SimDiskWriter {
  private markerTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;

  /**
   * @param root Directory of the simulated tree.
   * @param markerText The marker's content now (called when it is written).
   */
  constructor(
    private readonly root: string,
    private readonly markerText: () => string,
  ) {}

  /** Writes one file now (the value as the kernel shows it, without the newline). @throws the fs error */
  writeFile(path: string, value: string): void {
    rewriteFileSync(join(this.root, path), diskContent(value));
  }

  /** Writes many files, `value(path)` read when each slice is written, yielding between slices. */
  async writeMany(paths: readonly string[], value: (path: string) => string | undefined): Promise<void> {
    for (let i = 0; i < paths.length; i += BULK_SLICE) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      for (const path of paths.slice(i, i + BULK_SLICE)) {
        const v = value(path);
        if (v !== undefined) this.writeFile(path, v);
      }
    }
  }

  /** Removes a path recursively. */
  remove(path: string): void {
    rmSync(join(this.root, path), { recursive: true, force: true });
  }

  /** Writes the part of `tree` under the given paths (files, directories and links). */
  writeSubtrees(tree: SimTree, paths: readonly string[]): void {
    const sub = new SimTree();
    const copy = (path: string): void => {
      const file = tree.files.get(path);
      const link = tree.links.get(path);
      const children = tree.dirs.get(path);
      if (file !== undefined) sub.file(path, file);
      else if (link !== undefined) sub.link(path, link);
      else if (children !== undefined) {
        sub.dir(path);
        for (const child of children) copy(`${path}/${child}`);
      }
    };
    for (const path of paths) copy(path);
    writeTreeSync(this.root, sub);
  }

  /**
   * Writes the marker within {@link MARKER_DELAY_MS} (once, however many changes asked), with the
   * state as it is then. A failure is reported by the next {@link flush}.
   */
  saveMarker(): void {
    this.markerTimer ??= setTimeout(() => this.writeMarker(), MARKER_DELAY_MS);
  }

  private writeMarker(): void {
    clearTimeout(this.markerTimer);
    this.markerTimer = undefined;
    try {
      rewriteFileSync(join(this.root, SIM_MARKER), `${this.markerText()}\n`);
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Writes a pending marker now: then every change made so far is on disk. @throws the last marker write failure */
  flush(): Promise<void> {
    if (this.markerTimer !== undefined) this.writeMarker();
    const failure = this.failure;
    this.failure = undefined;
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }
}
