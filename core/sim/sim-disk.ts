/**
 * Moves a {@link SimTree} to and from disk. Files are written with a trailing newline, as the
 * kernel prints them, so `cat` on the tree looks like sysfs; directory symlinks stay symlinks.
 */
import { readFile as readFileCb, writeFile as writeFileCb } from 'node:fs';
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
  const leafDirs = [...tree.dirs.keys()].filter((d) => ![...(tree.dirs.get(d) ?? [])].some((c) => tree.dirs.has(d === '' ? c : `${d}/${c}`)));
  await inBatches(leafDirs, (d) => mkdir(join(root, d), { recursive: true }).then(() => undefined));
  await inBatches([...tree.files], ([path, value]) => writeFile(join(root, path), diskContent(value)));
  await inBatches([...tree.links], async ([path, target]) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await rm(join(root, path), { force: true, recursive: true });
    await symlink(relativeLink(path, target), join(root, path));
  });
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

/**
 * Persists changes in the order they were made: each change waits for the previous one, so
 * the files on disk always match some past state of the in-memory tree.
 */
export class SimDiskWriter {
  private tail: Promise<void> = Promise.resolve();

  /** @param root Directory of the simulated tree. */
  constructor(private readonly root: string) {}

  /** Runs `op` after every change queued before it. */
  run(op: () => Promise<void>): Promise<void> {
    const next = this.tail.then(op);
    // A failed write must not block later ones; its caller still sees the failure.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Writes one file. */
  writeFile(path: string, value: string): Promise<void> {
    return this.run(() => writeFile(join(this.root, path), diskContent(value)));
  }

  /** Removes a path recursively. */
  remove(path: string): Promise<void> {
    return this.run(() => rm(join(this.root, path), { recursive: true, force: true }));
  }

  /** Writes the part of `tree` under the given paths (files, directories and links). */
  writeSubtrees(tree: SimTree, paths: readonly string[]): Promise<void> {
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
    // Copied now: the tree may change again before the queue reaches this write.
    for (const path of paths) copy(path);
    return this.run(() => writeTree(this.root, sub));
  }

  /** Resolves when every queued change is on disk. */
  flush(): Promise<void> {
    return this.tail;
  }
}
