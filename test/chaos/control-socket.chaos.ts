/**
 * The control socket's attack of issue #21: a 50 MB line used to close the connection with no
 * message; it is answered with an error before the connection closes, and the agent keeps
 * serving. (Floods are not replayed here: the socket is mode 0600, so only its owner, who may run
 * every command anyway, can connect.) Run by `npm run chaos`.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';

let agent: BootedAgent;

beforeAll(async () => {
  agent = await bootAgent({ plugins: [] });
});
afterAll(async () => {
  await agent?.stop();
});

it('answers a 50 MB line with an error before closing the connection', { timeout: 60_000 }, async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(agent.socket);
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      s.write(Buffer.alloc(50 * 1024 * 1024, 0x61), () => s.end());
    });
    setTimeout(() => reject(new Error(`no close within 50 s; got ${got.slice(0, 200)}`)), 50_000).unref();
  });
  const line = JSON.parse(reply.split('\n')[0] ?? '') as { type: string; error: { code: string; message: string } };
  expect(line.type).toBe('error');
  expect(line.error.code).toBe('E_CONTROL_PROTOCOL');
  expect(line.error.message).toMatch(/longer than 1048576 bytes/);
  // And the agent goes on serving.
  expect((await agent.run(['version'])).type).toBe('result');
});
