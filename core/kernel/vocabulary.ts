/**
 * Plugins own their vocabulary: a manifest declares the plugin's error codes (`errors`, from
 * `defineErrors`) and its own event types (`events`). This module checks those declarations, which
 * come from untrusted JavaScript, in three steps: their shape (part of the manifest check), their
 * namespace (a code starts with the plugin's prefix, an event type with the plugin's name), and
 * claims across plugins (no prefix, code or event type held by two). Then the kernel declares them:
 * codes in the process-wide code table, event types on the agent's bus.
 */
import {
  ERROR_CATALOGUE,
  ERROR_CATEGORIES,
  EXIT_CODES,
  PLUGIN_EXIT_CODE_RANGE,
  VpmdError,
  pluginOfCode,
  registerPluginErrors,
  type ErrorCategory,
  type PluginErrors,
} from '../errors.js';
import { EVENT_NAMES, type EventBus } from '../services/event-bus.js';
import type { PluginManifest } from './plugin-contract.js';

/** A code prefix: `E_`, upper-case words joined by `_`, and a trailing `_` (`E_IPMI_`, `E_LIBVIRT_CAPS_`). */
export const ERROR_PREFIX = /^E_[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_$/;

/** A whole code: `E_` and upper-case words joined by `_`. */
const ERROR_CODE = /^E_[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/** The core's code families (`E_HOST_`, `E_PLUGIN_`, `E_TIMEOUT_`...): no plugin prefix may lie inside one. */
const CORE_FAMILIES: readonly string[] = [
  ...new Set(Object.keys(ERROR_CATALOGUE).map((code) => `E_${code.split('_')[1] ?? ''}_`)),
];

/** The core's event families (`host`, `hw`, `plugin`...): no plugin may name its events in one. */
const CORE_EVENT_FAMILIES: ReadonlySet<string> = new Set(EVENT_NAMES.map((n) => n.split('.')[0] ?? ''));

/** The prefix a plugin's codes conventionally get: `E_` and its name in upper case (`E_LIBVIRT_CAPS_`). */
export function defaultErrorPrefix(plugin: string): string {
  return `E_${plugin.toUpperCase().replace(/-/g, '_')}_`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCategory(v: unknown): v is ErrorCategory {
  return typeof v === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(v);
}

/** Shape problems of a manifest's `errors` and `events` (reported with the other manifest problems). */
export function vocabularyShapeProblems(value: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const errors = value.errors;
  if (errors !== undefined) {
    if (!isRecord(errors) || typeof errors.prefix !== 'string' || !isRecord(errors.codes)) {
      problems.push("errors: must be defineErrors('E_PREFIX_', { E_PREFIX_WHAT: { category, summary } })");
    } else {
      if (!ERROR_PREFIX.test(errors.prefix))
        problems.push(
          `errors.prefix: must be E_, upper-case words and a trailing _, got ${JSON.stringify(errors.prefix)}`,
        );
      for (const [code, spec] of Object.entries(errors.codes)) {
        const at = `errors.codes.${code}`;
        if (!ERROR_CODE.test(code)) problems.push(`${at}: a code is E_ and upper-case words joined by _`);
        if (!isRecord(spec)) {
          problems.push(`${at}: must be { category, summary, exitCode? }`);
          continue;
        }
        if (!isCategory(spec.category))
          problems.push(
            `${at}.category: must be one of ${ERROR_CATEGORIES.join(', ')}, got ${JSON.stringify(spec.category)}`,
          );
        if (typeof spec.summary !== 'string' || spec.summary.trim() === '')
          problems.push(`${at}.summary: must be a non-empty string`);
        const exit = spec.exitCode;
        if (exit !== undefined) {
          const own = isCategory(spec.category) ? EXIT_CODES[spec.category] : undefined;
          const { min, max } = PLUGIN_EXIT_CODE_RANGE;
          if (typeof exit !== 'number' || !Number.isInteger(exit) || (exit !== own && (exit < min || exit > max)))
            problems.push(
              `${at}.exitCode: must be the category's exit code (${own ?? '?'}) or an integer in ${min}–${max}, got ${JSON.stringify(exit)}`,
            );
        }
      }
    }
  }
  const events = value.events;
  if (events !== undefined) {
    if (!Array.isArray(events)) problems.push('events: must be a list of event type names');
    else
      events.forEach((ev, i) => {
        if (typeof ev !== 'string') problems.push(`events[${i}]: must be a string, got ${JSON.stringify(ev)}`);
        else if (events.indexOf(ev) !== i) problems.push(`events[${i}]: ${ev} is listed twice`);
      });
  }
  return problems;
}

/**
 * Namespace problems of a shape-checked manifest: codes outside the declared prefix, a prefix
 * inside a core family, event types not named `<plugin>.<what>.v<N>`.
 */
export function namespaceProblems(m: PluginManifest): string[] {
  const problems: string[] = [];
  if (m.errors) {
    const { prefix } = m.errors;
    const family = CORE_FAMILIES.find((f) => prefix.startsWith(f) || f.startsWith(prefix));
    if (family !== undefined)
      problems.push(
        `errors.prefix ${prefix} lies in the core's ${family} family; use the plugin's own, such as ${defaultErrorPrefix(m.name)}`,
      );
    for (const code of Object.keys(m.errors.codes)) {
      if (!code.startsWith(prefix) || code === prefix.slice(0, -1))
        problems.push(`error code ${code} does not start with the plugin's prefix ${prefix} (followed by a word)`);
    }
  }
  const events = m.events ?? [];
  if (events.length > 0 && CORE_EVENT_FAMILIES.has(m.name))
    problems.push(`event types named ${m.name}.* are the core's; a plugin named ${m.name} cannot declare its own`);
  const own = new RegExp(`^${m.name}\\.[a-z][a-z0-9-]*(?:\\.[a-z][a-z0-9-]*)*\\.v[1-9][0-9]*$`);
  for (const ev of events) {
    if (!own.test(ev))
      problems.push(`event type ${ev} is not named ${m.name}.<what>.v<N> (lower-case words, a version)`);
  }
  return problems;
}

/**
 * Checks the namespace of `m`'s vocabulary.
 * @throws VpmdError E_PLUGIN_NAMESPACE listing every code and event type outside the plugin's namespace.
 */
export function assertOwnNamespace(m: PluginManifest, origin: string): void {
  const problems = namespaceProblems(m);
  if (problems.length > 0)
    throw new VpmdError('E_PLUGIN_NAMESPACE', `plugin ${m.name}: ${problems.join('; ')}`, {
      plugin: m.name,
      origin,
      problems,
    });
}

/** A claim conflict between plugins, for the plan's problem list. */
export interface ClaimProblem {
  readonly plugin: string;
  readonly message: string;
}

/**
 * Claims held twice among `manifests` (in order: the later one is reported), and codes another
 * plugin already declared in this process. Event types cannot clash across plugins: each is named
 * after its (unique) plugin.
 */
export function claimProblems(manifests: readonly PluginManifest[]): ClaimProblem[] {
  const problems: ClaimProblem[] = [];
  const seen: { plugin: string; errors: PluginErrors }[] = [];
  for (const m of manifests) {
    if (!m.errors) continue;
    const { prefix } = m.errors;
    const clash = seen.find((s) => s.errors.prefix.startsWith(prefix) || prefix.startsWith(s.errors.prefix));
    if (clash) {
      problems.push({
        plugin: m.name,
        message: `error prefix ${prefix} overlaps ${clash.errors.prefix} of plugin ${clash.plugin}: two plugins cannot claim the same codes [E_PLUGIN_CLAIMED]`,
      });
      continue;
    }
    for (const code of Object.keys(m.errors.codes)) {
      const other = pluginOfCode(code);
      if (other !== undefined && other !== m.name)
        problems.push({
          plugin: m.name,
          message: `error code ${code} is already declared by plugin ${other} in this process [E_PLUGIN_CLAIMED]`,
        });
    }
    seen.push({ plugin: m.name, errors: m.errors });
  }
  return problems;
}

/**
 * Declares the vocabulary of every planned plugin (enabled or not, so an optional consumer may
 * subscribe to a disabled plugin's events): codes process-wide, event types on `bus`.
 * @throws VpmdError E_PLUGIN_CLAIMED on a clash the plan did not see.
 */
export function declareVocabulary(bus: EventBus, manifests: readonly PluginManifest[]): void {
  for (const m of manifests) {
    if (m.errors) registerPluginErrors(m.name, m.errors);
    if (m.events) bus.declare(m.name, m.events);
  }
}
