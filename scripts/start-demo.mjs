#!/usr/bin/env node
// `npm start`: compile (saying so, with the elapsed time, instead of two silent minutes) unless
// dist/ is newer than every source file, then run `vpmd --demo` with the arguments given.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SOURCES = ['core', 'app', 'plugins', 'testkit', 'examples'];

function newest(dir, ext) {
  let latest = 0;
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = newest(path, ext);
      latest = Math.max(latest, sub.latest);
      count += sub.count;
    } else if (entry.name.endsWith(ext) && !entry.name.endsWith('.d.ts')) {
      latest = Math.max(latest, statSync(path).mtimeMs);
      count++;
    }
  }
  return { latest, count };
}

function run(cmd, args, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const src = SOURCES.reduce(
  (acc, d) => {
    const n = newest(join(root, d), '.ts');
    return { latest: Math.max(acc.latest, n.latest), count: acc.count + n.count };
  },
  { latest: 0, count: 0 },
);
let built = 0;
try {
  built = newest(join(root, 'dist'), '.js').latest;
} catch {
  // no dist/ yet
}
if (built < src.latest) {
  const started = Date.now();
  process.stdout.write(`vpmd: compiling ${src.count} TypeScript files into dist/ (tsc; 1-3 minutes on 2 cores)\n`);
  const ticker = setInterval(() => {
    process.stdout.write(`vpmd: still compiling, ${Math.round((Date.now() - started) / 1000)} s\n`);
  }, 15_000);
  let code = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  // The rest of `npm run build`: precompiled validators, then the bundle (issue 21).
  for (const step of ['scripts/precompile-validators.mjs', 'scripts/bundle.mjs'])
    if (code === 0) code = await run(process.execPath, [join(root, step)]);
  clearInterval(ticker);
  if (code !== 0) {
    process.stderr.write(`vpmd: the build failed (exit ${code}); see the errors above\n`);
    process.exit(code);
  }
  process.stdout.write(`vpmd: compiled in ${Math.round((Date.now() - started) / 1000)} s; starting the demo\n`);
} else {
  process.stdout.write('vpmd: dist/ is up to date; starting the demo\n');
}
// The agent as its interpreter line starts it (`#!/usr/bin/env -S VAR=value node --flag`): the
// same memory settings as an installed vpmd, from the one place they are written.
const main = join(root, 'dist/app/vpmd.js');
const words = readFileSync(main, 'utf8')
  .split('\n', 1)[0]
  .replace(/^#!\S+\s+-S\s+/, '')
  .split(/\s+/);
const env = { ...process.env };
const flags = [];
for (const w of words) {
  const assignment = /^([A-Z_]+)=(.*)$/.exec(w);
  if (assignment) env[assignment[1]] = assignment[2];
  else if (w.startsWith('--')) flags.push(w);
}
process.exit(await run(process.execPath, [...flags, main, '--demo', ...process.argv.slice(2)], env));
