/**
 * Moves a {@link SimTree} to and from disk. Files are written with a trailing newline, as the
 * kernel prints them, so `cat` on the tree looks like sysfs; directory symlinks stay symlinks.
 */
import {
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFile as readFileCb,
  rmSync,
  symlinkSync,
  writeFile as writeFileCb,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { SIM_MARKER } from './sim-state.js';
import { SimTree, relativeLink } from './sim-tree.js';

// The callback API is several times faster than fs/promises for thousands of small files
// (a 64-CPU tree has about 6000), which keeps generating and opening a host well under a second.
function readFile(path: string): Promise<string> {
  return new Promise((ok, fail) => readFileCb(path, 'utf8', (err, data) => (err ? fail(err) : ok(data))));
}

function writeFile(path: string, data: string): Promise<void> {
  return new Promise((ok, fail) => writeFileCb(path, data, (err) => (err ? fail(err) : ok())));
}

/**
 * Replaces a file's content in place, synchronously: write at offset 0, then cut the rest. Not
 * `O_TRUNC`: on ext4, truncating a non-empty file to zero and rewriting it makes close() start
 * writeback (the auto_da_alloc heuristic for replace-by-truncate), which cost about 0.2 ms per
 * file. In place, a small file costs a few µs of page-cache work. No fsync: a simulated sysfs,
 * like the real one, does not survive a crash.
 */
export function rewriteFileSync(path: string, data: string): void {
  const bytes = Buffer.from(data);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** Files written concurrently: enough to keep the thread pool busy, few enough for fd limits. */
const BATCH = 256;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await Promise.all(items.slice(i, i + BATCH).map(fn));
}

/** File content on disk: the value plus the newline the kernel appends (none for empty files). */
export function diskContent(value: string): string {
  return value === '' ? '' : `${value}\n`;
}

/** Writes a whole tree under `root` (which may exist). */
export async function writeTree(root: string, tree: SimTree): Promise<void> {
  const leafDirs = [...tree.dirs.keys()].filter(
    (d) => ![...(tree.dirs.get(d) ?? [])].some((c) => tree.dirs.has(d === '' ? c : `${d}/${c}`)),
  );
  await inBatches(leafDirs, (d) => mkdir(join(root, d), { recursive: true }).then(() => undefined));
  await inBatches([...tree.files], ([path, value]) => writeFile(join(root, path), diskContent(value)));
  await inBatches([...tree.links], async ([path, target]) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await rm(join(root, path), { force: true, recursive: true });
    await symlink(relativeLink(path, target), join(root, path));
  });
}

/** Writes a (small) tree under `root` synchronously: the simulated kernel's restructuring writes. */
export function writeTreeSync(root: string, tree: SimTree): void {
  for (const d of tree.dirs.keys()) mkdirSync(join(root, d), { recursive: true });
  for (const [path, value] of tree.files) writeFileSync(join(root, path), diskContent(value));
  for (const [path, target] of tree.links) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    rmSync(join(root, path), { force: true, recursive: true });
    symlinkSync(relativeLink(path, target), join(root, path));
  }
}

/** Reads a tree from disk (the marker file is not part of it). */
export async function loadTree(root: string): Promise<SimTree> {
  const tree = new SimTree();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    tree.dir(rel);
    await Promise.all(
      entries.map(async (entry) => {
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (rel === '' && entry.name === SIM_MARKER) return;
        if (entry.isSymbolicLink()) {
          const target = posix.normalize(posix.join(rel, await readlink(join(root, path))));
          tree.link(path, target);
        } else if (entry.isDirectory()) {
          await walk(path);
        } else {
          const text = await readFile(join(root, path));
          tree.file(path, text.endsWith('\n') ? text.slice(0, -1) : text);
        }
      }),
    );
  };
  await walk('');
  return tree;
}
