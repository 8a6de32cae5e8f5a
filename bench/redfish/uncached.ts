/**
 * Redfish benchmark of a real poller, which misses the response cache: every connection GETs
 * every Sensor and every system resource in turn (`walk`), and, separately, the whole sensor
 * collection in one request with `$expand=.` (`expand`). The agent runs with
 * `responseCacheMs: 0`: the dispatcher then skips the response cache altogether, so every reply
 * is routed, built, serialized and hashed (replies with query options are never cached anyway).
 * That is what a poller sees whose readings change between polls.
 *
 * Servers, measured interleaved in rounds (the order rotating), with `--busy` cores (default 1)
 * held by a busy loop the whole time: the agent (uncached), the bare Node floor replaying the
 * same bytes, nginx (1 worker) serving the same bytes as files. A server with failed requests
 * makes its ratios invalid. Prints one JSON summary with req/s, p50/p99/p99.9/max, each
 * server's CPU time per request (user and system, from /proc) and ratios.
 *
 * The agent runs with the node flags and environment of vpmd's interpreter line (app/vpmd.ts:
 * its young generation's size sets how often it collects garbage), or with
 * `--agent-node-flags "FLAGS"` instead (`""` for node's defaults).
 *
 * `--baseline-agent DIR` adds a fifth server, `redfishBaseline`: the agent of another checkout
 * (DIR, e.g. a worktree of main), same flags, measured in the same interleaved rounds, so that a
 * change is compared with what it changes on the same machine at the same moment.
 *
 * Usage: flock /tmp/vpmd-bench.lock npx tsx bench/redfish/uncached.ts
 *          [--duration 10 --rounds 5 --connections 64 --busy 1 --agent-node-flags "FLAGS"]
 *          [--baseline-agent DIR]
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withHogs } from '../channels/hog.js';
import type { AgentInfo } from './agent-process.js';
import { cycleScript, get, uncachedCases } from './uncached-cases.js';
import {
  agentInterpreter,
  child,
  combine,
  cpuOf,
  load,
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
const BUSY = opt('busy', 1);
const ROUNDS = Math.max(1, Math.min(opt('rounds', 5), DURATION));
const ROUND_SECONDS = Math.max(1, Math.round(DURATION / ROUNDS));
const CLIENT = { threads: 1, connections: CONNECTIONS };
const flagsAt = process.argv.indexOf('--agent-node-flags');
const baselineAt = process.argv.indexOf('--baseline-agent');
const BASELINE_DIR = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;
const AGENT_FLAGS = flagsAt >= 0 ? (process.argv[flagsAt + 1] ?? '').split(/\s+/).filter(Boolean) : undefined;

/** CPU time of a server over some of its runs, per request, in µs. */
interface Cpu {
  user: number;
  sys: number;
  requests: number;
}
const perRequest = (c: Cpu): { userUs: number; sysUs: number; totalUs: number } => {
  const r = (x: number): number => Math.round((x / Math.max(1, c.requests)) * 10) / 10;
  return { userUs: r(c.user), sysUs: r(c.sys), totalUs: r(c.user + c.sys) };
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-redfish-uncached-'));
  let agent: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  let baseline: ChildProcess | undefined;
  try {
    const interpreter = await agentInterpreter();
    const agentFlags = AGENT_FLAGS ?? interpreter.nodeFlags;
    const a = await child('./agent-process.ts', ['--response-cache-ms', '0'], agentFlags, interpreter.env);
    agent = a.proc;
    const info = JSON.parse(a.line) as AgentInfo;
    const cert = join(info.tlsDir, 'cert.pem');
    const key = join(info.tlsDir, 'key.pem');
    const ca = await readFile(cert, 'utf8');
    const g = (uri: string): ReturnType<typeof get> => get(info.port, ca, info.token, uri);
    const { walk, expand } = await uncachedCases(g);
    // Every URI answers 200 (a refusal would be cheap and flatter the agent).
    const bodies = new Map<string, { body: string; headers: Record<string, string> }>();
    for (const uri of [...walk, ...expand]) {
      const r = await g(uri);
      if (r.status !== 200) throw new Error(`GET ${uri}: ${r.status} ${r.body.slice(0, 200)}`);
      bodies.set(uri, r);
    }
    // The floor replays by exact URL; nginx serves the same bytes as files /r/N (it ignores query strings).
    const files = Object.fromEntries([...bodies].map(([uri, r]) => [uri, r]));
    await writeFile(join(dir, 'files.json'), JSON.stringify(files));
    const f = await child('./node-floor.ts', [cert, key, join(dir, 'files.json')]);
    floor = f.proc;
    const nginxName = new Map([...bodies.keys()].map((uri, i) => [uri, `/r/${i}.json`]));
    const started = await startNginxOnFreePort(
      dir,
      cert,
      key,
      Object.fromEntries([...bodies].map(([uri, r]) => [nginxName.get(uri) as string, r.body])),
    );
    nginx = started.nginx;
    const b = BASELINE_DIR
      ? await child(
          join(BASELINE_DIR, 'bench/redfish/agent-process.ts'),
          ['--response-cache-ms', '0'],
          agentFlags,
          interpreter.env,
        )
      : undefined;
    baseline = b?.proc;
    const baseInfo = b ? (JSON.parse(b.line) as AgentInfo) : undefined;
    const servers = {
      ...(baseInfo && {
        redfishBaseline: {
          port: baseInfo.port,
          pid: baseline?.pid,
          headers: { 'X-Auth-Token': baseInfo.token },
          path: (u: string) => u,
        },
      }),
      redfishUncached: {
        port: info.port,
        pid: agent.pid,
        headers: { 'X-Auth-Token': info.token },
        path: (u: string) => u,
      },
      nodeFloor: { port: Number(f.line.trim()), pid: floor.pid, headers: {}, path: (u: string) => u },
      nginx: { port: started.port, pid: nginx.pid, headers: {}, path: (u: string) => nginxName.get(u) as string },
    };
    type Name = 'redfishUncached' | 'nodeFloor' | 'nginx' | 'redfishBaseline';
    const names = Object.keys(servers) as Name[];
    const server = (n: Name): (typeof servers)['nginx'] => (servers as Record<Name, (typeof servers)['nginx']>)[n];
    const cases = { walk, expand };
    const scripts: Record<string, Record<Name, string>> = {};
    for (const [c, uris] of Object.entries(cases)) {
      scripts[c] = {} as Record<Name, string>;
      for (const n of names) {
        const file = join(dir, `${c}-${n}.lua`);
        await writeFile(file, cycleScript(uris.map(server(n).path)));
        scripts[c][n] = file;
      }
    }
    const url = (n: Name): string => `https://127.0.0.1:${server(n).port}`;
    const results = await withHogs(BUSY, async () => {
      for (const n of names) await load(url(n), server(n).headers, 2, scripts.walk?.[n] as string, CLIENT); // warm-up
      const out: Record<string, unknown> = {};
      for (const c of Object.keys(cases)) {
        const rounds = Object.fromEntries(names.map((n) => [n, [] as Load[]])) as Record<Name, Load[]>;
        const cpu = Object.fromEntries(names.map((n) => [n, { user: 0, sys: 0, requests: 0 }])) as Record<Name, Cpu>;
        for (let round = 0; round < ROUNDS; round++)
          for (let k = 0; k < names.length; k++) {
            const n = names[(round + k) % names.length] as Name;
            const pid = server(n).pid as number;
            const before = await cpuOf(pid);
            const got = await load(url(n), server(n).headers, ROUND_SECONDS, scripts[c]?.[n] as string, CLIENT);
            const after = await cpuOf(pid);
            rounds[n].push(got);
            cpu[n].user += after.user - before.user;
            cpu[n].sys += after.sys - before.sys;
            cpu[n].requests += got.requests;
          }
        const r = Object.fromEntries(
          names.map((n) => [n, { ...combine(rounds[n]), cpuPerRequest: perRequest(cpu[n]) }]),
        ) as unknown as Record<Name, Load>;
        const failed = (n: Name): string[] =>
          r[n].errors + r[n].non2xx > 0 ? [`${n}: ${r[n].errors} socket errors/timeouts, ${r[n].non2xx} non-2xx`] : [];
        const ratio = (x: Name, y: Name): number | { invalid: string[] } => {
          const why = [...failed(x), ...failed(y)];
          return why.length > 0 ? { invalid: why } : ratioOf(r[x], r[y]);
        };
        out[c] = {
          uris: cases[c as keyof typeof cases].length,
          bytes: cases[c as keyof typeof cases].reduce((s, u) => s + Buffer.byteLength(bodies.get(u)?.body ?? ''), 0),
          ...r,
          baselineValid: failed('nginx').length === 0,
          ratios: {
            uncachedOverNginx: ratio('redfishUncached', 'nginx'),
            uncachedOverNodeFloor: ratio('redfishUncached', 'nodeFloor'),
            nodeFloorOverNginx: ratio('nodeFloor', 'nginx'),
            ...(baseInfo && {
              baselineOverNginx: ratio('redfishBaseline', 'nginx'),
              uncachedOverBaseline: ratio('redfishUncached', 'redfishBaseline'),
            }),
          },
          goals: {
            atLeastHalfOfNginx:
              typeof ratio('redfishUncached', 'nginx') === 'number'
                ? (ratio('redfishUncached', 'nginx') as number) >= 0.5
                : null,
            p99Below10ms: r.redfishUncached.p99ms < 10 && failed('redfishUncached').length === 0,
          },
        };
      }
      return out;
    });
    const summary = {
      benchmark: 'redfish-uncached',
      machine: { cpus: cpus().length, loadavg1: Math.round((loadavg()[0] ?? 0) * 100) / 100, busyCores: BUSY },
      client: `wrk -t1 -c${CONNECTIONS}, ${ROUNDS} interleaved rounds of ${ROUND_SECONDS}s per server and case, keep-alive, TLS; each connection cycles through the case's URIs`,
      settings: {
        redfishUncached: {
          'redfish.responseCacheMs': [0, 250],
          'log.level': ['error', 'info'],
          account: 'ReadOnly, session token',
          nodeFlags: agentFlags,
          env: interpreter.env,
          nodeFlagsFrom: AGENT_FLAGS ? '--agent-node-flags' : "app/vpmd.ts's interpreter line",
        },
        nginx: {
          worker_processes: [1, 'auto'],
          master_process: ['off', 'on'],
          access_log: ['off', 'on'],
          files: '/r/N.json, same bytes',
        },
        nodeFloor: "replays the agent's bytes and headers by exact URL",
        ...(BASELINE_DIR && { redfishBaseline: `the agent of ${BASELINE_DIR}, same flags and account` }),
        busy: `${BUSY} core(s) running a shell busy loop (bench/channels/hog.ts) during warm-up and measurement`,
      },
      results,
      memory: {
        agentRssMB: agent.pid ? Math.round(await rssOf(agent.pid)) : null,
        ...(baseline?.pid && { baselineRssMB: Math.round(await rssOf(baseline.pid)) }),
        nodeFloorRssMB: floor.pid ? Math.round(await rssOf(floor.pid)) : null,
        nginxRssMB: nginx.pid ? Math.round(await rssOf(nginx.pid)) : null,
      },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    nginx?.kill('SIGTERM');
    await Promise.all([stopChild(agent), stopChild(floor), stopChild(baseline)]);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:redfish-uncached failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
