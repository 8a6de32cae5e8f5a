// Run by `npm run build` after tsc: writes dist/core/config/precompiled-validators.cjs, ajv's
// standalone validators of the configuration schemas vpmd ships (the core's, each built-in
// plugin's and each example plugin's), so that the agent compiles none of them at start
// (issue 21). A schema missing from it is compiled at run time, as before.
import { readdirSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const at = (p) => new URL(p, dist).href;
const { precompiledValidatorsSource } = await import(at('core/config/precompile-validators.js'));
const { CoreConfigSchema } = await import(at('core/config/core-schema.js'));
const { strictSchema } = await import(at('core/kernel/plugin-plan.js'));
const { BUILTIN_PLUGINS } = await import(at('app/builtin-plugins.js'));

const manifests = BUILTIN_PLUGINS.map((p) => p.manifest);
const examples = fileURLToPath(new URL('examples/plugins/', dist));
for (const name of readdirSync(examples)) {
  const mod = await import(pathToFileURL(`${examples}${name}/index.js`).href);
  manifests.push(mod.default ?? mod.manifest);
}
const schemas = [CoreConfigSchema, ...manifests.filter((m) => m?.config).map((m) => strictSchema(m.config))];
const out = fileURLToPath(new URL('core/config/precompiled-validators.cjs', dist));
writeFileSync(`${out}.tmp`, precompiledValidatorsSource(schemas));
renameSync(`${out}.tmp`, out);
process.stdout.write(`precompiled ${schemas.length} configuration validators into ${out}\n`);
