/**
 * Project lint: plugins never import each other. Every import or re-export specifier in
 * `plugins/<a>/**` (static, dynamic, `export ... from`) that resolves into `plugins/<b>/` fails,
 * and so does an import of `plugins/index` from a plugin. Run by `npm test`.
 * Usage: tsx scripts/lint.ts [ROOT]   (exit 1 with one line per violation)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One forbidden import. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly message: string;
}

const SPEC = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(e)) out.push(p);
  }
  return out;
}

/** Finds plugin-to-plugin imports under `root/plugins`. */
export function findCrossPluginImports(root: string): Violation[] {
  const pluginsDir = resolve(root, 'plugins');
  let names: string[];
  try {
    names = readdirSync(pluginsDir).filter((n) => statSync(join(pluginsDir, n)).isDirectory());
  } catch {
    return [];
  }
  const out: Violation[] = [];
  for (const name of names) {
    for (const file of walk(join(pluginsDir, name))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(SPEC)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
        if (!spec || !spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec);
        const rel = relative(pluginsDir, target);
        if (rel.startsWith('..')) continue; // into core/ or elsewhere: allowed
        const other = rel.split(sep)[0] ?? '';
        if (other === name) continue;
        const line = text.slice(0, m.index).split('\n').length;
        const what = /^index(\.[a-z]+)?$/.test(other) ? 'the built-in plugin list' : `plugin '${other}'`;
        out.push({
          file: relative(root, file),
          line,
          specifier: spec,
          message: `plugin '${name}' imports ${what}: plugins meet through core capabilities and events, never each other's code`,
        });
      }
    }
  }
  return out;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const root = resolve(process.argv[2] ?? '.');
  const v = findCrossPluginImports(root);
  for (const x of v) process.stderr.write(`${x.file}:${x.line}: '${x.specifier}': ${x.message}\n`);
  if (v.length > 0) {
    process.stderr.write(`lint: ${v.length} forbidden import(s)\n`);
    process.exitCode = 1;
  } else process.stdout.write('lint: no plugin imports another plugin\n');
}
