/**
 * Test helpers for the prometheus plugin: boot the real agent with the exporter (and the
 * stand-in energy@1) on a free port, and an HTTPS client that trusts the exporter's own
 * generated certificate (TLS verified, not skipped).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import prometheus from '../../../plugins/prometheus/index.js';
import type { PluginManifest } from '../../../core/index.js';
import { freePort } from '../redfish/support.js';

export { freePort };

/** A booted agent with the exporter. */
export interface Exporter {
  readonly agent: BootedAgent;
  readonly url: string;
  /** The PEM the client trusts (the generated certificate), when TLS is on. */
  readonly ca: string | undefined;
  readonly caFile: string | undefined;
}

/** Boots the agent with the exporter, `extra` plugins beside it, and `section` over the defaults. */
export async function bootExporter(
  opts: { extra?: PluginManifest[]; section?: Record<string, unknown>; core?: Record<string, unknown> } = {},
): Promise<Exporter> {
  const port = await freePort();
  const section: Record<string, unknown> = { port, ...opts.section };
  const agent = await bootAgent({
    plugins: [...(opts.extra ?? []), prometheus],
    sections: { prometheus: section },
    ...(opts.core ? { core: opts.core } : {}),
  });
  const tlsOn = (section.tls as { enabled?: boolean } | undefined)?.enabled !== false;
  const caFile = tlsOn ? join(agent.dir, 'state', 'plugins', 'prometheus', 'tls', 'cert.pem') : undefined;
  const ca = caFile ? await readFile(caFile, 'utf8').catch(() => undefined) : undefined;
  return { agent, url: `${tlsOn ? 'https' : 'http'}://127.0.0.1:${port}/metrics`, ca, caFile };
}

/** A reply. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GETs `url`, trusting `ca`; rejects on connection errors (reset, refused). */
export function get(
  url: string,
  opts: { ca?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const common = { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false as const };
    const onRes = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...common, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) }, onRes)
        : httpRequest(u, common, onRes);
    req.on('error', reject);
    req.end();
  });
}

/** Runs `promtool check metrics` on `text`; resolves its exit code and combined output. */
export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

/** The value of the first sample line starting with `prefix` (name and labels), or undefined. */
export function sampleValue(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
