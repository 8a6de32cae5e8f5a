/**
 * Shared by the Redfish benchmarks (run.ts, uncached.ts): wrk runs and their JSON summary, rounds
 * combined, nginx with a generated config, TypeScript children (the agent, the Node floor).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../test/plugins/redfish/support.js';

const run = promisify(execFile);

/** One wrk run, or several combined. */
export interface Load {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly maxms: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** wrk's Lua hook: print the summary as one JSON line (wrk's own output is for humans). */
export const WRK_REPORT = `done = function(s, lat, req)
  local e = s.errors
  io.write(string.format('{"requests":%d,"us":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d,"errors":%d,"non2xx":%d}\\n',
    s.requests, s.duration, lat:percentile(50), lat:percentile(99), lat:percentile(99.9), lat.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end`;

/**
 * Closed-loop load with wrk (C, one thread): it costs the shared CPUs far less than a Node client,
 * so the numbers measure the servers rather than the load generator.
 */
export async function load(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  script: string,
  client: { threads: number; connections: number },
): Promise<Load> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const { stdout } = await run(
    'wrk',
    ['-t', String(client.threads), '-c', String(client.connections), '-d', `${seconds}s`, '-s', script, ...h, url],
    { maxBuffer: 1024 * 1024 },
  ).catch((e: Error) => {
    throw new Error(`wrk failed (install it: bash scripts/setup-peers.sh): ${e.message}`);
  });
  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line) as {
    requests: number;
    us: number;
    p50: number;
    p99: number;
    p999: number;
    max: number;
    errors: number;
    non2xx: number;
  };
  return {
    requests: r.requests,
    seconds: r.us / 1e6,
    rps: Math.round(r.requests / (r.us / 1e6)),
    p50ms: ms(r.p50),
    p99ms: ms(r.p99),
    p999ms: ms(r.p999),
    maxms: ms(r.max),
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

export const ms = (us: number): number => Math.round(us / 10) / 100;

/**
 * One server's rounds together: requests/s over all of them; p50 the median round's, p99, p99.9
 * and max the worst round's (wrk reports percentiles per run, which do not add up).
 */
export function combine(rounds: readonly Load[]): Load & { rounds: number } {
  const requests = rounds.reduce((a, r) => a + r.requests, 0);
  const seconds = rounds.reduce((a, r) => a + r.seconds, 0);
  const p50s = rounds.map((r) => r.p50ms).sort((a, b) => a - b);
  return {
    requests,
    seconds: Math.round(seconds * 100) / 100,
    rps: Math.round(requests / Math.max(seconds, 1e-9)),
    p50ms: p50s[Math.floor(p50s.length / 2)] ?? NaN,
    p99ms: Math.max(...rounds.map((r) => r.p99ms)),
    p999ms: Math.max(...rounds.map((r) => r.p999ms)),
    maxms: Math.max(...rounds.map((r) => r.maxms)),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    non2xx: rounds.reduce((a, r) => a + r.non2xx, 0),
    rounds: rounds.length,
  };
}

/**
 * The interpreter line of the agent program (app/vpmd.ts: `#!/usr/bin/env -S VAR=V node FLAGS`):
 * its environment settings and node flags, so that the benchmarked agent's heap is configured as
 * the real one's (its young generation's size sets how often it collects garbage).
 */
export async function agentInterpreter(): Promise<{ env: Record<string, string>; nodeFlags: string[] }> {
  const first = (await readFile(new URL('../../app/vpmd.ts', import.meta.url), 'utf8')).split('\n')[0] ?? '';
  const words = first
    .replace(/^#!\S*env\s+(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  const at = words.indexOf('node');
  if (!first.startsWith('#!') || at < 0) throw new Error(`app/vpmd.ts has no node interpreter line: ${first}`);
  const env = Object.fromEntries(words.slice(0, at).map((w) => w.split('=', 2) as [string, string]));
  return { env, nodeFlags: words.slice(at + 1) };
}

/** CPU time a process has used so far, user and system, in microseconds (`/proc/PID/stat`). */
export async function cpuOf(pid: number): Promise<{ user: number; sys: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1e6 / CLOCK_TICKS;
  return { user: Number(f[11]) * tick, sys: Number(f[12]) * tick };
}

/** USER_HZ: 100 on Linux for every architecture the agent runs on. */
const CLOCK_TICKS = 100;

export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function startNginx(
  dir: string,
  port: number,
  cert: string,
  key: string,
  files: Record<string, string>,
): Promise<ChildProcess> {
  const root = join(dir, 'www');
  for (const [uri, body] of Object.entries(files)) {
    await mkdir(join(root, dirname(uri)), { recursive: true });
    await writeFile(join(root, uri), body);
  }
  const conf = `
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      root ${root};
      default_type application/json;
      add_header OData-Version 4.0;
      add_header Cache-Control no-store;
    }
  }
}`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) => {
    nginx.once('error', (e) =>
      reject(new Error(`nginx cannot start (install it: bash scripts/setup-peers.sh): ${e.message}`)),
    );
    nginx.once('exit', (code) =>
      reject(new Error(`nginx exited with ${code}: ${stderr.trim() || `see ${dir}/error.log`}`)),
    );
  });
  // Ready when it accepts a connection (not after a fixed pause).
  const accepting = (async (): Promise<void> => {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.race([accepting, exited]);
  nginx.removeAllListeners('exit');
  return nginx;
}

/** Starts nginx on a free port, again on another one if something took it in between. */
export async function startNginxOnFreePort(
  dir: string,
  cert: string,
  key: string,
  files: Record<string, string>,
): Promise<{ nginx: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { nginx: await startNginx(dir, port, cert, key, files), port };
    } catch (e) {
      if (attempt >= 5 || !/Address already in use/.test(String(e))) throw e;
    }
  }
}

/**
 * Starts a TypeScript entry (relative to this folder, or an absolute path) in a child process and
 * returns it with the first line it prints. `nodeArgs` go to node itself (`--cpu-prof`).
 */
export async function child(
  entry: string,
  args: string[],
  nodeArgs: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; line: string }> {
  const script = entry.startsWith('/') ? entry : new URL(entry, import.meta.url).pathname;
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before it was ready`)));
  });
  proc.removeAllListeners('exit');
  return { proc, line };
}

export const stopChild = (p: ChildProcess | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (!p || p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.stdin?.end();
    setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
  });

export const ratioOf = (a: Load, b: Load): number => Math.round((a.rps / Math.max(1, b.rps)) * 1000) / 1000;
