/**
 * Project lint: the house's doors. Run by `npm test` before ESLint.
 * - A plugin (`plugins/<name>/**`) or an example plugin (`examples/plugins/<name>/**`) imports
 *   only its own files, `vpmd` (the public API), Node's built-ins and npm packages: never
 *   another plugin, the built-in plugin list, a deep path into core (`../../core/host/…`) or a
 *   `vpmd/<subpath>`.
 * - `core/` is a library: it imports nothing above it (`app/`, `plugins/`, `testkit/`, …).
 * - `testkit/` (exported as `vpmd/testkit`) imports core and itself, never `app/` or a plugin.
 * - No import cycle between files of `plugins/` or `core/`: a folder reads like a floor plan
 *   (see docs/plugins.md), and a cycle means two files that are really one, or a shared piece
 *   that belongs a floor lower.
 * Every import form counts: static, dynamic, `export … from`, side-effect and `require`.
 * Usage: tsx scripts/lint.ts [ROOT]   (exit 1 with one line per violation)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One forbidden import. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly message: string;
}

const SPEC =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(e)) out.push(p);
  }
  return out;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory());
  } catch {
    return [];
  }
}

interface ImportSite {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
}

function importsOf(file: string): ImportSite[] {
  const text = readFileSync(file, 'utf8');
  const out: ImportSite[] = [];
  for (const m of text.matchAll(SPEC)) {
    const specifier = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (specifier === undefined) continue;
    out.push({ file, line: text.slice(0, m.index).split('\n').length, specifier });
  }
  return out;
}

/** Top-level folder (relative to root) a relative specifier resolves into, and the path itself. */
function target(root: string, site: ImportSite): string {
  return relative(root, resolve(dirname(site.file), site.specifier))
    .split(sep)
    .join('/');
}

function describeTarget(rel: string): string {
  if (/^app\/builtin-plugins(\.[a-z]+)?$/.test(rel)) return 'the built-in plugin list';
  const [top, second] = rel.split('/');
  if (top === 'plugins' && second !== undefined) return `plugin '${second}'`;
  if (top === 'core') return `core's internals (${rel})`;
  return rel;
}

/** A plugin's files: own folder, `vpmd`, built-ins and packages only. */
function checkPlugin(root: string, kind: string, name: string, pluginDir: string): Violation[] {
  const out: Violation[] = [];
  const own = relative(root, pluginDir).split(sep).join('/');
  for (const file of walk(pluginDir)) {
    for (const site of importsOf(file)) {
      const spec = site.specifier;
      let why: string | undefined;
      if (spec.startsWith('.')) {
        const rel = target(root, site);
        if (rel === own || rel.startsWith(`${own}/`)) continue;
        why = `imports ${describeTarget(rel)}: a plugin imports only 'vpmd' and its own files; plugins meet through core capabilities and events`;
      } else if (spec.startsWith('vpmd/')) {
        why = `imports '${spec}': a plugin imports only 'vpmd' (export what plugins need from core/index.ts)`;
      } else continue;
      out.push({ file: relative(root, file), line: site.line, specifier: spec, message: `${kind} '${name}' ${why}` });
    }
  }
  return out;
}

/** Files under `folder` whose relative imports leave it for one of `forbidden` top-level folders. */
function checkLayer(root: string, folder: string, forbidden: readonly string[], what: string): Violation[] {
  const out: Violation[] = [];
  for (const file of walk(join(root, folder))) {
    for (const site of importsOf(file)) {
      if (!site.specifier.startsWith('.')) continue;
      const rel = target(root, site);
      const top = rel.split('/')[0] ?? '';
      if (!forbidden.includes(top)) continue;
      out.push({
        file: relative(root, file),
        line: site.line,
        specifier: site.specifier,
        message: `${what} imports ${describeTarget(rel)}`,
      });
    }
  }
  return out;
}

/** The file a relative specifier names: `./x.js` is `x.ts` in the source tree; `./x` may be `x/index.ts`. */
function resolveFile(site: ImportSite): string | undefined {
  const base = resolve(dirname(site.file), site.specifier);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, join(base, 'index.ts')]) {
    if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(candidate) && existsSync(candidate) && statSync(candidate).isFile())
      return candidate;
  }
  return undefined;
}

/**
 * Import cycles between the files under `folders` (relative imports of every form, type-only
 * ones included: a type cycle is still two files that cannot be read one after the other).
 * Each tangle is reported at the import that closes it in a depth-first walk (a tangle with
 * several loops may need several rounds of fixing).
 */
function checkCycles(root: string, folders: readonly string[]): Violation[] {
  const edges = new Map<string, { to: string; site: ImportSite }[]>();
  for (const folder of folders) {
    for (const file of walk(join(root, folder))) {
      const out: { to: string; site: ImportSite }[] = [];
      for (const site of importsOf(file)) {
        if (!site.specifier.startsWith('.')) continue;
        const to = resolveFile(site);
        if (to !== undefined) out.push({ to, site });
      }
      edges.set(file, out);
    }
  }
  const name = (f: string): string => relative(root, f).split(sep).join('/');
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const found: Violation[] = [];
  const visit = (file: string): void => {
    path.push(file);
    onPath.add(file);
    for (const { to, site } of edges.get(file) ?? []) {
      if (!edges.has(to) || done.has(to)) continue;
      if (onPath.has(to)) {
        const loop = [...path.slice(path.indexOf(to)), to].map(name);
        found.push({
          file: name(file),
          line: site.line,
          specifier: site.specifier,
          message: `import cycle: ${loop.join(' -> ')}; move the shared piece into a file both can import`,
        });
        continue;
      }
      visit(to);
    }
    path.pop();
    onPath.delete(file);
    done.add(file);
  };
  for (const file of [...edges.keys()].sort()) if (!done.has(file)) visit(file);
  return found;
}

/** Every violation of the house's import rules under `root`, sorted by file and line. */
export function findForbiddenImports(root: string): Violation[] {
  const out: Violation[] = [];
  for (const name of subdirs(join(root, 'plugins')))
    out.push(...checkPlugin(root, 'plugin', name, join(root, 'plugins', name)));
  for (const name of subdirs(join(root, 'examples', 'plugins'))) {
    out.push(...checkPlugin(root, 'example plugin', name, join(root, 'examples', 'plugins', name)));
  }
  out.push(
    ...checkLayer(
      root,
      'core',
      ['app', 'plugins', 'testkit', 'examples', 'test', 'bench', 'scripts'],
      'core (a library: it imports nothing above it)',
    ),
  );
  out.push(
    ...checkLayer(
      root,
      'testkit',
      ['app', 'plugins', 'examples', 'test', 'bench', 'scripts'],
      'the test kit (core and itself only)',
    ),
  );
  out.push(...checkCycles(root, ['plugins', 'core']));
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const root = resolve(process.argv[2] ?? '.');
  const v = findForbiddenImports(root);
  for (const x of v) process.stderr.write(`${x.file}:${x.line}: '${x.specifier}': ${x.message}\n`);
  if (v.length > 0) {
    process.stderr.write(`lint: ${v.length} forbidden import(s)\n`);
    process.exitCode = 1;
  } else
    process.stdout.write(
      'lint: plugins import only vpmd; core and the test kit import nothing above them; no import cycles\n',
    );
}
