/**
 * Manifest checks. Manifests of external plugins are untrusted JavaScript values, so every field
 * is checked at run time, and every problem of a manifest is reported at once.
 */
import semver from 'semver';
import { VpmdError } from '../errors.js';
import { CAPABILITY_ID, CORE_OWNER } from './capabilities.js';
import { CORE_CAPABILITY_IDS } from './core-capabilities.js';
import type { PluginManifest } from './plugin-contract.js';
import { assertOwnNamespace, vocabularyShapeProblems } from './vocabulary.js';

/**
 * The version of the plugin API this core offers. Bump the major on breaking contract changes,
 * the minor on additions. 1.2: manifests declare `errors` and `events`; `ctx.events.names()`;
 * the `domains@1` contract; the core's own `host-power@1` and
 * `audit-log@1`.
 */
export const CORE_API_VERSION = '1.2.0';

/** Plugin names: also config section names and log bindings. */
export const PLUGIN_NAME = /^[a-z][a-z0-9-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks `value` is a usable manifest from `origin` (a path, a package or `built-in`).
 * @throws VpmdError E_PLUGIN_MANIFEST listing every problem; E_PLUGIN_API_VERSION when the core API range excludes this core;
 *   E_PLUGIN_NAMESPACE when an error code or event type lies outside the plugin's namespace.
 */
export function validateManifest(value: unknown, origin: string): PluginManifest {
  if (!isRecord(value)) {
    throw new VpmdError(
      'E_PLUGIN_MANIFEST',
      `plugin from ${origin}: the module's default export must be a manifest object (see docs/plugins.md)`,
      {
        origin,
      },
    );
  }
  const name = typeof value.name === 'string' && PLUGIN_NAME.test(value.name) ? value.name : undefined;
  const who = name ?? `from ${origin}`;
  const problems: string[] = [];
  if (name === undefined)
    problems.push(`name: must be lower-case letters, digits and dashes, got ${JSON.stringify(value.name)}`);
  if (typeof value.version !== 'string' || semver.valid(value.version) === null) {
    problems.push(`version: must be a semver version such as 1.2.0, got ${JSON.stringify(value.version)}`);
  }
  if (typeof value.description !== 'string' || value.description.trim() === '')
    problems.push('description: must be a non-empty string');
  const range = typeof value.coreApi === 'string' ? semver.validRange(value.coreApi) : null;
  if (range === null)
    problems.push(`coreApi: must be a semver range such as ^1.0.0, got ${JSON.stringify(value.coreApi)}`);
  if (!isRecord(value.config) || value.config.type !== 'object') {
    problems.push('config: must be an object schema (TypeBox Type.Object or JSON Schema with type "object")');
  }
  for (const list of ['provides', 'requires', 'optional'] as const) {
    const v = value[list];
    if (v === undefined) continue;
    if (!Array.isArray(v)) {
      problems.push(`${list}: must be a list of capability ids`);
      continue;
    }
    v.forEach((id, i) => {
      if (typeof id !== 'string' || !CAPABILITY_ID.test(id))
        problems.push(`${list}[${i}]: ${JSON.stringify(id)} is not a capability id like name@1`);
    });
  }
  if (name === CORE_OWNER) problems.push(`name: '${CORE_OWNER}' is reserved for the core itself`);
  if (Array.isArray(value.provides))
    value.provides.forEach((id, i) => {
      if (typeof id === 'string' && CORE_CAPABILITY_IDS.includes(id))
        problems.push(`provides[${i}]: ${id} is provided by the core itself; a plugin cannot provide it`);
    });
  if (value.validate !== undefined && typeof value.validate !== 'function')
    problems.push('validate: must be a function (config) => problems, or absent');
  if (typeof value.register !== 'function')
    problems.push('register: must be a function (ctx) => { start, stop, health? }');
  problems.push(...vocabularyShapeProblems(value));
  if (problems.length > 0) {
    throw new VpmdError('E_PLUGIN_MANIFEST', `plugin ${who}: invalid manifest: ${problems.join('; ')}`, {
      plugin: who,
      origin,
      problems,
    });
  }
  const m = value as unknown as PluginManifest;
  if (!semver.satisfies(CORE_API_VERSION, m.coreApi)) {
    throw new VpmdError(
      'E_PLUGIN_API_VERSION',
      `plugin ${m.name} ${m.version} needs core API ${m.coreApi}, this vpmd offers ${CORE_API_VERSION}`,
      { plugin: m.name, wanted: m.coreApi, offered: CORE_API_VERSION },
    );
  }
  assertOwnNamespace(m, origin);
  return m;
}
