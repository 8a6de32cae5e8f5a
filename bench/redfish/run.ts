/**
 * Redfish benchmark: GET of a Sensor and of the ComputerSystem with a session token over TLS
 * keep-alive (autocannon, 64 connections), against nginx serving the same JSON bodies over TLS
 * with the same certificate on loopback, measured in the same run. Prints one JSON summary:
 * requests/s, p50/p99 latency, the ratios to nginx, the goals (>= 30% of nginx's requests/s,
 * p99 < 10 ms) and memory (the agent's RSS and heap, nginx's RSS).
 *
 * Usage: npm run bench:redfish [-- --duration 10 --connections 64]
 * Needs nginx (scripts/setup-peers.sh installs nginx-light). autocannon runs in a child
 * process so it does not share the agent's event loop.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { bootRedfish, freePort } from '../../test/plugins/redfish/support.js';

const run = promisify(execFile);
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const DURATION = opt('duration', 10);
const CONNECTIONS = opt('connections', 64);
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface Load {
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const { stdout } = await run(process.execPath, [autocannonBin, '--json', '-c', String(CONNECTIONS), '-d', String(seconds), ...h, url], { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: Math.round(r.requests.average), p50ms: r.latency.p50, p99ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function startNginx(dir: string, port: number, cert: string, key: string, files: Record<string, string>): Promise<ChildProcess> {
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
  await new Promise<void>((resolve, reject) => {
    nginx.once('error', (e) => reject(new Error(`nginx cannot start (install it: bash scripts/setup-peers.sh): ${e.message}`)));
    nginx.once('exit', (code) => reject(new Error(`nginx exited with ${code}: see ${dir}/error.log`)));
    setTimeout(resolve, 500);
  });
  nginx.removeAllListeners('exit');
  return nginx;
}

async function main(): Promise<void> {
  const h = await bootRedfish({ core: { log: { level: 'error' } } });
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-redfish-'));
  let nginx: ChildProcess | undefined;
  try {
    await h.addAccount('bench', 'ReadOnly', 'Bench-pass-1234');
    const token = await h.login('bench', 'Bench-pass-1234');
    const sensors = await h.rf('GET', '/redfish/v1/Chassis/host/Sensors', { token });
    const sensorUri = String(sensors.json.Members.find((m: { '@odata.id': string }) => m['@odata.id'].includes('rapl')) ?.['@odata.id'] ?? sensors.json.Members[0]['@odata.id']);
    const systemUri = '/redfish/v1/Systems/host';
    const files = {
      [sensorUri]: (await h.rf('GET', sensorUri, { token })).text,
      [systemUri]: (await h.rf('GET', systemUri, { token })).text,
    };
    const tlsDir = join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls');
    const nginxPort = await freePort();
    nginx = await startNginx(dir, nginxPort, join(tlsDir, 'cert.pem'), join(tlsDir, 'key.pem'), files);
    const rf = `https://127.0.0.1:${h.port}`;
    const ng = `https://127.0.0.1:${nginxPort}`;
    const auth = { 'X-Auth-Token': token };
    await load(`${rf}${systemUri}`, auth, 2); // warm-up (JIT, TLS session setup)
    await load(`${ng}${systemUri}`, {}, 2);
    const result: Record<string, { redfish: Load; nginx: Load; rpsRatio: number }> = {};
    for (const [name, uri] of [['sensor', sensorUri], ['system', systemUri]] as const) {
      const redfish = await load(`${rf}${uri}`, auth, DURATION);
      const base = await load(`${ng}${uri}`, {}, DURATION);
      result[name] = { redfish, nginx: base, rpsRatio: Math.round((redfish.rps / Math.max(1, base.rps)) * 1000) / 1000 };
    }
    const mem = process.memoryUsage();
    const summary = {
      benchmark: 'redfish',
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      uris: { sensor: sensorUri, system: systemUri },
      results: result,
      goals: {
        rpsAtLeast30PercentOfNginx: Object.values(result).every((r) => r.rpsRatio >= 0.3),
        p99Below10ms: Object.values(result).every((r) => r.redfish.p99ms < 10),
      },
      memory: {
        agentRssMB: Math.round(mem.rss / 1048576),
        agentHeapUsedMB: Math.round(mem.heapUsed / 1048576),
        nginxRssMB: nginx.pid ? Math.round(await rssOf(nginx.pid)) : null,
      },
      notes: 'agent and nginx each on one process (nginx: 1 worker, master_process off); autocannon in a child process; same certificate (P-256)',
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    nginx?.kill('SIGTERM');
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:redfish failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
