/** Secret files: the first line of a file others cannot read, or the reason there is none. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSecretProblem, readSecretLine } from '../../../core/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-secret-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

describe('readSecretLine', () => {
  it('gives the first line, trimmed', async () => {
    expect(await readSecretLine(await file('ok', '  s3cret \nsecond line\n', 0o600))).toEqual({ line: 's3cret' });
  });

  it('refuses a file every user may read, an empty one and a missing one, in words that name the file', async () => {
    const open = await file('open', 's3cret\n', 0o644);
    const empty = await file('empty', '\n', 0o600);
    const missing = join(dir, 'missing');
    const problems = await Promise.all([open, empty, missing].map((p) => readSecretLine(p)));
    expect(problems).toEqual([
      { problem: { kind: 'world-readable' } },
      { problem: { kind: 'empty' } },
      { problem: { kind: 'unreadable', code: 'ENOENT' } },
    ]);
    const words = problems.map((r, i) =>
      'problem' in r ? describeSecretProblem([open, empty, missing][i] ?? '', r.problem) : '',
    );
    expect(words).toEqual([
      `${open} is readable by every user; chmod o-r it`,
      `${empty} is empty`,
      `cannot read ${missing}: ENOENT`,
    ]);
  });
});
