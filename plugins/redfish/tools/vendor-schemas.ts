/**
 * Copies into `plugins/redfish/dmtf/json-schema/` the DMTF JSON schema files the tests validate
 * against: the versioned schema of every type the service emits (resources/types.ts), the
 * collections, and every file they reference, transitively. Nothing else is vendored.
 *
 * Usage: npx tsx plugins/redfish/tools/vendor-schemas.ts /path/to/DSP8010/json-schema
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COLLECTIONS, TYPE_VERSIONS } from '../resources/types.js';
import { referencedFiles } from './schema-validator.js';
import { PLUGIN_DIR } from './generate-tables.js';

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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const source = process.argv[2];
  if (!source) throw new Error('usage: vendor-schemas.ts SOURCE_JSON_SCHEMA_DIR');
  const dest = join(PLUGIN_DIR, 'dmtf', 'json-schema');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const files = closure(source, rootFiles());
  for (const f of files) copyFileSync(join(source, f), join(dest, f));
  process.stdout.write(`vendored ${files.length} of ${readdirSync(source).length} schema files into ${dest}\n`);
}
