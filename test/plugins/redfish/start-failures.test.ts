/**
 * A Redfish service that cannot start fails alone, with a coded error naming what to fix:
 * a port already taken, a configured certificate that does not exist. The agent keeps running.
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import redfish from '../../../plugins/redfish/index.js';
import { freePort } from './support.js';

const agents: BootedAgent[] = [];
afterAll(async () => {
  for (const a of agents) await a.stop();
});

async function statusOf(
  section: Record<string, unknown>,
): Promise<{ state: string; error?: { code: string; message: string } } | undefined> {
  const a = await bootAgent({ plugins: [redfish], sections: { redfish: section } });
  agents.push(a);
  await a.json(['version']); // the agent still answers (this throws otherwise)
  return (await a.status()).find((p) => p.name === 'redfish');
}

describe('redfish start failures', () => {
  it('fails with E_REDFISH_LISTEN naming the address and port when the port is taken', async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    try {
      const s = await statusOf({ port });
      expect(s?.state).toBe('failed');
      expect(s?.error?.code).toBe('E_REDFISH_LISTEN');
      expect(s?.error?.message).toContain(`https://127.0.0.1:${port}`);
    } finally {
      squatter.close();
    }
  });

  it('fails with E_REDFISH_TLS naming the file when the configured certificate is missing', async () => {
    const s = await statusOf({
      port: await freePort(),
      tlsCert: '/nonexistent/redfish.crt',
      tlsKey: '/nonexistent/redfish.key',
    });
    expect(s?.state).toBe('failed');
    expect(s?.error?.code).toBe('E_REDFISH_TLS');
    expect(s?.error?.message).toMatch(
      /plugins\.redfish\.tlsCert: cannot read the certificate \/nonexistent\/redfish\.crt/,
    );
  });
});
