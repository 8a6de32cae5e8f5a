/**
 * Where the uncached Redfish agent spends its CPU: boots the agent (`responseCacheMs: 0`) with
 * V8's sampling profiler on once it is ready (agent-process.ts `--cpu-profile`), drives one case
 * of the uncached benchmark at it with wrk (`walk` or `expand`, see uncached-cases.ts), and
 * prints the agent's CPU per request: by part of the request pipeline (see PARTS), and self
 * time by source area and by function. A sampling profile: the numbers are estimates (one
 * sample per `--interval` µs), and profiling slows the agent, so its req/s are not the
 * benchmark's. The agent runs with vpmd's interpreter line's node flags, as in uncached.ts, or
 * with `--agent-node-flags "FLAGS"`.
 *
 * Usage: flock /tmp/vpmd-bench.lock npx tsx bench/redfish/profile.ts
 *          [--case walk|expand] [--duration 10 --connections 64 --interval 100 --top 40 --keep DIR]
 *          [--agent-node-flags "FLAGS"]
 *        npx tsx bench/redfish/profile.ts --analyse FILE.cpuprofile --requests N (a kept profile again)
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentInfo } from './agent-process.js';
import { numberOption } from '../options.js';
import { cycleScript, get, uncachedCases } from './uncached-cases.js';
import { agentInterpreter, child, load, stopChild } from './wrk.js';

const stringOption = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const CASE = stringOption('case', 'walk');
const DURATION = numberOption('duration', 10);
const CONNECTIONS = numberOption('connections', 64);
const INTERVAL = numberOption('interval', 100);
const TOP = numberOption('top', 40);
const KEEP = stringOption('keep', '');
const FLAGS = process.argv.includes('--agent-node-flags')
  ? stringOption('agent-node-flags', '').split(/\s+/).filter(Boolean)
  : undefined;

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a function's source is, as a short name. */
function area(f: CallFrame): string {
  const u = f.url;
  if (!u) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const repo = /\/(plugins\/[^/]+\/[^/]+|core|app|testkit)\//.exec(u);
  if (repo) return repo[1] as string;
  if (u.includes('node_modules')) return `npm:${/node_modules\/([^/]+)/.exec(u)?.[1] ?? '?'}`;
  if (/_http_|internal\/http/.test(u)) return 'node:http';
  if (/tls|crypto/.test(u)) return 'node:tls';
  if (/net|stream|internal\/streams/.test(u)) return 'node:net+stream';
  if (/timers|task_queues|async_hooks|promise/.test(u)) return 'node:timers+promises';
  return 'node:other';
}

const short = (f: CallFrame): string =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(plugins|core|app|node_modules)\//, '$1/').replace(/^node:/, 'node:')}:${f.lineNumber + 1}`;

/**
 * The request pipeline's parts. Each sample goes to the first part that matches on its stack,
 * from the running function outwards: `hash` called by `etagOfKey` called by `jsonOutcome` is
 * the ETag; `JSON.stringify` (a builtin, shown as its caller) in `jsonOutcome` is serialisation;
 * a sensor built for `$expand` is the body. The parts add up to the CPU per request.
 */
const PARTS: Array<[string, (f: CallFrame) => boolean]> = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['ETag (SHA-1 of the body or its key)', (f) => f.functionName === 'etagOfKey'],
  [
    'serialise (JSON text and key, encoding, length)',
    (f) => /^(jsonOutcome|jsonText|jsonTextAndKey|appendBoth|errorOutcome)$/.test(f.functionName),
  ],
  [
    'auth (session token / basic)',
    (f) => /^(authenticate|basic|touch)$/.test(f.functionName) && f.url.includes('redfish'),
  ],
  ['routing (router.match)', (f) => f.functionName === 'match' && f.url.includes('router')],
  ['query parsing', (f) => /^parseQuery(Options)?$/.test(f.functionName)],
  [
    'privilege',
    (f) =>
      /^(authorize|getPrivileges|requiredPrivileges|satisfies|isOpen)$/.test(f.functionName) &&
      f.url.includes('redfish'),
  ],
  ['audit/log', (f) => /^(audit|log|info|warn|error|debug)$/.test(f.functionName) && !f.url.startsWith('node:')],
  ['body (resources, telemetry, host files)', (f) => /\/plugins\/redfish\/resources\/|\/core\//.test(f.url)],
  ['$expand machinery (query.ts, readAs)', (f) => f.url.includes('redfish/http/query') || f.functionName === 'readAs'],
  ['dispatcher (other)', (f) => /redfish\/http\/(dispatch|request-auth|outcome|router|json-text)/.test(f.url)],
  [
    'reply write (headers, TLS write)',
    (f) => f.functionName === 'send' || /_http_outgoing|stream_base_commons/.test(f.url),
  ],
  ['request parse (HTTP)', (f) => /_http_incoming|_http_common|_http_server/.test(f.url)],
  ['server.ts (reply burst)', (f) => f.url.includes('redfish/http/server')],
  ['promises/microtasks', (f) => /^(runMicrotasks|processTicksAndRejections)$/.test(f.functionName)],
];

function analyse(p: CpuProfile, requests: number): Record<string, unknown> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    selfUs.set(p.samples[i] as number, (selfUs.get(p.samples[i] as number) ?? 0) + (p.timeDeltas[i] ?? 0));
  const per = (us: number): number => Math.round((us / requests) * 100) / 100;
  let busy = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  const parts = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id) as ProfileNode;
    if (n.callFrame.functionName === '(idle)') continue;
    busy += us;
    const a = area(n.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const k = short(n.callFrame);
    fns.set(k, (fns.get(k) ?? 0) + us);
    let part = 'other (TLS read, net, event loop)';
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const f = (byId.get(x) as ProfileNode).callFrame;
      const found = PARTS.find(([, is]) => is(f));
      if (found) {
        part = found[0];
        break;
      }
    }
    parts.set(part, (parts.get(part) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>, n = Infinity): Record<string, number> =>
    Object.fromEntries(
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, v]) => [k, per(v)]),
    );
  return {
    cpuUsPerRequest: per(busy),
    breakdownUsPerRequest: sorted(parts),
    selfUsPerRequestByArea: sorted(areas),
    topSelfUsPerRequest: sorted(fns, TOP),
  };
}

async function main(): Promise<void> {
  const from = stringOption('analyse', '');
  if (from) {
    // Re-reads a kept profile: --analyse FILE --requests N
    const p = JSON.parse(await readFile(from, 'utf8')) as CpuProfile;
    process.stdout.write(`${JSON.stringify(analyse(p, numberOption('requests', 1)), null, 2)}\n`);
    return;
  }
  if (CASE !== 'walk' && CASE !== 'expand') throw new Error(`--case must be walk or expand, not ${CASE}`);
  const dir = KEEP || (await mkdtemp(join(tmpdir(), 'vpmd-bench-redfish-profile-')));
  await mkdir(dir, { recursive: true });
  const profFile = join(dir, `${CASE}.cpuprofile`);
  const interpreter = await agentInterpreter();
  const nodeFlags = FLAGS ?? interpreter.nodeFlags;
  const a = await child(
    './agent-process.ts',
    ['--response-cache-ms', '0', '--cpu-profile', profFile, '--cpu-profile-interval', String(INTERVAL)],
    nodeFlags,
    interpreter.env,
  );
  try {
    const info = JSON.parse(a.line) as AgentInfo;
    const ca = await readFile(join(info.tlsDir, 'cert.pem'), 'utf8');
    const cases = await uncachedCases((uri) => get(info.port, ca, info.token, uri));
    const script = join(dir, `${CASE}.lua`);
    await writeFile(script, cycleScript(cases[CASE]));
    const url = `https://127.0.0.1:${info.port}`;
    const headers = { 'X-Auth-Token': info.token };
    const client = { threads: 1, connections: CONNECTIONS };
    const r = await load(url, headers, DURATION, script, client);
    await stopChild(a.proc);
    const main = JSON.parse(await readFile(profFile, 'utf8')) as CpuProfile;
    const gc = JSON.parse(await readFile(`${profFile}.gc.json`, 'utf8')) as Record<
      string,
      { count: number; ms: number; maxMs: number }
    >;
    const per1000 = (x: number): number => Math.round((x / Math.max(1, r.requests)) * 1000 * 100) / 100;
    const out = {
      benchmark: 'redfish-uncached-profile',
      case: CASE,
      uris: cases[CASE].length,
      agentNodeFlags: nodeFlags,
      load: r,
      note: 'profiled from the agent being ready (boot left out) to its stop; the cases were read once first',
      ...analyse(main, r.requests),
      // From perf_hooks 'gc' entries over the same span: collections and their pauses.
      gcPer1000Requests: Object.fromEntries(
        Object.entries(gc).map(([kind, g]) => [
          kind,
          { count: per1000(g.count), ms: per1000(g.ms), longestMs: Math.round(g.maxMs * 100) / 100 },
        ]),
      ),
      ...(KEEP ? { profile: profFile } : {}),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await stopChild(a.proc);
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/redfish/profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
