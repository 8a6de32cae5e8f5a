/**
 * Start order: providers before consumers. Required capabilities must have exactly one enabled
 * provider; optional ones order the provider first when it is enabled. Ties keep the order the
 * plugins were given in (built-ins first, then config order), so the order is stable.
 */
import { VpmdError } from '../errors.js';

/** What ordering needs of a plugin. */
export interface OrderNode {
  readonly name: string;
  readonly provides: readonly string[];
  readonly requires: readonly string[];
  readonly optional: readonly string[];
}

/**
 * Orders `nodes` (enabled plugins). `disabledProviders` maps capability ids to disabled plugins
 * that would provide them, to make the error say what to enable.
 * @returns the order and every problem found (E_PLUGIN_DEPENDENCY, E_CAPABILITY_DUPLICATE, E_PLUGIN_CYCLE).
 */
export function orderPlugins(
  nodes: readonly OrderNode[],
  disabledProviders: ReadonlyMap<string, string> = new Map(),
): { order: string[]; problems: VpmdError[] } {
  const problems: VpmdError[] = [];
  const provider = new Map<string, string>();
  for (const n of nodes) {
    for (const id of n.provides) {
      const prev = provider.get(id);
      if (prev !== undefined) {
        problems.push(
          new VpmdError('E_CAPABILITY_DUPLICATE', `plugins ${prev} and ${n.name} both provide ${id}; disable one`, {
            capability: id,
            plugin: n.name,
          }),
        );
      } else provider.set(id, n.name);
    }
  }
  const deps = new Map<string, Set<string>>(nodes.map((n) => [n.name, new Set<string>()]));
  const broken = new Set<string>();
  for (const n of nodes) {
    for (const id of n.requires) {
      const p = provider.get(id);
      if (p === undefined) {
        const off = disabledProviders.get(id);
        const hint = off ? ` (plugin ${off} provides it but is disabled)` : ' (no installed plugin provides it)';
        problems.push(
          new VpmdError('E_PLUGIN_DEPENDENCY', `plugin ${n.name} requires ${id}${hint}`, {
            plugin: n.name,
            capability: id,
          }),
        );
        broken.add(n.name);
      } else if (p !== n.name) deps.get(n.name)?.add(p);
    }
    for (const id of n.optional) {
      const p = provider.get(id);
      if (p !== undefined && p !== n.name) deps.get(n.name)?.add(p);
    }
  }
  // Kahn's algorithm, picking the earliest-given ready node each time for a stable order.
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n.name) && [...(deps.get(n.name) ?? [])].every((d) => done.has(d)));
    if (!next) break;
    done.add(next.name);
    order.push(next.name);
  }
  if (order.length < nodes.length) {
    const left = nodes.filter((n) => !done.has(n.name)).map((n) => n.name);
    problems.push(
      new VpmdError('E_PLUGIN_CYCLE', `plugins require each other in a cycle: ${left.join(', ')}`, { plugins: left }),
    );
  }
  return { order: order.filter((n) => !broken.has(n)), problems };
}
