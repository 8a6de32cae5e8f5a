/**
 * Redfish benchmark: GET of a Sensor and of the ComputerSystem with a session token over TLS
 * keep-alive, 64 connections, driven by wrk (C, one thread, so the client costs the two shared
 * CPUs as little as possible). Four servers, measured one after the other in the same run with
 * the same certificate and the same bytes:
 *  - the agent (its own process, booted on the simulated host), as configured by default;
 *  - `redfishUncached`: the same with `responseCacheMs: 0`, so every reply is built: the worst
 *    case of a resource that changes between every two requests;
 *  - `nodeFloor`, a bare node:https server replaying the agent's bytes and headers: the ceiling
 *    for any Node service on this machine;
 *  - nginx (1 worker) serving the same JSON files: the baseline.
 * Servers are measured interleaved: each server's time is cut into rounds and the servers take
 * turns, so a change in machine load hits all alike. A server with failed requests (socket
 * errors, timeouts, non-2xx) makes its ratios invalid: they are printed as `{ invalid: [...] }`.
 * Prints one JSON summary: requests/s, p50/p99/p99.9/max, ratios, the goals (>= 30% of nginx's
 * requests/s, p99 < 10 ms), each server's RSS and `settings` (every default changed).
 *
 * Usage: npm run bench:redfish [-- --duration 10 --rounds 5 --connections 64 --threads 1]
 * Needs nginx and wrk (scripts/setup-peers.sh installs both).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentInfo } from './agent-process.js';
import {
  WRK_REPORT,
  child,
  combine,
  load as wrkLoad,
  ratioOf,
  rssOf,
  startNginxOnFreePort,
  stopChild,
  type Load,
} from './wrk.js';
import { numberOption } from '../options.js';
const opt = numberOption;
const DURATION = opt('duration', 10);
const CONNECTIONS = opt('connections', 64);
const THREADS = opt('threads', 1);
/** Each server's DURATION is cut into this many rounds, servers taking turns (interleaved). */
const ROUNDS = Math.max(1, Math.min(opt('rounds', 5), DURATION));
const ROUND_SECONDS = Math.max(1, Math.round(DURATION / ROUNDS));
const load = (url: string, headers: Record<string, string>, seconds: number, script: string): Promise<Load> =>
  wrkLoad(url, headers, seconds, script, { threads: THREADS, connections: CONNECTIONS });

/** Every setting this benchmark changes from the defaults of the agent, nginx and wrk. */
const SETTINGS = {
  wrk: { threads: THREADS, connections: CONNECTIONS, secondsPerServerAndResource: ROUNDS * ROUND_SECONDS },
  rounds: ROUNDS,
  roundSeconds: ROUND_SECONDS,
  warmUpSecondsPerServer: 2,
  redfish: { 'log.level': ['error', 'info'], account: 'ReadOnly, session token' },
  redfishUncached: { 'log.level': ['error', 'info'], 'redfish.responseCacheMs': [0, 250] },
  nginx: {
    worker_processes: [1, 'auto'],
    master_process: ['off', 'on'],
    keepalive_requests: [10_000_000, 1000],
    access_log: ['off', 'on'],
    headers: 'OData-Version 4.0, Cache-Control no-store (as the agent sends)',
  },
  nodeFloor: "replays the agent's bytes and headers; keepAliveTimeout 30 s",
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-redfish-'));
  let agent: ChildProcess | undefined;
  let uncachedAgent: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  try {
    const a = await child('./agent-process.ts', []);
    agent = a.proc;
    const info = JSON.parse(a.line) as AgentInfo;
    const u = await child('./agent-process.ts', ['--response-cache-ms', '0']);
    uncachedAgent = u.proc;
    const uncached = JSON.parse(u.line) as AgentInfo;
    const cert = join(info.tlsDir, 'cert.pem');
    const key = join(info.tlsDir, 'key.pem');
    const byUri = Object.fromEntries(Object.values(info.resources).map((r) => [r.uri, r]));
    await writeFile(join(dir, 'files.json'), JSON.stringify(byUri));
    const f = await child('./node-floor.ts', [cert, key, join(dir, 'files.json')]);
    floor = f.proc;
    const started = await startNginxOnFreePort(
      dir,
      cert,
      key,
      Object.fromEntries(Object.values(info.resources).map((r) => [r.uri, r.body])),
    );
    nginx = started.nginx;
    const nginxPort = started.port;
    const servers = {
      redfish: { base: `https://127.0.0.1:${info.port}`, headers: { 'X-Auth-Token': info.token } },
      redfishUncached: { base: `https://127.0.0.1:${uncached.port}`, headers: { 'X-Auth-Token': uncached.token } },
      nodeFloor: { base: `https://127.0.0.1:${f.line.trim()}`, headers: {} },
      nginx: { base: `https://127.0.0.1:${nginxPort}`, headers: {} },
    };
    const script = join(dir, 'report.lua');
    await writeFile(script, WRK_REPORT);
    for (const s of Object.values(servers)) await load(`${s.base}${info.resources.system.uri}`, s.headers, 2, script); // warm-up (JIT, TLS)
    const results: Record<string, Record<string, unknown>> = {};
    for (const [name, res] of Object.entries(info.resources)) {
      // Interleaved: every round gives each server ROUND_SECONDS in turn, the order rotating,
      // so that a change in machine load during the run hits every server alike.
      const names = Object.keys(servers) as (keyof typeof servers)[];
      const rounds = Object.fromEntries(names.map((n) => [n, [] as Load[]])) as Record<keyof typeof servers, Load[]>;
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < names.length; k++) {
          const server = names[(round + k) % names.length] as keyof typeof servers;
          const s = servers[server];
          rounds[server].push(await load(`${s.base}${res.uri}`, s.headers, ROUND_SECONDS, script));
        }
      }
      const redfish = combine(rounds.redfish);
      const redfishUncached = combine(rounds.redfishUncached);
      const nodeFloor = combine(rounds.nodeFloor);
      const base = combine(rounds.nginx);
      // A server that failed requests did less work: a ratio with it would be meaningless (at
      // 1,000 connections nginx refused most of them and the ratio read 4137).
      const failed = (n: string, l: Load): string[] =>
        l.errors + l.non2xx > 0 ? [`${n}: ${l.errors} socket errors/timeouts, ${l.non2xx} non-2xx replies`] : [];
      const ratio = (a: Load, an: string, b: Load, bn: string): number | { invalid: string[] } => {
        const why = [...failed(an, a), ...failed(bn, b)];
        return why.length > 0 ? { invalid: why } : ratioOf(a, b);
      };
      const baselineProblems = failed('nginx', base);
      results[name] = {
        uri: res.uri,
        bytes: Buffer.byteLength(res.body),
        redfish,
        redfishUncached,
        nodeFloor,
        nginx: base,
        baselineValid: baselineProblems.length === 0,
        ...(baselineProblems.length > 0 ? { baselineInvalidBecause: baselineProblems } : {}),
        ratios: {
          redfishOverNginx: ratio(redfish, 'redfish', base, 'nginx'),
          redfishUncachedOverNginx: ratio(redfishUncached, 'redfishUncached', base, 'nginx'),
          redfishOverNodeFloor: ratio(redfish, 'redfish', nodeFloor, 'nodeFloor'),
          nodeFloorOverNginx: ratio(nodeFloor, 'nodeFloor', base, 'nginx'),
        },
      };
    }
    const all = Object.values(results) as { redfish: Load; ratios: { redfishOverNginx: number | object } }[];
    const valid = all.every((r) => typeof r.ratios.redfishOverNginx === 'number');
    const { loadavg, cpus } = await import('node:os');
    const summary = {
      benchmark: 'redfish',
      machine: { cpus: cpus().length, loadavg1: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      client: `wrk -t${THREADS} -c${CONNECTIONS}, ${ROUNDS} interleaved rounds of ${ROUND_SECONDS}s per server, keep-alive, TLS, session token`,
      settings: SETTINGS,
      results,
      goals: {
        // null: not judged, because a ratio is invalid (see the results' ratios).
        rpsAtLeast30PercentOfNginx: valid ? all.every((r) => (r.ratios.redfishOverNginx as number) >= 0.3) : null,
        p99Below10ms: all.every((r) => r.redfish.p99ms < 10 && r.redfish.errors + r.redfish.non2xx === 0),
      },
      memory: {
        agentRssMB: agent.pid ? Math.round(await rssOf(agent.pid)) : null,
        nodeFloorRssMB: floor.pid ? Math.round(await rssOf(floor.pid)) : null,
        nginxRssMB: nginx.pid ? Math.round(await rssOf(nginx.pid)) : null,
      },
      notes:
        'each server is one process on one thread (nginx: 1 worker, master_process off); the goals are judged on the default configuration (redfish), redfishUncached builds every reply; the agent and nodeFloor both run under the tsx loader, so agentRssMB - nodeFloorRssMB is what the service itself holds; nodeFloor is a bare node:https server sending the same bytes and headers (replies of one event-loop turn written together, as the agent does), the ceiling for any Node service on this machine; same certificate (P-256) for all',
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    nginx?.kill('SIGTERM');
    await Promise.all([stopChild(agent), stopChild(uncachedAgent), stopChild(floor)]);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:redfish failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
