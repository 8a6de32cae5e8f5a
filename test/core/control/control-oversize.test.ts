/** A client that sends a line far over the limit gets an error it can read, then the close. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ControlServer } from '../../../core/control/control-server.js';
import { CommandRegistry } from '../../../core/services/commands.js';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { createLogger } from '../../../core/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-ctl-big-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

it('answers a 50 MB line with E_CONTROL_PROTOCOL naming the limit before closing', async () => {
  const path = join(dir, 'c.sock');
  const server = new ControlServer(
    path,
    new CommandRegistry(new AccessPolicy({ allow: [] })),
    createLogger({ level: 'silent' }),
  );
  await server.start();
  try {
    const raw = createConnection(path);
    let received = '';
    raw.on('data', (d) => (received += d.toString()));
    raw.on('error', () => undefined); // EPIPE once the agent stops reading is fine: the answer came first
    const closed = new Promise<void>((r) => raw.on('close', () => r()));
    const chunk = Buffer.alloc(1 << 20, 0x78);
    for (let i = 0; i < 50 && !raw.destroyed; i++) {
      if (!raw.write(chunk)) await new Promise<void>((r) => raw.once('drain', () => r()).once('close', () => r()));
    }
    raw.end('\n');
    await closed;
    const reply = JSON.parse(received.split('\n')[0] ?? '') as {
      type: string;
      error: { code: string; message: string };
    };
    expect(reply.type).toBe('error');
    expect(reply.error.code).toBe('E_CONTROL_PROTOCOL');
    expect(reply.error.message).toMatch(/longer than 1048576 bytes/);
  } finally {
    await server.stop();
  }
});
