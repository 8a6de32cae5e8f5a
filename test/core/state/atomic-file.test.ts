import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVpmdError } from '../../../core/errors.js';
import { isTempFileName, removeStaleTempFiles, writeFileAtomic } from '../../../core/state/index.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-atomic-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates and then replaces a file with the given mode, leaving no temp file', async () => {
    const file = join(dir, 'a.json');
    await writeFileAtomic(file, 'first', 0o640);
    await writeFileAtomic(file, 'second', 0o600);
    expect(await readFile(file, 'utf8')).toBe('second');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('fails with E_STATE_WRITE naming the step when the directory is missing', async () => {
    const file = join(dir, 'missing', 'a.json');
    const error: unknown = await writeFileAtomic(file, 'x').catch((e: unknown) => e);
    expect(isVpmdError(error, 'E_STATE_WRITE')).toBe(true);
    expect(isVpmdError(error) && error.details).toMatchObject({ file, step: 'create of temp file', errno: 'ENOENT' });
  });
});

describe('temp file names', () => {
  it('recognizes only the names writeFileAtomic produces', () => {
    expect(isTempFileName('.a.json.123.0badf00d.tmp')).toBe(true);
    expect(isTempFileName('a.json.123.0badf00d.tmp')).toBe(false); // no leading dot: could be a key
    expect(isTempFileName('.a.json.123.tmp')).toBe(false);
    expect(isTempFileName('.a.json.x23.0badf00d.tmp')).toBe(false);
  });

  it('finds nothing to remove in a missing directory', async () => {
    expect(await removeStaleTempFiles(join(dir, 'missing'))).toEqual([]);
  });

  it('reports which stale temp files it removed', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFileAtomic(join(dir, 'sub', 'a.json'), 'x');
    const leftover = `.a.json.${process.pid}.deadbeef.tmp`;
    await writeFile(join(dir, 'sub', leftover), '{"trunc');
    expect(await removeStaleTempFiles(join(dir, 'sub'))).toEqual([leftover]);
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });
});
