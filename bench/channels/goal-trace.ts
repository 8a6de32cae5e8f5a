/**
 * Where the paced goal run's late replies come from: the goal run of bench:channels (5,000
 * requests/s over 64 channels, one core busy, `steady` then `changing`) with the agent's thread
 * watched. For every reply later than DPDK's 10 ms it says what overlapped its 10 ms: a stall
 * of the agent's event loop (a 1 ms ticker that came late), one of the agent's garbage
 * collections, or one of the guest worker's (the load generator's own pause). Prints JSON.
 *
 * `--rt N` puts the agent's event loop thread under SCHED_FIFO N (as `schedFifoPriority` does)
 * and the guest worker's thread too (QEMU's vCPU and I/O threads are not starved by the hog on a
 * real host either); `--rt-gc` also the process's other threads (V8's garbage-collector helpers) at N-1,
 * as `schedFifoPriority` does.
 *
 * `--slice US` gives the agent's threads (not the guest worker's) the EEVDF slice `schedSliceUs`
 * sets; without it they keep the kernel's default.
 *
 *   npx tsx bench/channels/goal-trace.ts [--requests 100000] [--modes steady,changing] [--hogs 1] [--rt N [--rt-gc]] [--slice US]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { arg, benchVms, bootChannelAgent, channelPaths } from './bench-agent.js';
import { Guests, type GuestRun } from './guests.js';
import type { Mode } from './guest-load.js';
import { withHogs } from './hog.js';
import { realtimeThreads, sliceAgentThreads, type RealtimeThread } from './realtime.js';

const REQUESTS = Number(arg('--requests')) || 100_000;
const MODES = (arg('--modes') ?? 'steady,changing').split(',') as Mode[];
const HOGS = Number(arg('--hogs') ?? 1);
const RT = Number(arg('--rt') ?? 0);
const RT_GC = process.argv.includes('--rt-gc');
/** EEVDF slice in µs of the agent's threads, as `schedSliceUs` (0: the kernel's default). */
const SLICE = Number(arg('--slice') ?? 0);
const RATE = 5000;
const VMS = 8;
const PER_VM = 8;
const round = (x: number): number => Math.round(x * 1000) / 1000;

interface Span {
  readonly at: number;
  readonly ms: number;
  /** Stalls: of the gap, ms the agent's thread ran, and ms it waited for a CPU (schedstat). */
  readonly ranMs?: number;
  readonly waitedMs?: number;
}

/** The agent thread's CPU time and run-queue wait so far, in ms (/proc/thread-self/schedstat). */
function schedstat(): [number, number] {
  const [ran = '0', waited = '0'] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
  return [Number(ran) / 1e6, Number(waited) / 1e6];
}

/** The agent thread's stalls: a 1 ms ticker's gaps over 5 ms (epoch ms of the gap's start). */
function watchLoop(): { stalls: Span[]; gc: Span[]; stop: () => void } {
  const stalls: Span[] = [];
  const gc: Span[] = [];
  let last = performance.now();
  let [ran0, waited0] = schedstat();
  const ticker = setInterval(() => {
    const now = performance.now();
    const [ran, waited] = schedstat();
    if (now - last > 5)
      stalls.push({
        at: round(performance.timeOrigin + last),
        ms: round(now - last),
        ranMs: round(ran - ran0),
        waitedMs: round(waited - waited0),
      });
    last = now;
    ran0 = ran;
    waited0 = waited;
  }, 1);
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration > 2) gc.push({ at: round(performance.timeOrigin + e.startTime), ms: round(e.duration) });
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stalls,
    gc,
    stop: () => {
      clearInterval(ticker);
      obs.disconnect();
    },
  };
}

/** Spans that overlap [t, t + ms]. */
const overlapping = (spans: readonly Span[], t: number, ms: number): Span[] =>
  spans.filter((s) => s.at < t + ms && s.at + s.ms > t);

async function traced(guests: Guests, mode: Mode) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const w = watchLoop();
  const load = round(loadavg()[0] ?? 0);
  let run: GuestRun;
  try {
    run = await guests.run(mode, REQUESTS / RATE, RATE);
  } finally {
    w.stop();
    delay.disable();
  }
  const late = (run.trace?.lateReplies ?? []).map((l) => {
    const stall = overlapping(w.stalls, l.sentAt, l.ms);
    const gc = overlapping(w.gc, l.sentAt, l.ms);
    const guestGc = overlapping(run.trace?.guestGc ?? [], l.sentAt, l.ms);
    const worst = stall.reduce<Span | undefined>((a, b) => (a && a.ms >= b.ms ? a : b), undefined);
    return {
      ...l,
      stallRanMs: worst?.ranMs ?? 0,
      stallWaitedMs: worst?.waitedMs ?? 0,
      agentStallMs: Math.max(0, ...stall.map((s) => s.ms)),
      agentGcMs: Math.max(0, ...gc.map((s) => s.ms)),
      guestGcMs: Math.max(0, ...guestGc.map((s) => s.ms)),
    };
  });
  const explained = (f: (l: (typeof late)[number]) => boolean) => late.filter(f).length;
  return {
    mode,
    loadavg1: load,
    requests: run.requests,
    late: run.late,
    lost: run.lost,
    p99ms: run.p99ms,
    p999ms: run.p999ms,
    maxMs: run.maxMs,
    agentLoopDelay: { p99ms: round(delay.percentile(99) / 1e6), maxMs: round(delay.max / 1e6) },
    agentStalls: {
      worst: [...w.stalls].sort((a, b) => b.ms - a.ms).slice(0, 8),
      over5ms: w.stalls.length,
      over10ms: w.stalls.filter((s) => s.ms > 10).length,
      maxMs: Math.max(0, ...w.stalls.map((s) => s.ms)),
    },
    agentGc: {
      over2ms: w.gc.length,
      maxMs: Math.max(0, ...w.gc.map((s) => s.ms)),
      totalMs: round(w.gc.reduce((n, s) => n + s.ms, 0)),
    },
    guestGc: {
      over2ms: (run.trace?.guestGc ?? []).length,
      maxMs: Math.max(0, ...(run.trace?.guestGc ?? []).map((s) => s.ms)),
    },
    lateWith: {
      agentGc: explained((l) => l.agentGcMs > 0),
      agentStallOnly: explained((l) => l.agentGcMs === 0 && l.agentStallMs > 0),
      guestGcOnly: explained((l) => l.agentGcMs === 0 && l.agentStallMs === 0 && l.guestGcMs > 0),
      nothingSeen: explained((l) => l.agentGcMs === 0 && l.agentStallMs === 0 && l.guestGcMs === 0),
    },
    lateSample: late.slice(0, 40),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-trace-'));
const vms = benchVms(dir, VMS, PER_VM);
const paths = channelPaths(vms);
const guests = await Guests.start(paths, { perVm: PER_VM, threadCpu: true });
/** Thread ids put under SCHED_FIFO, and at which priority. */
if (SLICE > 0) await sliceAgentThreads(SLICE, [guests.tid()]);
const rtThreads: RealtimeThread[] = RT > 0 ? realtimeThreads(RT, RT_GC ? [process.pid, guests.tid()] : []) : [];
if (RT > 0 && !RT_GC)
  for (const tid of [process.pid, guests.tid()]) {
    execFileSync('chrt', ['-R', '-f', '-p', String(RT), String(tid)]);
    rtThreads.push({ tid, priority: RT });
  }
const agent = await bootChannelAgent(vms);
try {
  await guests.connected();
  await guests.run('changing', 0.5);
  await guests.run('steady', 0.5);
  const results = await withHogs(HOGS, async () => {
    const out = [];
    for (const m of MODES) out.push(await traced(guests, m));
    return out;
  });
  process.stdout.write(
    `${JSON.stringify({ bench: 'channels-goal-trace', rate: RATE, channels: paths.length, hogs: HOGS, rt: RT, rtThreads, sliceUs: SLICE, execArgv: process.execArgv, results }, null, 2)}\n`,
  );
} finally {
  await agent.stop();
  await guests.close();
  await rm(dir, { recursive: true, force: true });
}
