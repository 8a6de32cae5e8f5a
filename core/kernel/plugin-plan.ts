/**
 * Planning: before anything starts, check every manifest, every plugin's config section and the
 * dependency graph, and compute the start order. `vpmd check-config` runs exactly this, so a
 * file that passes the check is one the agent accepts.
 */
import type { TObject } from '@sinclair/typebox';
import { VpmdError } from '../errors.js';
import { RESERVED_PLUGIN_KEYS, type CoreConfig } from '../config/core-schema.js';
import { schemaErrors } from '../config/schema-errors.js';
import type { ConfigProblem } from '../config/load-config.js';
import { validateManifest } from './manifest.js';
import { orderPlugins } from './plugin-order.js';
import { CORE_CAPABILITY_IDS } from './core-capabilities.js';
import { claimProblems } from './vocabulary.js';
import type { PluginManifest } from './plugin-contract.js';

/** The strict form of each plugin's schema, made once per manifest schema (see strictSchema). */
const strictSchemas = new WeakMap<TObject, TObject>();

/**
 * A plugin's schema, strict about unknown keys (a typo in a plugin section must not be silently
 * ignored). Made once: ajv caches compiled validators by schema object, so a fresh copy per
 * plan compiled every plugin's schema again (a start-up plans twice, check and start: 19
 * compiles instead of 12, 130-300 ms of CPU here) and kept each copy's code for good.
 */
export function strictSchema(config: TObject): TObject {
  if (config.additionalProperties !== undefined) return config;
  let strict = strictSchemas.get(config);
  if (strict === undefined) {
    strict = { ...config, additionalProperties: false };
    strictSchemas.set(config, strict);
  }
  return strict;
}

/** Where a plugin comes from: shipped with vpmd, loaded from `plugins.<name>.module`, or a test's. */
export type PluginKind = 'built-in' | 'external' | 'testkit';

/** A plugin offered to the kernel: a (not yet checked) manifest and where it came from. */
export interface PluginSource {
  readonly manifest: unknown;
  /** What kind of plugin it is (the planner lists the built-in ones in its messages). */
  readonly kind: PluginKind;
  /** For display: `built-in`, `testkit`, a file path or an npm package name. */
  readonly origin: string;
}

/** One plugin after planning. */
export interface PlannedPlugin {
  readonly manifest: PluginManifest;
  readonly origin: string;
  /** False when its section is absent or says `enabled: false`. */
  readonly enabled: boolean;
  /** Validated section without reserved keys, defaults applied (frozen when the context is built). */
  readonly config: Record<string, unknown>;
}

/** The outcome of planning. */
export interface PluginPlan {
  /** Enabled plugins in start order, then disabled ones. */
  readonly plugins: readonly PlannedPlugin[];
  /** Every problem; the agent refuses to start when there is any. */
  readonly problems: readonly ConfigProblem[];
}

function problemOf(e: unknown, path: string): ConfigProblem {
  const err = e instanceof VpmdError ? e : new VpmdError('E_INTERNAL', String(e));
  return { path, message: `${err.message} [${err.code}]` };
}

/** A section naming no plugin the agent has: which plugins there are, and the likely one. */
function unknownPlugin(name: string, manifests: readonly { m: PluginManifest; kind: PluginKind }[]): ConfigProblem {
  // The test kit's plugins stand in for the built-in ones.
  const offered = manifests.filter((x) => x.kind !== 'external').map((x) => x.m.name);
  const kind = manifests.some((x) => x.kind === 'testkit') ? 'available' : 'built-in';
  const near = offered.find((n) => editDistance(n, name) <= 2);
  const list =
    offered.length > 0 ? `the ${kind} plugins are ${[...offered].sort().join(', ')}` : `there are no ${kind} plugins`;
  return {
    path: `plugins.${name}`,
    message:
      `unknown plugin '${name}'${near === undefined ? '' : ` (did you mean '${near}'?)`}: ${list}; ` +
      `to load another plugin, give its file or package in plugins.${name}.module`,
  };
}

/** Levenshtein distance, for "did you mean" (names are short). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * Plans the plugins. A built-in plugin runs when its section `plugins.<name>` exists and does not
 * say `enabled: false`; an external one when its section names a `module`.
 */
export function planPlugins(sources: readonly PluginSource[], config: CoreConfig): PluginPlan {
  const problems: ConfigProblem[] = [];
  const manifests: { m: PluginManifest; origin: string; kind: PluginKind }[] = [];
  for (const src of sources) {
    try {
      const m = validateManifest(src.manifest, src.origin);
      const dup = manifests.find((x) => x.m.name === m.name);
      if (dup) {
        problems.push({
          path: `plugins.${m.name}`,
          message: `two plugins are named ${m.name} (${dup.origin} and ${src.origin}) [E_PLUGIN_DUPLICATE]`,
        });
        continue;
      }
      manifests.push({ m, origin: src.origin, kind: src.kind });
    } catch (e) {
      problems.push(problemOf(e, src.kind === 'built-in' ? 'plugins' : `plugins (${src.origin})`));
    }
  }
  // Two plugins claiming one code (or overlapping prefixes): the later one cannot be loaded.
  for (const c of claimProblems(manifests.map((x) => x.m)))
    problems.push({ path: `plugins.${c.plugin}`, message: c.message });
  const known = new Set(manifests.map((x) => x.m.name));
  for (const name of Object.keys(config.plugins)) {
    if (!known.has(name) && config.plugins[name]?.module === undefined) problems.push(unknownPlugin(name, manifests));
  }
  const planned: PlannedPlugin[] = [];
  for (const { m, origin } of manifests) {
    const section = config.plugins[m.name];
    const enabled = section !== undefined && section.enabled !== false;
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(section ?? {})) if (!RESERVED_PLUGIN_KEYS.includes(k)) own[k] = v;
    const schema = strictSchema(m.config);
    if (enabled || section !== undefined) {
      for (const e of schemaErrors(schema, own, `plugins.${m.name}`)) problems.push(e);
    }
    planned.push({ manifest: m, origin, enabled, config: own });
  }
  const enabled = planned.filter((p) => p.enabled);
  const disabledProviders = new Map<string, string>();
  for (const p of planned.filter((x) => !x.enabled))
    for (const id of p.manifest.provides ?? []) disabledProviders.set(id, p.manifest.name);
  // The core provides its own capabilities before any plugin starts: nothing to order by them.
  const ofPlugins = (ids: readonly string[] | undefined): string[] =>
    (ids ?? []).filter((id) => !CORE_CAPABILITY_IDS.includes(id));
  const { order, problems: orderProblems } = orderPlugins(
    enabled.map((p) => ({
      name: p.manifest.name,
      provides: p.manifest.provides ?? [],
      requires: ofPlugins(p.manifest.requires),
      optional: ofPlugins(p.manifest.optional),
    })),
    disabledProviders,
  );
  for (const e of orderProblems) {
    const plugin = typeof e.details.plugin === 'string' ? e.details.plugin : undefined;
    problems.push(problemOf(e, plugin ? `plugins.${plugin}` : 'plugins'));
  }
  const byName = new Map(planned.map((p) => [p.manifest.name, p]));
  const ordered = order.map((n) => byName.get(n) as PlannedPlugin);
  return { plugins: [...ordered, ...planned.filter((p) => !order.includes(p.manifest.name))], problems };
}
