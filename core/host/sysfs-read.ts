/**
 * Typed reads over a {@link SysfsBackend}: integers, word lists and optional files. Parsing
 * failures are E_HOST_PARSE naming the file and its content; a missing optional file is
 * `undefined`, never an error.
 */
import { VpmdError, isVpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';

/** The absolute path of a root-relative path, for messages. */
export function fullPath(backend: SysfsBackend, path: string): string {
  return backend.root.endsWith('/') ? `${backend.root}${path}` : `${backend.root}/${path}`;
}

/** Parses a decimal integer (optionally signed) or throws E_HOST_PARSE naming the file. */
export function parseIntStrict(backend: SysfsBackend, path: string, text: string): number {
  const trimmed = text.trim();
  if (!/^[-+]?\d+$/.test(trimmed)) {
    throw new VpmdError(
      'E_HOST_PARSE',
      `${fullPath(backend, path)} holds ${JSON.stringify(text)}, expected a decimal integer`,
      { file: fullPath(backend, path), content: text },
    );
  }
  return Number(trimmed);
}

/** Reads a file, or `undefined` when it does not exist (E_HOST_NOT_FOUND). */
export async function readOptional(backend: SysfsBackend, path: string): Promise<string | undefined> {
  try {
    return await backend.read(path);
  } catch (e) {
    if (isVpmdError(e, 'E_HOST_NOT_FOUND')) return undefined;
    throw e;
  }
}

/** Reads a file holding one integer. */
export async function readInt(backend: SysfsBackend, path: string): Promise<number> {
  return parseIntStrict(backend, path, await backend.read(path));
}

/** Reads a file holding one integer, or `undefined` when the file does not exist. */
export async function readOptionalInt(backend: SysfsBackend, path: string): Promise<number | undefined> {
  const text = await readOptional(backend, path);
  return text === undefined ? undefined : parseIntStrict(backend, path, text);
}

/** Splits a space-separated kernel list (`performance powersave`) into words. */
export function splitWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

/** Reads a space-separated list, or `undefined` when the file does not exist. */
export async function readOptionalWords(backend: SysfsBackend, path: string): Promise<string[] | undefined> {
  const text = await readOptional(backend, path);
  return text === undefined ? undefined : splitWords(text);
}

/** Lists a directory, or `[]` when it does not exist. */
export async function listOptional(backend: SysfsBackend, dir: string): Promise<string[]> {
  try {
    return await backend.list(dir);
  } catch (e) {
    if (isVpmdError(e, 'E_HOST_NOT_FOUND')) return [];
    throw e;
  }
}

/**
 * Entries of `dir` matching `pattern` whose first capture group is a number, with that number,
 * in natural order (`policy0`, `policy1`, ... `policy10`).
 */
export async function listIndexed(
  backend: SysfsBackend,
  dir: string,
  pattern: RegExp,
): Promise<Array<{ name: string; index: number }>> {
  const out: Array<{ name: string; index: number }> = [];
  for (const name of await listOptional(backend, dir)) {
    const m = pattern.exec(name);
    if (m?.[1] !== undefined) out.push({ name, index: Number(m[1]) });
  }
  return out;
}
