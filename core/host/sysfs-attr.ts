/**
 * Fault-tolerant attribute reads: each returns the value, or `undefined` after recording a
 * {@link HostFault} in the caller's {@link FaultLog}. An optional attribute that does not exist
 * (EPP on acpi-cpufreq) is simply `undefined`; a required one (`scaling_driver`) is a `missing`
 * fault. Nothing here throws for what a file holds or how its read fails.
 */
import { isVpmdError } from '../errors.js';
import { parseCpuList } from './cpu-ranges.js';
import { contentFault, missingFault, type FaultLog } from './host-faults.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { splitWords } from './sysfs-read.js';

/** Options of the attribute readers. */
export interface AttrOptions {
  /** The kernel always provides this file here: its absence is a fault (default false). */
  readonly required?: boolean;
}

const INTEGER = /^[-+]?\d+$/;

/** Reads a file as is (trailing newline removed), or records why it cannot be read. */
export async function attrRaw(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<string | undefined> {
  try {
    return await backend.read(path);
  } catch (e) {
    if (isVpmdError(e, 'E_HOST_NOT_FOUND')) {
      if (opts.required === true) log.add(missingFault(backend, path));
    } else {
      log.addError(backend, path, e);
    }
    return undefined;
  }
}

/** Reads a one-word or one-line attribute, trimmed. A required attribute must not be empty. */
export async function attrText(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<string | undefined> {
  const text = await attrRaw(backend, path, log, opts);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '' && opts.required === true) {
    log.add(contentFault(backend, path, text, 'a value'));
    return undefined;
  }
  return trimmed;
}

/** Parses a decimal integer, recording an `empty` or `unparseable` fault otherwise. */
export function parseIntAttr(backend: SysfsBackend, path: string, text: string, log: FaultLog): number | undefined {
  const trimmed = text.trim();
  if (!INTEGER.test(trimmed)) {
    log.add(contentFault(backend, path, text, 'a decimal integer'));
    return undefined;
  }
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n)) {
    log.add(contentFault(backend, path, text, 'an integer below 2^53'));
    return undefined;
  }
  return n;
}

/** Reads an integer attribute. */
export async function attrInt(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<number | undefined> {
  const text = await attrRaw(backend, path, log, opts);
  return text === undefined ? undefined : parseIntAttr(backend, path, text, log);
}

/** Reads a space-separated list (`performance powersave`). */
export async function attrWords(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<string[] | undefined> {
  const text = await attrRaw(backend, path, log, opts);
  return text === undefined ? undefined : splitWords(text);
}

/** Reads a list of integers (`scaling_available_frequencies`); one bad word spoils the list. */
export async function attrIntList(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<number[] | undefined> {
  const words = await attrWords(backend, path, log, opts);
  if (words === undefined) return undefined;
  if (words.some((w) => !INTEGER.test(w))) {
    log.add(contentFault(backend, path, words.join(' '), 'decimal integers separated by spaces'));
    return undefined;
  }
  return words.map(Number);
}

/**
 * Reads a CPU list: the range form of `cpu/online` (`0-3,8`) or the space-separated form of
 * cpufreq's `affected_cpus` and `related_cpus` (`0 1 2 3`). An empty file is the empty list.
 */
export async function attrCpuList(
  backend: SysfsBackend,
  path: string,
  log: FaultLog,
  opts: AttrOptions = {},
): Promise<number[] | undefined> {
  const text = await attrRaw(backend, path, log, opts);
  if (text === undefined) return undefined;
  try {
    return parseCpuList(text.trim().split(/\s+/).join(','));
  } catch {
    log.add(contentFault(backend, path, text, 'a CPU list such as 0-3,8'));
    return undefined;
  }
}

/** Lists a directory; `[]` when it does not exist, `[]` and a fault when it cannot be listed. */
export async function attrList(backend: SysfsBackend, dir: string, log: FaultLog): Promise<string[]> {
  try {
    return await backend.list(dir);
  } catch (e) {
    if (!isVpmdError(e, 'E_HOST_NOT_FOUND')) log.addError(backend, dir, e, 'list');
    return [];
  }
}

/** Entries of `dir` matching `pattern` with the number of its first group, in natural order. */
export async function attrListIndexed(
  backend: SysfsBackend,
  dir: string,
  pattern: RegExp,
  log: FaultLog,
): Promise<Array<{ name: string; index: number }>> {
  const out: Array<{ name: string; index: number }> = [];
  for (const name of await attrList(backend, dir, log)) {
    const m = pattern.exec(name);
    if (m?.[1] !== undefined) out.push({ name, index: Number(m[1]) });
  }
  return out;
}
