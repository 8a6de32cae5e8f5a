/**
 * Crash-safe file replacement: the content goes to a temp file in the target's directory, is
 * flushed to disk, renamed over the target and the directory entry is flushed too. A reader (or
 * a process started after SIGKILL or power loss) therefore sees either the old or the new file,
 * never a torn one. Temp files left behind by a killed writer are removed by
 * {@link removeStaleTempFiles}.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VpmdError } from '../errors.js';

/** `.<target name>.<pid>.<8 hex>.tmp`: the leading dot keeps temp files apart from state keys. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Temp files this process is writing right now. Cleanup must not delete them even though they
 * carry our own pid (another store instance in this process may have a write in flight).
 */
const inFlight = new Set<string>();

/** True when `name` is a temp file name produced by {@link writeFileAtomic}. */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** The errno code of a Node fs error, or `UNKNOWN`. */
export function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

function writeError(file: string, step: string, e: unknown): VpmdError {
  const errno = errnoOf(e);
  const reason = e instanceof Error ? e.message : String(e);
  return new VpmdError(
    'E_STATE_WRITE',
    `cannot update state at ${file}: ${step} failed (${errno}): ${reason}`,
    {
      file,
      step,
      errno,
    },
    { cause: e },
  );
}

/**
 * Flushes a directory so that a rename or unlink inside it survives power loss.
 * @throws VpmdError E_STATE_WRITE when the directory cannot be opened or flushed.
 */
export async function syncDirectory(dir: string, forFile: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some filesystems (certain FUSE and network mounts) cannot fsync a directory; the rename
    // itself has still happened, so this is not a failed write.
    if (errnoOf(e) === 'EINVAL') return;
    throw writeError(forFile, 'fsync of directory', e);
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces `file` with `content` atomically and durably (temp file, fsync, rename, fsync of the
 * directory). The directory must exist. The new file gets `mode` (before umask).
 * @throws VpmdError E_STATE_WRITE naming the file, the failed step and the errno.
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  inFlight.add(temp);
  let step = 'create of temp file';
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      step = 'write of temp file';
      await handle.writeFile(content, 'utf8');
      step = 'fsync of temp file';
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'rename over target';
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined); // best effort: a leftover is removed at next start
    throw writeError(file, step, e);
  } finally {
    inFlight.delete(temp);
  }
  await syncDirectory(dir, file);
}

/**
 * Deletes `file` if present and flushes its directory. A missing file is not an error.
 * @throws VpmdError E_STATE_WRITE when the file exists but cannot be removed.
 */
export async function removeFileDurably(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw writeError(file, 'unlink', e);
  }
  await syncDirectory(dirname(file), file);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes temp files in `dir` left by writers that died mid-write: those whose process is gone,
 * and those carrying this process's pid that no write of ours is using (pid reuse after a
 * reboot). Temp files of a live other process are kept: it may still rename them. Best effort:
 * a missing directory yields nothing, and a file that vanished meanwhile is skipped.
 * @returns the names of the files removed.
 * @throws VpmdError E_STATE_WRITE when the directory cannot be listed or a stale file removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    // No directory yet means nothing to clean; creating it is the writer's job (and error).
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return [];
    throw writeError(dir, 'listing of directory for stale temp files', e);
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const pid = Number(match[2]);
    const stale = pid === process.pid ? !inFlight.has(path) : !processIsAlive(pid);
    if (!stale) continue;
    try {
      await unlink(path);
      removed.push(name);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw writeError(path, 'unlink of stale temp file', e);
    }
  }
  return removed;
}
