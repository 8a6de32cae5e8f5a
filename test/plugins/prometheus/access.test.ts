/**
 * Who may scrape: the management allow-list (connections from elsewhere are dropped before TLS),
 * basic and bearer auth with secrets from files (never in the log), plain HTTP only when asked,
 * and the listen address limited to the management or a loopback address.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScrapeAuth } from '../../../plugins/prometheus/http/auth.js';
import { bootExporter, get } from './support.js';

let dir: string;
const secret = (name: string, text: string, mode = 0o600): Promise<string> => {
  const f = join(dir, name);
  return writeFile(f, text).then(() => chmod(f, mode).then(() => f));
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-prom-access-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('scrape auth', () => {
  it('basic: the right user and password pass, anything else is 401 with a challenge', async () => {
    const passwordFile = await secret('pw', 'correct horse\n');
    const ex = await bootExporter({
      section: { auth: { type: 'basic', username: 'prom', passwordFile } },
    });
    try {
      const basic = (u: string, p: string): Record<string, string> => ({
        Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
      });
      expect((await get(ex.url, { ca: ex.ca, headers: basic('prom', 'correct horse') })).status).toBe(200);
      const none = await get(ex.url, { ca: ex.ca });
      expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Basic realm="vpmd metrics"']);
      expect((await get(ex.url, { ca: ex.ca, headers: basic('prom', 'correct hors') })).status).toBe(401);
      expect((await get(ex.url, { ca: ex.ca, headers: basic('other', 'correct horse') })).status).toBe(401);
      expect((await get(ex.url, { ca: ex.ca, headers: { Authorization: 'Bearer correct horse' } })).status).toBe(401);
    } finally {
      await ex.agent.stop();
    }
  });

  it('bearer: the token passes (scheme in any case), a wrong or missing one is 401', async () => {
    const auth = await loadScrapeAuth({ type: 'bearer', tokenFile: await secret('tok', 's3cret-token\n') });
    expect(auth.allows('Bearer s3cret-token')).toBe(true);
    expect(auth.allows('bearer  s3cret-token ')).toBe(true);
    expect(auth.allows('Bearer s3cret-toke')).toBe(false);
    expect(auth.allows('Basic s3cret-token')).toBe(false);
    expect(auth.allows(undefined)).toBe(false);
  });

  it('refuses unusable secrets and mixed fields with errors naming the field', async () => {
    const open = await secret('open', 'x\n', 0o644);
    await expect(loadScrapeAuth({ type: 'bearer', tokenFile: open })).rejects.toThrow(
      /plugins\.prometheus\.auth\.tokenFile: .*readable by every user/,
    );
    await expect(loadScrapeAuth({ type: 'bearer', tokenFile: join(dir, 'missing') })).rejects.toThrow(
      /auth\.tokenFile: cannot read .*ENOENT/,
    );
    await expect(loadScrapeAuth({ type: 'bearer', tokenFile: await secret('empty', '\n') })).rejects.toThrow(
      /is empty/,
    );
    await expect(loadScrapeAuth({ type: 'basic', passwordFile: await secret('p2', 'x') })).rejects.toThrow(
      /auth\.username: required with type 'basic'/,
    );
    await expect(loadScrapeAuth({ type: 'none', tokenFile: 'x' })).rejects.toThrow(
      /auth\.tokenFile: not used with type 'none'/,
    );
  });
});

describe('where the exporter listens', () => {
  it('drops connections from outside the allow-list before any reply', async () => {
    const ex = await bootExporter({ core: { management: { address: '127.0.0.1', allow: ['10.0.0.0/8'] } } });
    try {
      await expect(get(ex.url, { ca: ex.ca })).rejects.toThrow(/ECONNRESET|socket hang up|disconnected/);
    } finally {
      await ex.agent.stop();
    }
  });

  it('serves plain HTTP only when tls.enabled is false', async () => {
    const ex = await bootExporter({ section: { tls: { enabled: false } } });
    try {
      expect(ex.url.startsWith('http://')).toBe(true);
      const r = await get(ex.url);
      expect(r.status).toBe(200);
      expect(r.body).toContain('vpmd_plugin_up{plugin="prometheus"} 1');
    } finally {
      await ex.agent.stop();
    }
  });

  it('refuses an address that is neither the management address nor loopback, and the plugin fails alone', async () => {
    const ex = await bootExporter({ section: { address: '192.0.2.7' } });
    try {
      const st = (await ex.agent.status()).find((p) => p.name === 'prometheus');
      expect(st?.state).toBe('failed');
      expect(st?.error?.message).toMatch(
        /plugins\.prometheus\.address: 192\.0\.2\.7 is neither the management address/,
      );
    } finally {
      await ex.agent.stop();
    }
  });
});
