// Run by `npm run build` after tsc (issue 21): bundles tsc's output into a few ES modules in
// dist/app/, so that vpmd and vpmctl load a handful of files instead of about 850 (start-up
// spent half a second resolving and compiling them). One split build of four entry points:
// dist/app/vpmd.js and dist/app/vpmctl.js (the programs, in place), vpmd-core.js and
// vpmd-testkit.js, which dist/core/index.js and dist/testkit/index.js then re-export, and
// vpmd-tooling.js for the repository's scripts (app/tooling.ts). The
// package's `vpmd` export is therefore the very core the agent runs: an external plugin's
// VpmdError, capability tokens and the rest are the agent's own, not a second copy.
// The other files tsc wrote stay (types, source maps, the example plugins); importing them
// directly mixes two cores, since a plugin's `vpmd` is the bundle's.
import { build } from 'esbuild';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist/`;
const outdir = `${dist}app`;

// Each module keeps the import.meta.url of its own file in dist/ (its paths to package.json,
// the precompiled validators, the example plugins, MIB files...), not the bundle's.
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(outdir, args.path).split(sep).join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

// The programs' interpreter line (vpmd's sets Node flags) stays on top of each program.
const shebangOf = async (file) => ((await readFile(file, 'utf8')).match(/^#!.*\n/) ?? [''])[0];
const shebangs = {
  vpmd: await shebangOf(`${outdir}/vpmd.js`),
  vpmctl: await shebangOf(`${outdir}/vpmctl.js`),
};

// Chunk names carry a hash: an earlier build's chunks would stay behind.
for (const f of await readdir(outdir)) if (/^chunk-.*\.js$/.test(f)) await rm(`${outdir}/${f}`);

await build({
  entryPoints: {
    vpmd: `${outdir}/vpmd.js`,
    vpmctl: `${outdir}/vpmctl.js`,
    'vpmd-core': `${dist}core/index.js`,
    'vpmd-testkit': `${dist}testkit/index.js`,
    'vpmd-tooling': `${outdir}/tooling.js`,
  },
  outdir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // CommonJS dependencies call require(): give the bundle one.
  banner: {
    js: "import { createRequire as __vpmdCreateRequire } from 'node:module';\nconst require = __vpmdCreateRequire(import.meta.url);",
  },
  // Native addons, optional peers, and packages that find their own files by __dirname (pino's
  // and thread-stream's workers, net-snmp's MIBs) or are loaded on demand (ajv) stay packages.
  external: ['usocket', 'x11', 'pino', 'thread-stream', 'net-snmp', 'ajv', 'ajv-formats', 'ajv/*'],
  plugins: [ownUrl],
  // tsconfig.json maps `vpmd` to core/index.ts for the type checker: here it is tsc's output,
  // or the bundle would hold the core twice (its own and the source's).
  tsconfigRaw: {},
  alias: { vpmd: `${dist}core/index.js`, 'vpmd/testkit': `${dist}testkit/index.js` },
  legalComments: 'none',
  logLevel: 'warning',
});

for (const [name, line] of Object.entries(shebangs)) {
  const file = `${outdir}/${name}.js`;
  const text = await readFile(file, 'utf8');
  if (line && !text.startsWith('#!')) await writeFile(file, line + text);
}
await writeFile(`${dist}core/index.js`, "// Bundled: see scripts/bundle.mjs.\nexport * from '../app/vpmd-core.js';\n");
await writeFile(
  `${dist}testkit/index.js`,
  "// Bundled: see scripts/bundle.mjs.\nexport * from '../app/vpmd-testkit.js';\n",
);
process.stdout.write('bundled dist/app/vpmd.js, vpmctl.js, vpmd-core.js, vpmd-testkit.js, vpmd-tooling.js\n');
