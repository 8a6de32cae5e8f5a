/**
 * vpmd's side of bench/redfish-poll, in a process of its own as the Python baseline is, so its
 * CPU counts the poller alone (the bench's parent process drains the mockups' request logs in
 * both sides' runs). Reads JSON lines of {url} on stdin, polls them with the poller's
 * RedfishTarget as the plugin does (the logs alongside the readings): a cold sweep (login and
 * discovery), a warm one on the same sessions, and a cold one again with new sessions; prints
 * one JSON summary.
 *
 *   CONCURRENCY=16 npx tsx bench/redfish-poll/vpmd-side.ts < urls.jsonl
 */
import { ConcurrencyLimiter } from '../../core/index.js';
import { RedfishTarget } from '../../plugins/redfish/poller/target.js';

/** A poll past this counts as a failure, as on the baseline's side. */
export const TIMEOUT_MS = 10_000;

/** One side's sweep. */
export interface SideResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly failures: number;
  readonly perBmcMs: readonly number[];
  readonly gets: number;
  readonly readings: number;
}

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
async function sweep(targets: readonly RedfishTarget[], concurrency: number): Promise<SideResult> {
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
          // As the poller does: the logs (every one at once, as its LogReader) alongside the readings.
          await t.poll(async () => {
            await Promise.all((t.discovery?.logs ?? []).map((log) => t.expandedMembers(log)));
          });
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

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  const urls = input
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { url: string }).url);
  const concurrency = Number(process.env.CONCURRENCY ?? '16');
  const targets = urls.map((u, i) => makeTarget(u, i));
  const fresh = urls.map((u, i) => makeTarget(u, i));
  try {
    const cold = await sweep(targets, concurrency);
    const warm = await sweep(targets, concurrency);
    // New sessions in the same process: BMCs added or rediscovered in a running poller (whose
    // code is compiled by then; the first sweep of a new process also pays for that).
    const coldAgain = await sweep(fresh, concurrency);
    process.stdout.write(`${JSON.stringify({ library: 'vpmd', cold, warm, coldAgain })}\n`);
  } finally {
    await Promise.all([...targets, ...fresh].map((t) => t.close()));
  }
}

await main();
