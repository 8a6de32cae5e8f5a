/**
 * The agent's memory while it polls many BMCs (`npm run bench:ipmi-memory`, issue 21): vpmd runs
 * as its own process, started as its program's interpreter line says (node flags and
 * environment), with the IPMI plugin polling N ipmi_sim BMCs; sweeps go through the control
 * socket (`ipmi poll`) one after another, and the agent's RSS (/proc) is sampled after each,
 * next to a bare Node process with the same flags. The telemetry history is the default (360
 * readings per metric), so the default 400 sweeps fill every ring: the memory then is the
 * settled size with the history the configuration asks for. Prints one JSON summary.
 *
 * Environment: IPMI_BENCH_SIZES (first size used; default 1000), IPMI_MEMORY_SWEEPS (default
 * 400), IPMI_MEMORY_NODE_FLAGS (instead of the interpreter line's node flags), IPMI_MEMORY_STDERR
 * (a file for the agent's stderr, e.g. with --trace-gc). Needs `npm run build` (it runs dist/app/vpmd.js) and scripts/setup-peers.sh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../../core/control/control-client.js';
import { startIpmiSim, type IpmiSimTarget } from '../../testkit/index.js';
import { VPMD_PROGRAM, rssMiB, stop, vpmdInvocation } from '../soak/agent.js';

const n = Number((process.env.IPMI_BENCH_SIZES ?? '1000').split(',')[0]);
const SWEEPS = Number(process.env.IPMI_MEMORY_SWEEPS ?? 400);
const GOAL_MIB = 200;
const log = (msg: string): void => void process.stderr.write(`bench:ipmi-memory ${msg}\n`);
const load = (): number[] => loadavg().map((x) => Math.round(x * 10) / 10);

/** One control-socket command; resolves with its result (rejects on an error reply). */
async function control<T>(socket: string, argv: readonly string[]): Promise<T> {
  const c = await ControlClient.connect(socket);
  try {
    const r = await c.run(argv, {});
    if (r.type === 'error') throw new Error(`${argv.join(' ')}: ${r.error.message}`);
    return r.result as T;
  } finally {
    c.close();
  }
}

function config(dir: string, targets: readonly IpmiSimTarget[]): string {
  const rows = targets.map(
    (t) =>
      `      - { name: ${t.name}, host: ${t.host}, port: ${t.port}, username: ${t.username}, password: ${JSON.stringify(t.password)}, cipherSuite: 3 }`,
  );
  return [
    'control:',
    `  socket: ${join(dir, 'control.sock')}`,
    'state:',
    `  dir: ${join(dir, 'state')}`,
    'management:',
    '  address: 127.0.0.1',
    'plugins:',
    '  ipmi:',
    '    interval: 86400', // the benchmark triggers every sweep itself
    '    concurrency: 1024',
    '    maxInFlight: 1024',
    '    sel: false',
    '    chassis: false',
    '    targets:',
    ...rows,
    '',
  ].join('\n');
}

interface Sweep {
  successes: number;
  failures: number;
  durationMs: number;
}

const line = vpmdInvocation();
const env = line.env;
/** IPMI_MEMORY_NODE_FLAGS replaces the interpreter line's node flags (to compare settings). */
const flags = process.env.IPMI_MEMORY_NODE_FLAGS?.split(' ').filter((f) => f !== '') ?? line.flags;
const STDERR_FILE = process.env.IPMI_MEMORY_STDERR;
const loadAtStart = load();
log(`starting ${n} ipmi_sim BMC(s)`);
const sim = await startIpmiSim({ bmcs: n, sel: false, startTimeoutMs: 180_000 });
const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-ipmi-memory-'));
let agent: ChildProcess | undefined;
let bare: ChildProcess | undefined;
try {
  await writeFile(join(dir, 'vpmd.yaml'), config(dir, sim.targets), { mode: 0o600 });
  bare = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  agent = spawn(process.execPath, [...flags, VPMD_PROGRAM, '--config', join(dir, 'vpmd.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let tail = '';
  const stderrLog: string[] = [];
  // --trace-gc writes to stdout: kept with stderr.
  agent.stdout?.on('data', (d: Buffer) => {
    if (STDERR_FILE !== undefined) stderrLog.push(d.toString());
  });
  agent.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
    if (STDERR_FILE !== undefined) stderrLog.push(d.toString());
  });
  const socket = join(dir, 'control.sock');
  for (const t0 = performance.now(); ;) {
    if (agent.exitCode !== null) throw new Error(`vpmd exited (${agent.exitCode}):\n${tail}`);
    const ok = await control<{ targets: unknown[] }>(socket, ['ipmi', 'targets']).catch(() => undefined);
    if (ok !== undefined) break;
    if (performance.now() - t0 > 60_000) throw new Error(`vpmd not answering after 60 s:\n${tail}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const atStart = await rssMiB(agent.pid);
  log(`agent up, RSS ${atStart} MiB; ${SWEEPS + 1} sweeps (the first cold)`);
  const samples: Array<{ sweep: number; agentMiB: number; wallMs: number; failures: number }> = [];
  let failures = 0;
  for (let i = 0; i <= SWEEPS; i++) {
    const t = performance.now();
    const r = await control<Sweep>(socket, ['ipmi', 'poll']);
    failures += r.failures;
    samples.push({
      sweep: i,
      agentMiB: await rssMiB(agent.pid),
      wallMs: Math.round(performance.now() - t),
      failures: r.failures,
    });
    if (i % 50 === 0) log(`sweep ${i}: agent RSS ${samples[i]?.agentMiB} MiB, load ${load().join(' ')}`);
  }
  const at = (k: number): number | undefined => samples.find((s) => s.sweep === k)?.agentMiB;
  const tail10 = samples.slice(-Math.max(1, Math.floor(samples.length / 10)));
  const settled = Math.max(...tail10.map((s) => s.agentMiB));
  const summary = {
    bench: 'ipmi-memory',
    goal: `the agent's RSS settles under ${GOAL_MIB} MiB polling ${n} BMCs with the default history (360 readings per metric)`,
    bmcs: n,
    sweeps: SWEEPS,
    nodeFlags: flags,
    nodeEnv: env,
    loadAverage: { start: loadAtStart, end: load() },
    agentRssMiB: {
      atStart,
      afterSweep: Object.fromEntries(
        [0, 1, 11, 21, 51, 101, 201, 361, SWEEPS].filter((k) => at(k) !== undefined).map((k) => [k, at(k)]),
      ),
      peak: Math.max(...samples.map((s) => s.agentMiB)),
      settled,
    },
    bareNodeRssMiB: await rssMiB(bare.pid),
    sweepWallMs: {
      cold: samples[0]?.wallMs,
      warmMedian: samples
        .slice(1)
        .map((s) => s.wallMs)
        .sort((a, b) => a - b)[Math.floor((samples.length - 1) / 2)],
      lastWarm: samples[samples.length - 1]?.wallMs,
    },
    failures,
    goalMet: settled < GOAL_MIB && failures === 0,
    everyTenthSweep: samples.filter((s) => s.sweep % 10 === 0).map((s) => [s.sweep, s.agentMiB]),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (STDERR_FILE !== undefined) await writeFile(STDERR_FILE, stderrLog.join(''));
} finally {
  if (agent !== undefined) await stop(agent);
  if (bare !== undefined) await stop(bare);
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}
