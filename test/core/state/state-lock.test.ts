import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { lockStateDir, STATE_LOCK_FILE } from '../../../core/state/state-lock.js';
import { isVpmdError } from '../../../core/errors.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('state directory lock', () => {
  it('lets one holder in, refuses a second with the holder named, and frees it on release', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-lock-'));
    const first = await lockStateDir(dir);
    const holder = JSON.parse(await readFile(join(dir, STATE_LOCK_FILE), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    const second = await lockStateDir(dir).catch((e: unknown) => e);
    expect(isVpmdError(second) && second.code).toBe('E_STATE_LOCKED');
    await first.release();
    const third = await lockStateDir(dir);
    await third.release();
    await third.release();
  });

  it('refuses while another running process holds it, and takes over a lock whose process is gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-lock-'));
    const sleeper = spawn('sleep', ['30']);
    try {
      await writeFile(join(dir, STATE_LOCK_FILE), JSON.stringify({ pid: sleeper.pid, startedAt: 'x' }));
      const refused = await lockStateDir(dir).catch((e: unknown) => e);
      expect(isVpmdError(refused) && refused.message).toContain(`pid ${sleeper.pid}`);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    const taken = await lockStateDir(dir);
    expect(JSON.parse(await readFile(taken.file, 'utf8'))).toMatchObject({ pid: process.pid });
    await taken.release();
  });
});
