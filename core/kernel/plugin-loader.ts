/**
 * Loading external plugins named in config (`plugins.<name>.module`): a path (relative to the
 * configuration file) or an installed npm package. What is loaded goes through the same manifest
 * checks as the built-in plugins.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VpmdError } from '../errors.js';
import type { CoreConfig } from '../config/core-schema.js';
import type { ConfigProblem } from '../config/load-config.js';
import type { PluginSource } from './plugin-plan.js';

function isPath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec);
}

/**
 * Imports one external plugin module; its manifest is the default export (or a `manifest` export).
 * @throws VpmdError E_PLUGIN_LOAD naming the module and the reason.
 */
export async function importPluginModule(spec: string, configFile: string): Promise<PluginSource> {
  const base = dirname(resolve(configFile));
  let url: string;
  try {
    url = isPath(spec)
      ? pathToFileURL(resolve(base, spec)).href
      : pathToFileURL(createRequire(resolve(base, 'noop.js')).resolve(spec)).href;
  } catch (e) {
    // Packages that only export an `import` condition are not visible to require.resolve:
    // fall back to resolving them from vpmd's own location.
    try {
      url = import.meta.resolve(spec);
    } catch {
      throw new VpmdError(
        'E_PLUGIN_LOAD',
        `cannot find plugin module '${spec}' (looked relative to ${base} and in installed packages)`,
        { module: spec },
        { cause: e },
      );
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new VpmdError('E_PLUGIN_LOAD', `cannot load plugin module '${spec}': ${why}`, { module: spec }, { cause: e });
  }
  return { manifest: mod.default ?? mod.manifest, kind: 'external', origin: spec };
}

/** Imports every external plugin the config names; problems are returned, not thrown. */
export async function loadExternalPlugins(
  config: CoreConfig,
  configFile: string,
): Promise<{ sources: PluginSource[]; problems: ConfigProblem[] }> {
  const sources: PluginSource[] = [];
  const problems: ConfigProblem[] = [];
  for (const [name, section] of Object.entries(config.plugins)) {
    if (section.module === undefined || section.enabled === false) continue;
    try {
      const src = await importPluginModule(section.module, configFile);
      const declared = (src.manifest as { name?: unknown } | undefined)?.name;
      if (declared !== undefined && declared !== name) {
        problems.push({
          path: `plugins.${name}.module`,
          message: `'${section.module}' is the plugin '${typeof declared === 'string' ? declared : JSON.stringify(declared)}', not '${name}': name the section after the plugin`,
        });
        continue;
      }
      sources.push(src);
    } catch (e) {
      const err = e instanceof VpmdError ? e : new VpmdError('E_PLUGIN_LOAD', String(e));
      problems.push({ path: `plugins.${name}.module`, message: `${err.message} [${err.code}]` });
    }
  }
  return { sources, problems };
}
