import { Type, type Static } from '@sinclair/typebox';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore, type StateSpec } from '../../../core/state/index.js';

const CounterSchema = Type.Object({ count: Type.Integer({ minimum: 0 }) });
type Counter = Static<typeof CounterSchema>;
const counterSpec: StateSpec<Counter> = { version: 1, schema: CounterSchema };

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-state-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const increment = (old: Counter | undefined): Counter => ({ count: (old?.count ?? 0) + 1 });

describe('StateStore serialization per key', () => {
  it('runs concurrent updates one after another, in call order, losing none', async () => {
    const store = new StateStore(root);
    const results = await Promise.all(
      Array.from({ length: 40 }, () => store.update('counter', counterSpec, increment)),
    );
    expect(results.map((r) => r.count)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await new StateStore(root).read('counter', counterSpec)).toEqual({ count: 40 });
  });

  it('serializes updates made through two handles of the same scope', async () => {
    const store = new StateStore(root);
    const a = store.scope('plugin');
    const b = store.scope('plugin');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).update('counter', counterSpec, increment)),
    );
    expect(await a.read('counter', counterSpec)).toEqual({ count: 20 });
  });

  it('applies writes in call order and lets a queued read see the last of them', async () => {
    const store = new StateStore(root);
    const writes = [1, 2, 3, 4, 5].map((count) => store.write('counter', counterSpec, { count }));
    const read = store.read('counter', counterSpec);
    await Promise.all(writes);
    expect(await read).toEqual({ count: 5 });
  });

  it('writes nothing when the update function throws, and keeps serving the key', async () => {
    const store = new StateStore(root);
    await store.write('counter', counterSpec, { count: 1 });
    const failing = store.update('counter', counterSpec, () => {
      throw new Error('refused');
    });
    const next = store.update('counter', counterSpec, increment);
    await expect(failing).rejects.toThrow('refused');
    expect(await next).toEqual({ count: 2 });
  });

  it('does not hold other keys behind a key whose read is stuck', async () => {
    const store = new StateStore(root);
    await store.write('fast', counterSpec, { count: 0 });
    // A FIFO in place of slow.json: reading it blocks until someone writes into it.
    execFileSync('mkfifo', [join(root, 'slow.json')]);
    let slowDone = false;
    const slow = store.read('slow', counterSpec).then((v) => {
      slowDone = true;
      return v;
    });

    await store.write('fast', counterSpec, { count: 1 });
    expect(await store.read('fast', counterSpec)).toEqual({ count: 1 });
    expect(slowDone).toBe(false);

    await writeFile(join(root, 'slow.json'), JSON.stringify({ format: 'vpmd-state', version: 1, data: { count: 9 } }));
    expect(await slow).toEqual({ count: 9 });
  });
});

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise((resolve) => child.on('exit', resolve));
  if (pid === undefined) throw new Error('child had no pid');
  return pid;
}

describe('StateStore stale temp cleanup', () => {
  it('removes temp files of dead writers on first use and keeps those of live ones', async () => {
    const dir = join(root, 'state');
    await mkdir(dir);
    const dead = `.counter.json.${await deadPid()}.0badf00d.tmp`;
    const ownLeftover = `.counter.json.${process.pid}.00c0ffee.tmp`; // pid reuse after a reboot
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const live = `.counter.json.${sleeper.pid}.11111111.tmp`;
      const unrelated = ['counter.json', '.notes', 'readme.tmp'];
      for (const name of [dead, ownLeftover, live, ...unrelated]) await writeFile(join(dir, name), 'x');

      await new StateStore(dir).read('other', counterSpec);

      expect((await readdir(dir)).sort()).toEqual([live, ...unrelated].sort());
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('cleans each scope directory on its first use', async () => {
    const dir = join(root, 'ipmi');
    await mkdir(dir);
    const stale = `.sel.json.${await deadPid()}.abcdef01.tmp`;
    await writeFile(join(dir, stale), 'partial');
    const store = new StateStore(root);
    await store.read('unrelated', counterSpec);
    expect(await readdir(dir)).toEqual([stale]); // the root store does not touch sub-directories
    await store.scope('ipmi').read('sel', counterSpec);
    expect(await readdir(dir)).toEqual([]);
  });
});
