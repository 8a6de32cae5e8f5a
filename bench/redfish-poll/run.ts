/**
 * bench/redfish-poll: one sweep of N Redfish BMCs (DMTF's Redfish Mockup Server with its
 * public-rackmount1 mockup, one process per BMC) reading every sensor, by vpmd's poller and by a
 * Python Redfish client (bench/redfish-poll/baseline.py: DMTF's python-redfish-library when
 * installed, else the same calls over python3-requests) reading the same resources in the same
 * run, alternating (each side first in every other round), each in a process of its own, with
 * the same number of BMCs in flight. Each side makes a cold sweep (a new process: login,
 * discovery, readings, log entries), a warm one (the same sessions: a poller's steady state), and
 * a cold one again (new sessions in the same process: BMCs added to a running poller).
 * Prints JSON: wall time, CPU per BMC, per-BMC poll p50, p99.9 and max, GETs, failures (a poll
 * past the 10 s timeout counts as one), and the ratios.
 *
 *   flock /tmp/vpmd-bench.lock npx tsx bench/redfish-poll/run.ts [--bmcs 50] [--rounds 3] [--concurrency 16]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedfishMockup, type RedfishMockup } from '../../testkit/index.js';
import type { SideResult } from './vpmd-side.js';

const TIMEOUT_MS = 10_000;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0);
}

const median = (xs: readonly number[]): number => quantile(xs, 0.5);

type BaselineRun = { library: string; cold: SideResult; warm: SideResult; coldAgain: SideResult };

/** A BMC read past the timeout is a failure, as on vpmd's side. */
function late(r: SideResult): SideResult {
  const n = r.perBmcMs.filter((ms) => ms > TIMEOUT_MS).length;
  return { ...r, failures: r.failures + n, perBmcMs: r.perBmcMs.filter((ms) => ms <= TIMEOUT_MS) };
}

/** One side in a process of its own: `script` run by `program` (after `pre` arguments). */
function sideRun(urls: readonly string[], concurrency: number, side: 'vpmd' | 'baseline'): Promise<BaselineRun> {
  const script = fileURLToPath(new URL(side === 'vpmd' ? './vpmd-side.ts' : './baseline.py', import.meta.url));
  const [program, args] =
    side === 'vpmd' ? [process.execPath, ['--import', 'tsx', script]] : ['/usr/bin/python3', [script]];
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: { ...process.env, CONCURRENCY: String(concurrency) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${side} exited ${String(code)}`));
      const r = JSON.parse(out) as BaselineRun;
      resolve({ library: r.library, cold: late(r.cold), warm: late(r.warm), coldAgain: late(r.coldAgain) });
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
    const vpmd: BaselineRun[] = [];
    const base: BaselineRun[] = [];
    for (let r = 0; r < rounds; r++) {
      // Each side goes first in every other round: neither always meets the mockups fresh.
      if (r % 2 === 0) {
        vpmd.push(await sideRun(urls, concurrency, 'vpmd'));
        base.push(await sideRun(urls, concurrency, 'baseline'));
      } else {
        base.push(await sideRun(urls, concurrency, 'baseline'));
        vpmd.push(await sideRun(urls, concurrency, 'vpmd'));
      }
    }
    const side = (runs: readonly BaselineRun[]) => ({
      cold: summary(
        runs.map((x) => x.cold),
        n,
      ),
      warm: summary(
        runs.map((x) => x.warm),
        n,
      ),
      coldAgain: summary(
        runs.map((x) => x.coldAgain),
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
            coldAgainWall: ratio(b.coldAgain.wallMsMedian, v.coldAgain.wallMsMedian, 1),
            coldAgainCpuPerBmc: ratio(b.coldAgain.cpuMsPerBmc, v.coldAgain.cpuMsPerBmc, 0.01),
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
