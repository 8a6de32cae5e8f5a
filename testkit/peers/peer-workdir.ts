/**
 * Private temporary directories for peers: config files, sockets and state live there. A
 * directory not removed by its peer's stop() (the test process ended first) is removed then.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './exit-hooks.js';

const live = new Set<string>();
let hookInstalled = false;

function removeAllSync(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Creates a fresh directory under the OS temp dir, named after the peer. */
export async function createWorkDir(peer: string): Promise<string> {
  if (!hookInstalled) {
    hookInstalled = true;
    onProcessEnd(removeAllSync);
  }
  const slug = peer.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  const dir = await mkdtemp(join(tmpdir(), `vpmd-${slug}-`));
  live.add(dir);
  return dir;
}

/** Removes a directory made by {@link createWorkDir}; a missing directory is fine. */
export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
  live.delete(dir);
}
