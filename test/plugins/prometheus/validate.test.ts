/** `vpmd check-config` for plugins.prometheus: address, TLS files and auth, every problem with its path. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import prometheus from '../../../plugins/prometheus/index.js';
import type { PrometheusConfig } from '../../../plugins/prometheus/config.js';

/** The section with the schema's defaults, as check-config hands it over. */
function section(raw: {
  address?: string;
  tls?: Partial<PrometheusConfig['tls']>;
  auth?: Partial<PrometheusConfig['auth']>;
}): PrometheusConfig {
  return {
    port: 9469,
    ...(raw.address !== undefined ? { address: raw.address } : {}),
    tls: { enabled: true, ...raw.tls },
    auth: { type: 'none', ...raw.auth },
  };
}

const check = async (raw: Parameters<typeof section>[0]) => prometheus.validate?.(section(raw));

describe('prometheus config checks (check-config)', () => {
  let dir: string;
  let token: string;
  let open: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-prom-validate-'));
    token = join(dir, 'token');
    open = join(dir, 'open');
    await writeFile(token, 'tok\n', { mode: 0o600 });
    await writeFile(open, 'tok\n');
    await chmod(open, 0o644);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the defaults and a bearer token file', async () => {
    expect(await check({})).toEqual([]);
    expect(await check({ address: '127.0.0.1', auth: { type: 'bearer', tokenFile: token } })).toEqual([]);
  });

  it('reports the address, TLS and auth problems at once', async () => {
    const missing = join(dir, 'cert.pem');
    expect(
      await check({
        address: 'metrics.example',
        tls: { cert: missing },
        auth: { type: 'basic', username: 'prom' },
      }),
    ).toEqual([
      {
        path: 'address',
        message:
          'metrics.example is not an IP address; give the management address or a loopback address (127.0.0.1, ::1)',
      },
      { path: 'tls.key', message: 'give both cert and key, or neither (a self-signed certificate is generated)' },
      { path: 'tls.cert', message: `${missing} does not exist; give a readable PEM file` },
      { path: 'auth.passwordFile', message: "required with type 'basic'" },
    ]);
  });

  it('refuses TLS files with TLS off, and a world-readable secret', async () => {
    expect(
      await check({ tls: { enabled: false, cert: token, key: token }, auth: { type: 'bearer', tokenFile: open } }),
    ).toEqual([
      { path: 'tls', message: 'cert and key are set but enabled is false; remove them or enable TLS' },
      { path: 'auth.tokenFile', message: `${open} is readable by every user; chmod o-r it` },
    ]);
  });
});
