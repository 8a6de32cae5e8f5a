/**
 * Copies into `plugins/redfish/dmtf/` the DMTF files the tests validate against: in
 * `json-schema/` the versioned schema of every type the service emits (resources/types.ts), the
 * collections, and every file they reference, transitively; in `csdl/` the CSDL files that
 * `$metadata` references. Nothing else is vendored.
 *
 * Usage: npx tsx plugins/redfish/tools/vendor-schemas.ts DSP8010/json-schema DSP8010/csdl
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COLLECTIONS, TYPE_VERSIONS } from '../resources/types.js';
import { referencedFiles } from './schema-validator.js';
import { PLUGIN_DIR } from './generate-tables.js';
import { metadataXml } from '../resources/service-root.js';

/** The root files: what the service emits (and the error and OData files). */
export function rootFiles(): string[] {
  return [
    ...Object.entries(TYPE_VERSIONS).map(([t, v]) => `${t}.${v}.json`),
    ...COLLECTIONS.map((c) => `${c}.json`),
    'redfish-error.v1_0_2.json',
    'odata-v4.json',
  ];
}

/** The transitive closure of `roots` within `source`. */
export function closure(source: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const f = queue.pop() as string;
    if (seen.has(f) || !existsSync(join(source, f))) continue;
    seen.add(f);
    queue.push(...referencedFiles(readFileSync(join(source, f), 'utf8')));
  }
  return [...seen].sort();
}

/** The CSDL files `$metadata` references. */
export function csdlFiles(): string[] {
  return [...metadataXml().matchAll(/<edmx:Reference Uri="http:\/\/redfish\.dmtf\.org\/schemas\/v1\/([^"]+)"/g)]
    .map((m) => m[1] as string)
    .sort();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [source, csdlSource] = process.argv.slice(2);
  if (!source || !csdlSource) throw new Error('usage: vendor-schemas.ts SOURCE_JSON_SCHEMA_DIR SOURCE_CSDL_DIR');
  const dest = join(PLUGIN_DIR, 'dmtf', 'json-schema');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const files = closure(source, rootFiles());
  for (const f of files) copyFileSync(join(source, f), join(dest, f));
  process.stdout.write(`vendored ${files.length} of ${readdirSync(source).length} schema files into ${dest}\n`);
  const csdlDest = join(PLUGIN_DIR, 'dmtf', 'csdl');
  rmSync(csdlDest, { recursive: true, force: true });
  mkdirSync(csdlDest, { recursive: true });
  for (const f of csdlFiles()) copyFileSync(join(csdlSource, f), join(csdlDest, f));
  process.stdout.write(`vendored ${csdlFiles().length} CSDL files into ${csdlDest}\n`);
}
