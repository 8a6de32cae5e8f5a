/**
 * One agent per state directory. Two agents on one `state.dir` would each acknowledge writes
 * the other then overwrites (an `account add` acknowledged twice, one account on disk), so the
 * agent takes `state.dir/vpmd.lock` before it reads any state and keeps it until it stops.
 *
 * Node has no flock(2), so the lock is a file created with link(2), which is atomic and fails
 * when the name exists: a temp file holding `{pid, startedAt}` is linked to `vpmd.lock`. A lock
 * whose pid no longer runs (the agent was killed) is stale and is taken over; one whose pid
 * runs makes the start fail with the holder's pid and start time.
 */
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { VpmdError } from '../errors.js';

/** The lock file's name inside `state.dir`. */
export const STATE_LOCK_FILE = 'vpmd.lock';

/** What the lock file records about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly startedAt: string;
}

/** A held lock; `release()` is idempotent. */
export interface StateLock {
  readonly file: string;
  release(): Promise<void>;
}

const held = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A process that exits without stopping its agent leaves no lock behind for the next one.
  process.on('exit', () => {
    for (const file of held) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid runs under another user, which still holds the lock.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.startedAt === 'string'
      ? { pid: parsed.pid, startedAt: parsed.startedAt }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The running process that holds `dir`'s lock, if one does (`vpmd doctor` finds the agent by it). */
export async function lockHolderOf(dir: string): Promise<LockHolder | undefined> {
  const holder = await readHolder(join(dir, STATE_LOCK_FILE));
  return holder !== undefined && isRunning(holder.pid) ? holder : undefined;
}

/**
 * Takes the lock on `dir` for this process (creating `dir` 0700 when missing).
 * @throws VpmdError `E_STATE_LOCKED` when another running process holds it; `E_STATE_WRITE`
 *   when the directory or the lock file cannot be written
 */
export async function lockStateDir(dir: string): Promise<StateLock> {
  const file = join(dir, STATE_LOCK_FILE);
  if (held.has(file)) throw lockedError(dir, { pid: process.pid, startedAt: 'earlier in this process' });
  const me: LockHolder = { pid: process.pid, startedAt: new Date().toISOString() };
  const tmp = join(dir, `.${STATE_LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  } catch (e) {
    throw new VpmdError(
      'E_STATE_WRITE',
      `cannot write the lock in state directory ${dir}: ${String(e)}`,
      { dir },
      {
        cause: e,
      },
    );
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, file);
        held.add(file);
        installExitHook();
        let released = false;
        return {
          file,
          release: async () => {
            if (released) return;
            released = true;
            held.delete(file);
            await rm(file, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readHolder(file);
      if (holder && holder.pid !== process.pid && isRunning(holder.pid)) throw lockedError(dir, holder);
      // Stale (its process is gone) or unreadable: remove it and try again.
      await rm(file, { force: true });
    }
    throw lockedError(dir, (await readHolder(file)) ?? { pid: 0, startedAt: 'unknown' });
  } finally {
    await rm(tmp, { force: true });
  }
}

function lockedError(dir: string, holder: LockHolder): VpmdError {
  return new VpmdError(
    'E_STATE_LOCKED',
    `state directory ${dir} is in use by another vpmd (pid ${holder.pid}, started ${holder.startedAt}); ` +
      'stop it, or give this agent its own state.dir',
    { dir, pid: holder.pid, startedAt: holder.startedAt },
  );
}
