/**
 * bench/redfish-poll: one sweep of N Redfish BMCs (DMTF's Redfish Mockup Server with its
 * public-rackmount1 mockup, one process per BMC) reading every sensor, by vpmd's poller and by a
 * Python Redfish client (bench/redfish-poll/baseline.py: DMTF's python-redfish-library when
 * installed, else the same calls over python3-requests) reading the same resources in the same
 * run, alternating, with the same number of BMCs in flight. Each side makes a cold sweep (login,
 * discovery, readings, log entries) and a warm one (the same sessions: a poller's steady state). Prints JSON: wall time, CPU per BMC, per-BMC poll
 * max and p99.9, GETs, failures (a poll past the 10 s timeout counts as one), and the ratios.
 *
 *   flock /tmp/vpmd-bench.lock npx tsx bench/redfish-poll/run.ts [--bmcs 50] [--rounds 3] [--concurrency 16]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedfishMockup, type RedfishMockup } from '../../testkit/index.js';
import { ConcurrencyLimiter } from '../../core/index.js';
import { RedfishTarget } from '../../plugins/redfish/poller/target.js';

const TIMEOUT_MS = 10_000;

interface SideResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly failures: number;
  readonly perBmcMs: readonly number[];
  readonly gets: number;
  readonly readings: number;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0);
}

const median = (xs: readonly number[]): number => quantile(xs, 0.5);

function makeTarget(url: string, i: number): RedfishTarget {
  const u = new URL(url);
  return new RedfishTarget(
    {
      name: `bmc${i}`,
      origin: u.origin,
      host: u.hostname,
      port: Number(u.port),
      username: 'Administrator',
      password: 'Password',
      trust: { kind: 'plain' },
      intervalMs: 30_000,
      events: false,
    },
    { timeoutMs: TIMEOUT_MS, retries: 0, requestsPerBmc: 4 },
    { minMs: 1000, maxMs: 1000 },
  );
}

/** One sweep over `targets`: a poll (discovery first when cold) and a read of every log. */
async function vpmdSweep(targets: readonly RedfishTarget[], concurrency: number): Promise<SideResult> {
  const limiter = new ConcurrencyLimiter(concurrency);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let failures = 0;
  let gets = 0;
  let readings = 0;
  const perBmcMs: number[] = [];
  await Promise.all(
    targets.map((t) =>
      limiter.run(async () => {
        const started = performance.now();
        const before = t.session.counters.requests;
        try {
          await t.poll();
          for (const log of t.discovery?.logs ?? []) await t.expandedMembers(log);
          if (t.partial.length > 0) throw new Error(t.partial.join('; '));
          readings += t.readings.filter((r) => r.reading.value !== null).length;
          const ms = performance.now() - started;
          if (ms > TIMEOUT_MS) failures++;
          else perBmcMs.push(ms);
        } catch (e) {
          failures++;
          process.stderr.write(`vpmd: ${t.target.name}: ${(e as Error).message}\n`);
        } finally {
          gets += t.session.counters.requests - before;
        }
      }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, failures, perBmcMs, gets, readings };
}

/** A cold sweep (new sessions: login, discovery, readings, logs) and a warm one, then logout. */
async function vpmdRun(urls: readonly string[], concurrency: number): Promise<{ cold: SideResult; warm: SideResult }> {
  const targets = urls.map((u, i) => makeTarget(u, i));
  try {
    const cold = await vpmdSweep(targets, concurrency);
    const warm = await vpmdSweep(targets, concurrency);
    return { cold, warm };
  } finally {
    await Promise.all(targets.map((t) => t.close()));
  }
}

type BaselineRun = { library: string; cold: SideResult; warm: SideResult };

/** A BMC read past the timeout is a failure, as on vpmd's side. */
function late(r: SideResult): SideResult {
  const n = r.perBmcMs.filter((ms) => ms > TIMEOUT_MS).length;
  return { ...r, failures: r.failures + n, perBmcMs: r.perBmcMs.filter((ms) => ms <= TIMEOUT_MS) };
}

function baselineRun(urls: readonly string[], concurrency: number): Promise<BaselineRun> {
  const script = fileURLToPath(new URL('./baseline.py', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [script], {
      env: { ...process.env, CONCURRENCY: String(concurrency) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`baseline exited ${String(code)}`));
      const r = JSON.parse(out) as BaselineRun;
      resolve({ library: r.library, cold: late(r.cold), warm: late(r.warm) });
    });
    child.stdin.end(urls.map((url) => JSON.stringify({ url })).join('\n'));
  });
}

function summary(runs: readonly SideResult[], bmcs: number): Record<string, number> {
  const all = runs.flatMap((r) => r.perBmcMs);
  return {
    wallMsMedian: Math.round(median(runs.map((r) => r.wallMs))),
    cpuMsPerBmc: Number((median(runs.map((r) => r.cpuMs)) / bmcs).toFixed(2)),
    pollMsP50: Math.round(quantile(all, 0.5)),
    pollMsP999: Math.round(quantile(all, 0.999)),
    pollMsMax: Math.round(Math.max(0, ...all)),
    failures: runs.reduce((a, r) => a + r.failures, 0),
    getsPerSweep: Math.round(median(runs.map((r) => r.gets))),
    readingsPerSweep: Math.round(median(runs.map((r) => r.readings))),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bmcs: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const n = Number(values.bmcs);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);
  const mockups: RedfishMockup[] = [];
  try {
    for (let i = 0; i < n; i += 10)
      mockups.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => startRedfishMockup()))));
    const urls = mockups.map((m) => m.url);
    const vpmd: Array<{ cold: SideResult; warm: SideResult }> = [];
    const base: BaselineRun[] = [];
    for (let r = 0; r < rounds; r++) {
      vpmd.push(await vpmdRun(urls, concurrency));
      base.push(await baselineRun(urls, concurrency));
    }
    const side = (runs: ReadonlyArray<{ cold: SideResult; warm: SideResult }>) => ({
      cold: summary(
        runs.map((x) => x.cold),
        n,
      ),
      warm: summary(
        runs.map((x) => x.warm),
        n,
      ),
    });
    const v = side(vpmd);
    const b = side(base);
    const ratio = (a: number | undefined, c: number | undefined, floor: number): number =>
      Number(((a ?? 0) / Math.max(floor, c ?? floor)).toFixed(2));
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'redfish-poll',
          peer: 'DMTF Redfish Mockup Server (public-rackmount1), one process per BMC, HTTP on loopback',
          bmcs: n,
          rounds,
          concurrency,
          timeoutMs: TIMEOUT_MS,
          vpmd: v,
          baseline: { library: base[0]?.library ?? '?', ...b },
          ratio: {
            coldWall: ratio(b.cold.wallMsMedian, v.cold.wallMsMedian, 1),
            coldCpuPerBmc: ratio(b.cold.cpuMsPerBmc, v.cold.cpuMsPerBmc, 0.01),
            warmWall: ratio(b.warm.wallMsMedian, v.warm.wallMsMedian, 1),
            warmCpuPerBmc: ratio(b.warm.cpuMsPerBmc, v.warm.cpuMsPerBmc, 0.01),
          },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await Promise.all(mockups.map((m) => m.stop()));
  }
}

await main();
