/**
 * Validates payloads against the DMTF JSON schema of their `@odata.type` with ajv, following
 * the notes in docs/redfish.md: draft-07 with DMTF keywords (validateSchema off, strict off),
 * every file registered under its `http://redfish.dmtf.org/schemas/v1/` URL with its `$id`
 * removed, targets missing from the folder (older versions, Swordfish) stubbed so any
 * `#/definitions/X` in them accepts anything. Only the versioned schemas actually emitted are
 * compiled, once each.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;
/** Where every DMTF `$ref` points. */
export const URL_PREFIX = 'http://redfish.dmtf.org/schemas/v1/';
const REF = /"\$ref":\s*"(http:\/\/redfish\.dmtf\.org\/schemas\/[^"#]+)/g;

/** The schema URLs (without fragment) a file's `$ref`s name. */
export function referencedUrls(text: string): string[] {
  return [...new Set([...text.matchAll(REF)].map((m) => m[1] as string))];
}

/** The files of the v1 folder a file's `$ref`s name. */
export function referencedFiles(text: string): string[] {
  return referencedUrls(text)
    .filter((u) => u.startsWith(URL_PREFIX))
    .map((u) => u.slice(URL_PREFIX.length));
}

/** The JSON schema file of an `@odata.type`: `#Ns.v1_2_3.T` → `Ns.v1_2_3.json`, `#NsCollection.NsCollection` → `NsCollection.json`. */
export function schemaFileOf(odataType: string): { file: string; definition: string } {
  const m = /^#([A-Za-z0-9-]+)\.(?:(v\d+_\d+_\d+)\.)?([A-Za-z0-9]+)$/.exec(odataType);
  if (!m) throw new Error(`not an @odata.type: ${odataType}`);
  return { file: m[2] ? `${m[1]}.${m[2]}.json` : `${m[1]}.json`, definition: m[3] as string };
}

/** A compiled-schema cache over one folder of DMTF JSON schema files. */
export class RedfishSchemas {
  private readonly ajv: InstanceType<typeof Ajv>;
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Referenced URLs absent from the folder, stubbed. */
  readonly stubbed = new Set<string>();

  /**
   * @param extra schemas that are not DMTF's (vpmd's OEM namespaces), by file name; registered
   *   under the same URL prefix so an `@odata.type` of theirs finds them.
   */
  constructor(dir: string, extra: Readonly<Record<string, Record<string, unknown>>> = {}) {
    this.ajv = new Ajv({ validateSchema: false, strict: false, allErrors: true });
    addFormats(this.ajv);
    const present = new Set([...readdirSync(dir).filter((f) => f.endsWith('.json')), ...Object.keys(extra)]);
    for (const file of present) {
      const text = extra[file] ? JSON.stringify(extra[file]) : readFileSync(join(dir, file), 'utf8');
      const schema = JSON.parse(text) as Record<string, unknown>;
      delete schema.$id;
      delete schema.$schema;
      this.ajv.addSchema(schema, URL_PREFIX + file);
      for (const url of referencedUrls(text)) if (!present.has(url.slice(URL_PREFIX.length))) this.stubbed.add(url);
    }
    for (const file of this.stubbed) {
      // `file` is a full URL here
      this.ajv.addSchema(
        { definitions: new Proxy({}, { get: (_t, k) => (typeof k === 'string' ? {} : undefined) }) },
        file,
      );
    }
  }

  /** The validator of an `@odata.type`, compiled on first use. */
  validator(odataType: string): ValidateFunction {
    let v = this.compiled.get(odataType);
    if (!v) {
      const { file, definition } = schemaFileOf(odataType);
      v = this.ajv.compile({ $ref: `${URL_PREFIX}${file}#/definitions/${definition}` });
      this.compiled.set(odataType, v);
    }
    return v;
  }

  /** Validates a payload by its own `@odata.type`; returns readable problems (empty when valid). */
  check(payload: Record<string, unknown>): string[] {
    const t = payload['@odata.type'];
    if (typeof t !== 'string') return ['payload has no @odata.type'];
    const v = this.validator(t);
    if (v(payload)) return [];
    return (v.errors ?? []).map(
      (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  }
}
