/**
 * Persistent, schema-versioned state for the core and each plugin. Every key is one JSON file
 * `<dir>/<key>.json` holding an envelope `{"format":"vpmd-state","version":N,"savedAt":ISO,
 * "data":...}`, replaced atomically so that a SIGKILL at any moment leaves the old or the new
 * state, never a torn one. Operations on one key run one after another, in call order.
 */
import type { TSchema } from '@sinclair/typebox';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VpmdError } from '../errors.js';
import { errnoOf, removeFileDurably, removeStaleTempFiles, writeFileAtomic } from './atomic-file.js';
import { KeyedQueue } from './keyed-queue.js';
import { checkAgainstSchema, summarizeProblems, type SchemaCheck } from './state-validation.js';

/** The `format` marker of every state file. */
export const STATE_FILE_FORMAT = 'vpmd-state';

/** Allowed state keys: they become file names, so no separators, no leading dot. */
export const STATE_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** Allowed scope names (plugin namespaces): they become directory names. */
export const STATE_SCOPE_PATTERN = /^[a-z0-9-]+$/;

/** Keys and scope names are capped so that temp file names stay under NAME_MAX (255). */
export const STATE_NAME_MAX_LENGTH = 128;

/**
 * How one kind of state is stored: its current schema version, the TypeBox schema of its data
 * and, for older versions found on disk, how to bring them up to date. Declaring the schema
 * with TypeBox ties `T` to the schema (`Static<typeof schema>`), so a spec cannot lie about it.
 */
export interface StateSpec<T> {
  /** Current schema version, an integer >= 1. Bump it whenever `schema` changes incompatibly. */
  readonly version: number;
  /** Schema of the data at `version`; both reads and writes are checked against it. */
  readonly schema: TSchema & { readonly static: T };
  /**
   * Turns data saved at `fromVersion` (< `version`) into data at `version`. Called once per
   * read of an older file; its result is validated. The file is rewritten only on the next
   * write. Without it, older files fail with E_STATE_SCHEMA.
   */
  readonly migrate?: (fromVersion: number, data: unknown) => unknown;
}

/** Objects shared by a store and its scopes, so that two handles on one file share a queue. */
interface SharedStoreState {
  readonly queue: KeyedQueue;
  /** Stale temp cleanup of each directory, run once on its first use. */
  readonly cleanups: Map<string, Promise<void>>;
}

function assertName(name: string, pattern: RegExp, what: string, where: string): void {
  if (typeof name !== 'string' || name.length > STATE_NAME_MAX_LENGTH || !pattern.test(name)) {
    throw new VpmdError(
      'E_INTERNAL',
      `invalid state ${what} ${JSON.stringify(name)} in ${where}: allowed are ${pattern.source}, ` +
        `at most ${STATE_NAME_MAX_LENGTH} characters`,
      { [what === 'key' ? 'key' : 'scope']: String(name), dir: where },
    );
  }
}

function assertSpec(spec: StateSpec<unknown>, file: string): void {
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new VpmdError(
      'E_INTERNAL',
      `state spec for ${file} has version ${String(spec.version)}: an integer >= 1 is required`,
      { file },
    );
  }
}

/** Checks `value`; a schema that cannot even be compiled is a bug in the caller's spec. */
function check(spec: StateSpec<unknown>, value: unknown, file: string): SchemaCheck {
  try {
    return checkAgainstSchema(spec.schema, value);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VpmdError('E_INTERNAL', `state schema for ${file} cannot be compiled: ${reason}`, { file }, { cause: e });
  }
}

function corrupt(file: string, problem: string, cause?: unknown): VpmdError {
  return new VpmdError(
    'E_STATE_CORRUPT',
    `state file ${file} is corrupt: ${problem}; fix or remove the file (it is kept untouched)`,
    { file, problem },
    cause === undefined ? undefined : { cause },
  );
}

/** Parses and validates a state file's text; never returns data that failed its schema. */
function decode<T>(file: string, text: string, spec: StateSpec<T>): T {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw corrupt(file, 'not a JSON object');
  }
  const { format, version, data } = envelope as Record<string, unknown>;
  if (format !== STATE_FILE_FORMAT) {
    throw corrupt(file, `"format" is ${JSON.stringify(format) ?? 'missing'}, expected "${STATE_FILE_FORMAT}"`);
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw corrupt(file, `"version" is ${JSON.stringify(version) ?? 'missing'}, expected an integer >= 1`);
  }
  if (!('data' in envelope)) throw corrupt(file, '"data" is missing');

  if (version > spec.version) {
    throw new VpmdError(
      'E_STATE_SCHEMA',
      `state file ${file} has schema version ${version}, newer than version ${spec.version} that this ` +
        'vpmd understands (written by a newer release?); upgrade vpmd or remove the file',
      { file, version, supportedVersion: spec.version },
    );
  }
  if (version === spec.version) {
    const result = check(spec, data, file);
    if (!result.ok)
      throw corrupt(file, `data does not match schema version ${version}: ${summarizeProblems(result.problems)}`);
    return data as T;
  }
  return migrateData(file, version, data, spec);
}

function migrateData<T>(file: string, fromVersion: number, data: unknown, spec: StateSpec<T>): T {
  const facts = { file, version: fromVersion, supportedVersion: spec.version };
  if (!spec.migrate) {
    throw new VpmdError(
      'E_STATE_SCHEMA',
      `state file ${file} has schema version ${fromVersion}, older than version ${spec.version}, and no ` +
        'migration is defined for it; remove the file to start fresh',
      facts,
    );
  }
  let migrated: unknown;
  try {
    migrated = spec.migrate(fromVersion, data);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VpmdError(
      'E_STATE_SCHEMA',
      `state file ${file}: migration from version ${fromVersion} to ${spec.version} failed: ${reason}`,
      facts,
      { cause: e },
    );
  }
  const result = check(spec, migrated, file);
  if (!result.ok) {
    throw new VpmdError(
      'E_STATE_SCHEMA',
      `state file ${file}: migration from version ${fromVersion} to ${spec.version} produced data that does ` +
        `not match the schema: ${summarizeProblems(result.problems)}`,
      { ...facts, problems: result.problems },
    );
  }
  return migrated as T;
}

/**
 * Serializes `value` after checking it; invalid values are a bug in the calling code.
 * @returns the JSON text of the data alone, captured now so later mutation cannot leak in.
 */
function encodeData<T>(file: string, spec: StateSpec<T>, value: T): string {
  const result = check(spec, value, file);
  if (!result.ok) {
    throw new VpmdError(
      'E_INTERNAL',
      `refusing to write state file ${file}: value does not match schema version ${spec.version}: ` +
        summarizeProblems(result.problems),
      { file, version: spec.version, problems: result.problems },
    );
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value); // undefined for `undefined` and functions (whatever its declared type says)
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VpmdError(
      'E_INTERNAL',
      `refusing to write state file ${file}: value is not JSON-serializable: ${reason}`,
      { file },
      { cause: e },
    );
  }
  if (json === undefined) {
    throw new VpmdError('E_INTERNAL', `refusing to write state file ${file}: value has no JSON form (undefined)`, {
      file,
    });
  }
  return json;
}

/**
 * A directory of state files. The directory (mode 0700) is created on the first write; temp
 * files left by a writer killed mid-write are removed on first use. One process should own a
 * state directory; other processes may read it.
 */
export class StateStore {
  /** Absolute path of this store's directory. */
  readonly dir: string;
  #shared: SharedStoreState;

  /** @param dir directory of the state files, created lazily. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    this.#shared = { queue: new KeyedQueue(), cleanups: new Map() };
  }

  /**
   * A sub-store in `<dir>/<name>` (a plugin's namespace). Scopes share the parent's per-file
   * queues, so two scope handles with the same name never interleave writes.
   * @throws VpmdError E_INTERNAL when `name` is not `[a-z0-9-]+`.
   */
  scope(name: string): StateStore {
    assertName(name, STATE_SCOPE_PATTERN, 'scope name', this.dir);
    const child = new StateStore(join(this.dir, name));
    child.#shared = this.#shared;
    return child;
  }

  /**
   * The file that holds `key`.
   * @throws VpmdError E_INTERNAL when `key` is not `[a-z0-9][a-z0-9._-]*`.
   */
  pathOf(key: string): string {
    assertName(key, STATE_KEY_PATTERN, 'key', this.dir);
    return join(this.dir, `${key}.json`);
  }

  /**
   * Reads `key`, migrating older schema versions with `spec.migrate`.
   * @returns the data, or undefined when the key was never written (or was deleted).
   * @throws VpmdError E_STATE_READ (unreadable), E_STATE_CORRUPT (unparseable or not matching the schema),
   *   E_STATE_SCHEMA (newer version, or older without a working migration).
   */
  async read<T>(key: string, spec: StateSpec<T>): Promise<T | undefined> {
    const file = this.pathOf(key);
    assertSpec(spec, file);
    return this.#serially(file, () => this.#load(file, spec));
  }

  /**
   * Replaces `key` with `value` atomically (mode 0600). The value is checked and captured at
   * call time; the write happens after earlier operations on the same key.
   * @throws VpmdError E_INTERNAL when `value` does not match `spec.schema`, E_STATE_WRITE when
   *   the file cannot be written (details carry the file, step and errno).
   */
  async write<T>(key: string, spec: StateSpec<T>, value: T): Promise<void> {
    const file = this.pathOf(key);
    assertSpec(spec, file);
    const dataJson = encodeData(file, spec, value);
    await this.#serially(file, () => this.#save(file, spec.version, dataJson));
  }

  /**
   * Read-modify-write of `key` with no other operation on the key in between. If `fn` throws,
   * nothing is written and the error propagates.
   * @returns the value written.
   * @throws the errors of {@link read} and {@link write}.
   */
  async update<T>(key: string, spec: StateSpec<T>, fn: (old: T | undefined) => T): Promise<T> {
    const file = this.pathOf(key);
    assertSpec(spec, file);
    return this.#serially(file, async () => {
      const next = fn(await this.#load(file, spec));
      await this.#save(file, spec.version, encodeData(file, spec, next));
      return next;
    });
  }

  /**
   * Removes `key`; removing a key that does not exist is not an error.
   * @throws VpmdError E_STATE_WRITE when the file exists but cannot be removed.
   */
  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await this.#serially(file, () => removeFileDurably(file));
  }

  /** Queues `task` behind earlier operations on `file`, after the directory's first cleanup. */
  #serially<R>(file: string, task: () => Promise<R>): Promise<R> {
    return this.#shared.queue.run(file, async () => {
      await this.#cleanupOnce();
      return task();
    });
  }

  #cleanupOnce(): Promise<void> {
    let cleanup = this.#shared.cleanups.get(this.dir);
    if (!cleanup) {
      cleanup = removeStaleTempFiles(this.dir).then(() => undefined);
      this.#shared.cleanups.set(this.dir, cleanup);
      // A failed cleanup is retried on the next operation rather than remembered.
      cleanup.catch(() => this.#shared.cleanups.delete(this.dir));
    }
    return cleanup;
  }

  async #load<T>(file: string, spec: StateSpec<T>): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === 'ENOENT') return undefined;
      throw new VpmdError(
        'E_STATE_READ',
        `state file ${file} cannot be read (${errno}): ${e instanceof Error ? e.message : String(e)}`,
        { file, errno, problem: 'unreadable' },
        { cause: e },
      );
    }
    return decode(file, text, spec);
  }

  async #save(file: string, version: number, dataJson: string): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      const errno = errnoOf(e);
      throw new VpmdError(
        'E_STATE_WRITE',
        `cannot create state directory ${this.dir} for ${file} (${errno}): ${e instanceof Error ? e.message : String(e)}`,
        { file, dir: this.dir, errno, step: 'mkdir' },
        { cause: e },
      );
    }
    const savedAt = new Date().toISOString();
    const text = `{"format":"${STATE_FILE_FORMAT}","version":${version},"savedAt":"${savedAt}","data":${dataJson}}\n`;
    await writeFileAtomic(file, text, 0o600);
  }
}
