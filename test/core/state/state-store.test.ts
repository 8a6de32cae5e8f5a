import { Type, type Static } from '@sinclair/typebox';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isVpmdError, type ErrorCode, type VpmdError } from '../../../core/errors.js';
import { StateStore, type StateSpec } from '../../../core/state/index.js';

const CounterSchema = Type.Object({ count: Type.Integer({ minimum: 0 }), note: Type.Optional(Type.String()) });
type Counter = Static<typeof CounterSchema>;
const counterSpec: StateSpec<Counter> = { version: 1, schema: CounterSchema };

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-state-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<VpmdError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!isVpmdError(error, code)) throw new Error(`expected VpmdError ${code}, got ${String(error)}`);
  return error;
}

async function writeEnvelope(dir: string, key: string, envelope: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${key}.json`);
  await writeFile(file, typeof envelope === 'string' ? envelope : JSON.stringify(envelope));
  return file;
}

describe('StateStore round trip', () => {
  it('returns undefined for a key never written, without creating the directory', async () => {
    const store = new StateStore(join(root, 'state'));
    expect(await store.read('counter', counterSpec)).toBeUndefined();
    await expect(stat(join(root, 'state'))).rejects.toThrow(/ENOENT/);
  });

  it('writes an envelope a fresh store reads back, with modes 0700 (dir) and 0600 (file)', async () => {
    const dir = join(root, 'state');
    const before = Date.now();
    await new StateStore(dir).write('counter', counterSpec, { count: 3, note: 'x' });

    expect(await new StateStore(dir).read('counter', counterSpec)).toEqual({ count: 3, note: 'x' });
    const envelope = JSON.parse(await readFile(join(dir, 'counter.json'), 'utf8')) as Record<string, unknown>;
    expect(envelope).toMatchObject({ format: 'vpmd-state', version: 1, data: { count: 3, note: 'x' } });
    const savedAt = Date.parse(String(envelope['savedAt']));
    expect(savedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(savedAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'counter.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['counter.json']); // no temp file left behind
  });

  it('deletes a key, and deleting a missing key is not an error', async () => {
    const store = new StateStore(root);
    await store.write('counter', counterSpec, { count: 1 });
    await store.delete('counter');
    expect(await store.read('counter', counterSpec)).toBeUndefined();
    await expect(store.delete('counter')).resolves.toBeUndefined();
  });

  it('captures the value at call time, so later mutation is not persisted', async () => {
    const store = new StateStore(root);
    const value: Counter = { count: 1 };
    const pending = store.write('counter', counterSpec, value);
    value.count = 99;
    await pending;
    expect(await store.read('counter', counterSpec)).toEqual({ count: 1 });
  });
});

describe('StateStore names and scopes', () => {
  it('keeps each scope in its own sub-directory', async () => {
    const store = new StateStore(root);
    await store.scope('ipmi').write('counter', counterSpec, { count: 1 });
    await store.scope('snmp').write('counter', counterSpec, { count: 2 });
    await store.write('counter', counterSpec, { count: 3 });

    expect(await readFile(join(root, 'ipmi', 'counter.json'), 'utf8')).toContain('"count":1');
    expect(await store.scope('snmp').read('counter', counterSpec)).toEqual({ count: 2 });
    expect(await store.read('counter', counterSpec)).toEqual({ count: 3 });
    expect(store.scope('ipmi').pathOf('counter')).toBe(join(root, 'ipmi', 'counter.json'));
  });

  it.each(['', 'Ipmi', '../x', 'a/b', 'a_b', 'x'.repeat(129)])('rejects scope name %j', (name) => {
    expect(() => new StateStore(root).scope(name)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });

  it.each(['', '.hidden', '-x', 'Upper', 'a/b', '../up', 'x'.repeat(129)])('rejects key %j', async (key) => {
    const store = new StateStore(root);
    const error = await expectError(store.write(key, counterSpec, { count: 1 }), 'E_INTERNAL');
    expect(error.message).toContain('[a-z0-9][a-z0-9._-]*');
    await expectError(store.read(key, counterSpec), 'E_INTERNAL');
    expect(await readdir(root)).toEqual([]);
  });

  it('accepts keys with dots, dashes and underscores', async () => {
    const store = new StateStore(root);
    await store.write('bmc-1.sel_cursor', counterSpec, { count: 5 });
    expect(await store.read('bmc-1.sel_cursor', counterSpec)).toEqual({ count: 5 });
  });

  it('rejects a spec whose version is not an integer >= 1', async () => {
    const bad = { version: 0, schema: CounterSchema } as StateSpec<Counter>;
    const error = await expectError(new StateStore(root).read('counter', bad), 'E_INTERNAL');
    expect(error.message).toContain('integer >= 1');
  });
});

describe('StateStore read errors', () => {
  const cases: Array<[string, string | object, RegExp]> = [
    ['unparseable JSON', '{"format":"vpmd-state","version":1,"da', /not valid JSON/],
    ['a JSON array', '[1,2]', /not a JSON object/],
    ['a wrong format marker', { format: 'other', version: 1, data: { count: 1 } }, /"format" is "other"/],
    ['a fractional version', { format: 'vpmd-state', version: 1.5, data: { count: 1 } }, /"version" is 1.5/],
    ['no data', { format: 'vpmd-state', version: 1 }, /"data" is missing/],
    ['data not matching the schema', { format: 'vpmd-state', version: 1, data: { count: -1 } }, /\/count must be >= 0/],
  ];

  it.each(cases)('reports %s as E_STATE_CORRUPT naming the file and keeps it', async (_what, content, problem) => {
    const file = await writeEnvelope(root, 'counter', content);
    const original = await readFile(file, 'utf8');
    const error = await expectError(new StateStore(root).read('counter', counterSpec), 'E_STATE_CORRUPT');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(problem);
    expect(error.details['file']).toBe(file);
    expect(await readFile(file, 'utf8')).toBe(original);
  });

  it('reports an unreadable file as E_STATE_READ with its errno', async () => {
    await mkdir(join(root, 'counter.json'));
    const error = await expectError(new StateStore(root).read('counter', counterSpec), 'E_STATE_READ');
    expect(error.details).toMatchObject({ file: join(root, 'counter.json'), errno: 'EISDIR' });
  });

  it('refuses a file written with a newer schema version (E_STATE_SCHEMA)', async () => {
    const file = await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 2, data: { count: 1 } });
    const error = await expectError(new StateStore(root).read('counter', counterSpec), 'E_STATE_SCHEMA');
    expect(error.message).toContain(file);
    expect(error.details).toMatchObject({ version: 2, supportedVersion: 1 });
  });
});

describe('StateStore migration', () => {
  const V2Schema = Type.Object({ total: Type.Integer(), unit: Type.String() }, { additionalProperties: false });
  type V2 = Static<typeof V2Schema>;
  const migrateV1 = (fromVersion: number, data: unknown): unknown => {
    if (fromVersion !== 1) throw new Error(`unknown version ${fromVersion}`);
    return { total: (data as Counter).count, unit: 'events' };
  };

  it('migrates an older file on read, validates it, and leaves the file as it was', async () => {
    const file = await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 1, data: { count: 7 } });
    const migrate = vi.fn(migrateV1);
    const spec: StateSpec<V2> = { version: 2, schema: V2Schema, migrate };

    expect(await new StateStore(root).read('counter', spec)).toEqual({ total: 7, unit: 'events' });
    expect(migrate).toHaveBeenCalledWith(1, { count: 7 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('update migrates, then stores the result at the current version', async () => {
    await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 1, data: { count: 7 } });
    const spec: StateSpec<V2> = { version: 2, schema: V2Schema, migrate: migrateV1 };
    const store = new StateStore(root);

    expect(await store.update('counter', spec, (old) => ({ total: (old?.total ?? 0) + 1, unit: 'events' }))).toEqual({
      total: 8,
      unit: 'events',
    });
    expect(JSON.parse(await readFile(join(root, 'counter.json'), 'utf8'))).toMatchObject({
      version: 2,
      data: { total: 8, unit: 'events' },
    });
  });

  it('fails with E_STATE_SCHEMA when an older file has no migration', async () => {
    await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 1, data: { count: 7 } });
    const error = await expectError(
      new StateStore(root).read('counter', { version: 2, schema: V2Schema }),
      'E_STATE_SCHEMA',
    );
    expect(error.message).toMatch(/no migration/);
  });

  it('fails with E_STATE_SCHEMA when the migration throws, keeping the cause', async () => {
    await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 1, data: { count: 7 } });
    const boom = new Error('cannot convert');
    const spec: StateSpec<V2> = {
      version: 2,
      schema: V2Schema,
      migrate: () => {
        throw boom;
      },
    };
    const error = await expectError(new StateStore(root).read('counter', spec), 'E_STATE_SCHEMA');
    expect(error.message).toContain('cannot convert');
    expect(error.cause).toBe(boom);
  });

  it('fails with E_STATE_SCHEMA when the migration returns data off the schema', async () => {
    await writeEnvelope(root, 'counter', { format: 'vpmd-state', version: 1, data: { count: 7 } });
    const spec: StateSpec<V2> = { version: 2, schema: V2Schema, migrate: () => ({ total: 'seven' }) };
    const error = await expectError(new StateStore(root).read('counter', spec), 'E_STATE_SCHEMA');
    expect(error.message).toMatch(/\/total must be an integer/);
    expect(error.message).toMatch(/\/unit is required/);
  });
});

describe('StateStore write errors', () => {
  it('refuses a value off the schema with E_INTERNAL and keeps the old file', async () => {
    const store = new StateStore(root);
    await store.write('counter', counterSpec, { count: 1 });
    const error = await expectError(store.write('counter', counterSpec, { count: -5 }), 'E_INTERNAL');
    expect(error.message).toContain(join(root, 'counter.json'));
    expect(error.message).toMatch(/\/count must be >= 0/);
    expect(await store.read('counter', counterSpec)).toEqual({ count: 1 });
  });

  it('refuses a value that has no JSON form', async () => {
    const spec: StateSpec<unknown> = { version: 1, schema: Type.Unknown() };
    await expectError(new StateStore(root).write('anything', spec, undefined), 'E_INTERNAL');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expectError(new StateStore(root).write('anything', spec, cyclic), 'E_INTERNAL');
    expect(await readdir(root)).toEqual([]);
  });

  it('reports a failed rename as E_STATE_WRITE with file, step and errno, leaving no temp file', async () => {
    await mkdir(join(root, 'counter.json')); // a directory where the file should go
    const error = await expectError(new StateStore(root).write('counter', counterSpec, { count: 1 }), 'E_STATE_WRITE');
    expect(error.details).toMatchObject({
      file: join(root, 'counter.json'),
      step: 'rename over target',
      errno: 'EISDIR',
    });
    expect(await readdir(root)).toEqual(['counter.json']);
  });

  it('reports an uncreatable directory as E_STATE_WRITE', async () => {
    await writeFile(join(root, 'blocker'), 'not a directory');
    const store = new StateStore(join(root, 'blocker', 'state'));
    const error = await expectError(store.write('counter', counterSpec, { count: 1 }), 'E_STATE_WRITE');
    expect(error.details).toMatchObject({ step: 'mkdir', errno: 'ENOTDIR' });
  });

  it('reports a failed delete as E_STATE_WRITE', async () => {
    await mkdir(join(root, 'counter.json', 'inner'), { recursive: true });
    const error = await expectError(new StateStore(root).delete('counter'), 'E_STATE_WRITE');
    expect(error.details['file']).toBe(join(root, 'counter.json'));
  });
});
