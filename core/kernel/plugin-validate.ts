/**
 * Plugin-level validation: after the schema, each enabled plugin checks its own section
 * (`manifest.validate`), so `vpmd check-config` reports what the plugin would refuse at start
 * (two targets on one BMC, a password file that does not exist) with the same words.
 */
import type { ConfigProblem } from '../config/load-config.js';
import type { PluginPlan } from './plugin-plan.js';

/** How long one plugin's checks may take: they read a few files, never the network. */
const VALIDATE_TIMEOUT_MS = 10_000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_ok, ko) => {
    timer = setTimeout(() => ko(new Error(`no answer within ${VALIDATE_TIMEOUT_MS} ms`)), VALIDATE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Runs `validate` of every enabled plugin whose section passed its schema, and returns each
 * problem under `plugins.<name>.<path>`. A plugin whose check throws is reported, not fatal to
 * the others.
 */
export async function validatePlugins(plan: PluginPlan): Promise<ConfigProblem[]> {
  const schemaFailed = (name: string): boolean =>
    plan.problems.some((p) => p.path === `plugins.${name}` || p.path.startsWith(`plugins.${name}.`));
  const problems: ConfigProblem[] = [];
  for (const p of plan.plugins) {
    const m = p.manifest;
    const name = m.name;
    if (!p.enabled || m.validate === undefined || schemaFailed(name)) continue;
    const section = `plugins.${name}`;
    try {
      for (const found of await withTimeout(Promise.resolve(m.validate(p.config)))) {
        problems.push({ path: found.path === '' ? section : `${section}.${found.path}`, message: found.message });
      }
    } catch (e) {
      problems.push({
        path: section,
        message: `the plugin's own checks failed: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }
  return problems;
}
