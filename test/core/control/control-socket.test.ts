import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { ControlServer } from '../../../core/control/control-server.js';
import { ControlClient } from '../../../core/control/control-client.js';
import { CommandRegistry, defineCommand } from '../../../core/services/commands.js';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { createLogger } from '../../../core/logger.js';
import { MAX_LINE_BYTES } from '../../../core/control/protocol.js';

const log = createLogger({ level: 'silent' });
let dir: string;
let reg: CommandRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-ctl-'));
  reg = new CommandRegistry(new AccessPolicy({ allow: [] }));
  reg.register(
    'core',
    defineCommand({
      name: 'slow count',
      summary: 'counts with progress',
      privilege: 'Login',
      args: Type.Object({ n: Type.Integer({ minimum: 1, maximum: 5 }) }),
      positional: ['n'],
      handler: (a, inv) => {
        for (let i = 1; i <= a.n; i++) inv.progress(`step ${i}/${a.n}`);
        return { counted: a.n, big: 2n ** 64n };
      },
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'secret echo',
      summary: 'reads a secret',
      privilege: 'ConfigureUsers',
      args: Type.Object({ secret: Type.String() }),
      stdin: [{ name: 'secret', prompt: 'Secret', secret: true }],
      handler: (a) => a.secret.length,
    }),
  );
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('control socket', () => {
  it('is created mode 0600 in a directory it creates 0700', async () => {
    const path = join(dir, 'run', 'vpmd', 'control.sock');
    const s = new ControlServer(path, reg, log);
    await s.start();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run', 'vpmd'))).mode & 0o777).toBe(0o700);
    await s.stop();
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start beside a live agent, replaces a stale socket, never replaces a regular file', async () => {
    const path = join(dir, 'c.sock');
    const first = new ControlServer(path, reg, log);
    await first.start();
    await expect(new ControlServer(path, reg, log).start()).rejects.toMatchObject({
      code: 'E_CONTROL_SOCKET',
      message: expect.stringContaining('another agent'),
    });
    await first.stop();
    // a stale socket left by a killed agent: a bound-then-closed server without unlink
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(path, r));
    (stale as unknown as { _handle: { close(): void } })._handle.close(); // close without removing the file
    const second = new ControlServer(path, reg, log);
    await second.start();
    await second.stop();
    const file = join(dir, 'not-a-socket');
    await writeFile(file, 'precious');
    await expect(new ControlServer(file, reg, log).start()).rejects.toMatchObject({
      message: expect.stringContaining('is not a socket'),
    });
  });

  it('runs commands with progress, BigInt-safe results, and stdin requests', async () => {
    const path = join(dir, 'c.sock');
    const s = new ControlServer(path, reg, log);
    await s.start();
    const c = await ControlClient.connect(path);
    const progress: string[] = [];
    const r = await c.run(['slow', 'count', '3'], { onProgress: (m) => progress.push(m) });
    expect(progress).toEqual(['step 1/3', 'step 2/3', 'step 3/3']);
    expect(r).toMatchObject({ type: 'result', result: { counted: 3, big: '18446744073709551616' } });
    const need = await c.run(['secret', 'echo']);
    expect(need).toMatchObject({
      type: 'error',
      error: { code: 'E_COMMAND_STDIN', stdin: [{ name: 'secret', secret: true }] },
    });
    expect(await c.run(['secret', 'echo'], { stdin: ['hunter22'] })).toMatchObject({ type: 'result', result: 8 });
    expect(await c.run(['nope'])).toMatchObject({
      type: 'error',
      error: { code: 'E_COMMAND_UNKNOWN', category: 'not-found' },
    });
    expect((await c.commands()).map((x) => x.name)).toEqual(['secret echo', 'slow count']);
    c.close();
    await s.stop();
  });

  it('answers malformed requests with a protocol error and drops oversized lines', async () => {
    const path = join(dir, 'c.sock');
    const s = new ControlServer(path, reg, log);
    await s.start();
    const raw = createConnection(path);
    let received = '';
    raw.on('data', (d) => (received += d.toString()));
    const lines = (): string[] => received.split('\n').slice(0, -1);
    raw.write('{not json\n{"id":7,"type":"run","argv":"status"}\n');
    await expect.poll(() => lines().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(lines().map((l) => (JSON.parse(l) as { error: { code: string } }).error.code)).toEqual([
      'E_CONTROL_PROTOCOL',
      'E_CONTROL_PROTOCOL',
    ]);
    const closed = new Promise<void>((r) => raw.on('close', () => r()));
    raw.write('x'.repeat(MAX_LINE_BYTES + 10));
    await closed;
    await s.stop();
  });

  it('delivers replies far larger than the request limit (thousands of metrics)', async () => {
    reg.register(
      'core',
      defineCommand({
        name: 'big',
        summary: 'a large result',
        privilege: 'Login',
        args: Type.Object({}),
        handler: () => 'x'.repeat(3 * MAX_LINE_BYTES),
      }),
    );
    const path = join(dir, 'c.sock');
    const s = new ControlServer(path, reg, log);
    await s.start();
    const c = await ControlClient.connect(path);
    const r = await c.run(['big']);
    expect(r.type === 'result' && (r.result as string).length).toBe(3 * MAX_LINE_BYTES);
    c.close();
    await s.stop();
  });

  it('tells the operator when no agent is running', async () => {
    await expect(ControlClient.connect(join(dir, 'none.sock'))).rejects.toMatchObject({
      code: 'E_CONTROL_CONNECT',
      message: expect.stringContaining('the agent is not running'),
    });
  });
});
