/**
 * An in-memory file tree: the simulated host before it is written to disk, and the simulated
 * kernel's view of it afterwards. Paths are root-relative (`sys/devices/system/cpu/online`);
 * directory symlinks (`cpuN/cpufreq` → `../cpufreq/policyN`) are kept as links.
 */

/** Files, directories and directory symlinks of a tree. */
export class SimTree {
  /** File path → content without trailing newline. */
  readonly files = new Map<string, string>();
  /** Directory path → entry names ('' is the root). */
  readonly dirs = new Map<string, Set<string>>([['', new Set()]]);
  /** Link path → target path (root-relative, already resolved). */
  readonly links = new Map<string, string>();

  private addEntry(path: string): void {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    this.dir(parent);
    this.dirs.get(parent)?.add(path.slice(slash + 1));
  }

  /** Creates a directory and its parents. */
  dir(path: string): this {
    if (!this.dirs.has(path)) {
      this.dirs.set(path, new Set());
      this.addEntry(path);
    }
    return this;
  }

  /** Creates or replaces a file (and its parent directories). */
  file(path: string, content: string | number): this {
    if (!this.files.has(path)) this.addEntry(path);
    this.files.set(path, String(content));
    return this;
  }

  /** Sets several files under one directory. */
  filesIn(dir: string, entries: Readonly<Record<string, string | number>>): this {
    for (const [name, content] of Object.entries(entries)) this.file(`${dir}/${name}`, content);
    return this;
  }

  /** Creates a symlink to a root-relative target. */
  link(path: string, target: string): this {
    if (!this.links.has(path)) this.addEntry(path);
    this.links.set(path, target);
    return this;
  }

  /** Removes a file, link or directory (recursively). */
  remove(path: string): void {
    const slash = path.lastIndexOf('/');
    this.dirs.get(slash < 0 ? '' : path.slice(0, slash))?.delete(path.slice(slash + 1));
    this.files.delete(path);
    this.links.delete(path);
    const children = this.dirs.get(path);
    if (children === undefined) return;
    for (const child of [...children]) this.remove(`${path}/${child}`);
    this.dirs.delete(path);
  }

  /**
   * Resolves directory symlinks along a path: `sys/devices/system/cpu/cpu3/cpufreq/x` →
   * `sys/devices/system/cpu/cpufreq/policy3/x`.
   */
  resolve(path: string): string {
    let acc = '';
    for (const segment of path.split('/')) {
      acc = acc === '' ? segment : `${acc}/${segment}`;
      for (let hops = 0; hops < 8; hops++) {
        const target = this.links.get(acc);
        if (target === undefined) break;
        acc = target;
      }
    }
    return acc;
  }

  /** Kind of the entry at a resolved path. */
  kind(path: string): 'file' | 'dir' | undefined {
    if (this.files.has(path)) return 'file';
    if (this.dirs.has(path)) return 'dir';
    return undefined;
  }
}

/** Relative link text from the link's directory to a root-relative target (`../cpufreq/policy3`). */
export function relativeLink(linkPath: string, target: string): string {
  const from = linkPath.split('/').slice(0, -1);
  const to = target.split('/');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  return [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/');
}
