/**
 * `vpmd check-config` for `plugins.prometheus`: what the exporter would refuse at start, every
 * problem at once, under its path in the section with what is allowed. Reads the secret and
 * certificate files (never the network); whether `address` is the management address is known
 * only at start.
 */
import { access, constants } from 'node:fs/promises';
import { isIP } from 'node:net';
import { VpmdError, type PluginConfigProblem } from 'vpmd';
import type { PrometheusConfig } from './config.js';
import { loadScrapeAuth } from './http/auth.js';

async function unreadable(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code})`;
  }
}

/** Every problem of the section. */
export async function prometheusConfigProblems(cfg: PrometheusConfig): Promise<PluginConfigProblem[]> {
  const out: PluginConfigProblem[] = [];
  const a = cfg.address;
  if (a !== undefined && isIP(a) === 0)
    out.push({
      path: 'address',
      message: `${a} is not an IP address; give the management address or a loopback address (127.0.0.1, ::1)`,
    });
  const t = cfg.tls;
  if (!t.enabled && (t.cert !== undefined || t.key !== undefined))
    out.push({ path: 'tls', message: 'cert and key are set but enabled is false; remove them or enable TLS' });
  if (t.enabled && (t.cert === undefined) !== (t.key === undefined))
    out.push({
      path: t.cert === undefined ? 'tls.cert' : 'tls.key',
      message: 'give both cert and key, or neither (a self-signed certificate is generated)',
    });
  if (t.enabled)
    for (const field of ['cert', 'key'] as const) {
      const path = t[field];
      const why = path === undefined ? undefined : await unreadable(path);
      if (why !== undefined) out.push({ path: `tls.${field}`, message: `${why}; give a readable PEM file` });
    }
  try {
    await loadScrapeAuth(cfg.auth);
  } catch (e) {
    if (!(e instanceof VpmdError) || e.code !== 'E_PROMETHEUS_CONFIG') throw e;
    const field = typeof e.details.field === 'string' ? e.details.field : '';
    out.push({
      path: field === '' ? 'auth' : `auth.${field}`,
      message: e.message.replace(/^plugins\.prometheus\.auth\.[A-Za-z]+: /, ''),
    });
  }
  return out;
}
