/**
 * Start-up benchmark (`npm run bench:startup`): N cold starts of `vpmd --config` with every plugin
 * (the demo's configuration, as bench/soak uses it), each measured from spawn until `status` on the
 * control socket shows every plugin running, with the agent's RSS at that moment and 2 s later.
 * The same run measures two baselines with the same Node flags and environment: bare Node (`node
 * -e ''`, nothing required) and Node loading vpmd's program without starting it (`vpmd
 * --version`: every module it imports at start, then exit). Prints one JSON summary with median
 * and max of each figure and the ratios against the baselines; the load average is printed with
 * them because start-up time depends on it.
 *
 * Usage: tsx bench/startup/run.ts [--runs 7] [--node-flags "..."] (needs `npm run build`;
 * `--node-flags=` measures plain `node` instead of what vpmd's interpreter line sets). Run it
 * under `flock /tmp/vpmd-bench.lock` so that no other benchmark shares the machine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareDemo, rssMiB, startAgent, stop, VPMD_PROGRAM, vpmdInvocation } from '../soak/agent.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, 'node-flags': { type: 'string' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('bench:startup: --runs must be an integer >= 1\n');
  process.exit(2);
}
if (!existsSync(VPMD_PROGRAM)) {
  process.stderr.write(`bench:startup: ${VPMD_PROGRAM} is missing; run npm run build first\n`);
  process.exit(2);
}

// What vpmd's interpreter line sets (`#!/usr/bin/env -S [NAME=VALUE...] node FLAGS`), unless
// --node-flags is given: what a user running `vpmd` gets. The baselines get the same.
const { env: nodeEnv, flags: nodeFlags } = vpmdInvocation(values['node-flags']);

const EXIT_RSS = fileURLToPath(new URL('./exit-rss.mjs', import.meta.url));
const MiB = 1024 * 1024;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const log = (msg: string): void => void process.stderr.write(`bench:startup ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const stats = (xs: readonly number[]): { median: number; max: number } => ({
  median: r1(median(xs)),
  max: r1(Math.max(...xs)),
});

/** A short-lived process: wall time from spawn to exit, and its RSS as it exits. */
async function exitRun(args: readonly string[]): Promise<{ ms: number; rssMiB: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, '--import', EXIT_RSS, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...nodeEnv },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const ms = performance.now() - t0;
  const line = /EXIT-RSS (\{.*\})/.exec(err);
  if (code !== 0 || line === null) throw new Error(`node ${args.join(' ')} exited ${code}:\n${err}`);
  return { ms, rssMiB: (JSON.parse(line[1] ?? '{}') as { rss: number }).rss / MiB };
}

const dir = await mkdtemp(join(tmpdir(), 'vpmd-startup-'));
const loadAverageAtStart = loadavg().map(r1);
try {
  log(`preparing the demo configuration in ${dir}`);
  const creds = await prepareDemo(dir);
  const agent = { ms: [] as number[], rssMiB: [] as number[], rss2sMiB: [] as number[], plugins: 0 };
  const bare = { ms: [] as number[], rssMiB: [] as number[] };
  const loaded = { ms: [] as number[], rssMiB: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so that the machine's load weighs on all three alike.
    const b = await exitRun(['-e', '']);
    bare.ms.push(b.ms);
    bare.rssMiB.push(b.rssMiB);
    const l = await exitRun([VPMD_PROGRAM, '--version']);
    loaded.ms.push(l.ms);
    loaded.rssMiB.push(l.rssMiB);
    const a = await startAgent(creds, nodeFlags, nodeEnv);
    const rssAtRunning = await rssMiB(a.child.pid);
    await sleep(2000);
    const rss2s = await rssMiB(a.child.pid);
    await stop(a.child);
    agent.ms.push(a.allRunningMs);
    agent.rssMiB.push(rssAtRunning);
    agent.rss2sMiB.push(rss2s);
    agent.plugins = a.plugins;
    log(`run ${i + 1}/${runs}: ${a.plugins} plugins running after ${a.allRunningMs} ms, RSS ${rssAtRunning} MiB`);
  }
  const a = { ms: stats(agent.ms), rssMiB: stats(agent.rssMiB), rss2sMiB: stats(agent.rss2sMiB) };
  const b = { ms: stats(bare.ms), rssMiB: stats(bare.rssMiB) };
  const l = { ms: stats(loaded.ms), rssMiB: stats(loaded.rssMiB) };
  const summary = {
    bench: 'startup',
    goal: 'every plugin running within 1 s of spawn, RSS < 100 MB (95.4 MiB) then',
    settings: { runs, nodeFlags, nodeEnv },
    loadAverageAtStart,
    loadAverageAtEnd: loadavg().map(r1),
    agent: {
      plugins: agent.plugins,
      allRunningMs: a.ms,
      rssAtAllRunningMiB: a.rssMiB,
      rss2sLaterMiB: a.rss2sMiB,
      goalMet: a.ms.max < 1000 && a.rssMiB.max < 100e6 / MiB,
    },
    bareNode: { exitMs: b.ms, rssMiB: b.rssMiB },
    programLoadedNotStarted: { exitMs: l.ms, rssMiB: l.rssMiB },
    ratios: {
      agentRssOverBareNode: r1(a.rssMiB.median / b.rssMiB.median),
      agentRssOverLoaded: r1(a.rssMiB.median / l.rssMiB.median),
      agentMsOverLoadedMs: r1(a.ms.median / l.ms.median),
    },
    samples: { agent, bare, loaded },
  };
  const out = JSON.stringify(summary, null, 2);
  await writeFile(fileURLToPath(new URL('./last-run.json', import.meta.url)), `${out}\n`);
  process.stdout.write(`${out}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
