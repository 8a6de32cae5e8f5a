/**
 * Child-process fixtures as compiled JavaScript. A test that spawns a TypeScript fixture through
 * `node --import tsx` pays tsx's start-up (seconds on a busy machine) for every child; a
 * crash-safety test that starts twenty children then hits its timeout. Instead the fixture and
 * everything it imports from the repository are bundled once into one ES module (esbuild, the
 * compiler tsx itself uses), and children start it with plain `node`.
 *
 * The bundle is written under node_modules/.cache so that npm packages, left outside the bundle,
 * resolve from the repository's node_modules exactly as in the sources.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'vpmd-test-fixtures');

const compiled = new Map<string, Promise<string>>();

async function bundle(entry: string): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const tag = createHash('sha256').update(entry).digest('hex').slice(0, 12);
  const out = join(CACHE, `${basename(entry, '.ts')}-${tag}.mjs`);
  // Parallel test files may bundle the same fixture: write aside, then rename into place.
  const partial = `${out}.${process.pid}.partial`;
  await build({
    entryPoints: [entry],
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
    alias: { vpmd: join(ROOT, 'core/index.ts'), 'vpmd/testkit': join(ROOT, 'testkit/index.ts') },
  });
  await rename(partial, out);
  return out;
}

/**
 * The path of a plain-JavaScript build of the TypeScript fixture `entry` (an absolute path or
 * file URL), built from the current sources on first use in this process.
 */
export function compiledFixture(entry: string | URL): Promise<string> {
  const path = typeof entry === 'string' ? entry : fileURLToPath(entry);
  let done = compiled.get(path);
  if (done === undefined) {
    done = bundle(path);
    compiled.set(path, done);
  }
  return done;
}
