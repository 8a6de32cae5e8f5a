/**
 * Benchmark of the virtio-channels plugin on the simulated acpi-cpufreq host: request-to-reply
 * latency (p50, p99) and sustained requests per second for 1, 8 and 64 VMs with 8 channels
 * each, through the real agent (channels, precedence policy, host model writes). The guests'
 * side (one unix socket per channel, as QEMU listens) runs in worker threads
 * (`guest-load.ts`), so the load generator does not share the agent's event loop.
 *
 * Two modes: `changing` alternates SCALE_UP and SCALE_DOWN, so requests keep moving frequencies
 * (cpufreq writes through the host model and the simulated kernel); `steady` repeats SCALE_MAX,
 * so after the first write nothing changes, which measures vpmd's own path (decode, rate limit,
 * precedence, idempotence check, reply).
 *
 * Baseline, measured in the same run and process against its own guest worker: a bare host that
 * connects, reassembles, reads the header and ACKs without mapping or actuation, i.e. the
 * transport alone. Ratios are vpmd / baseline. The goal (p99 under 1 ms at 5,000
 * requests/s over 64 channels) is checked at 8 VMs in paced rounds that alternate baseline,
 * steady and changing, so that load from elsewhere on the machine hits all three alike; the
 * summary gives the median and the worst p99 of the rounds.
 *
 * `--rt N` runs the agent's event loop and the guest workers under SCHED_FIFO N and the process's
 * other threads (V8's garbage-collector helpers) at N-1, as `schedFifoPriority: N` does.
 * `--nice N` (e.g. -10) gives every thread of the process nice N instead, as systemd's `Nice=`
 * would the agent (the guest workers, which stand in for QEMU, get it too, as with `--rt`); hogs
 * stay at nice 0. `--slice US` gives the agent's threads the EEVDF slice the plugin's `schedSliceUs`
 * sets in an installed agent, not through the plugin, which run in this process would give it to
 * the guest workers too (`--slice-guests` does that on purpose).
 *
 *   npm run bench:channels [-- --seconds 2] [-- --vms 8] [-- --rounds 3] [-- --rt 10 | --nice -10 | --slice 100]   (alias: bench:virtio-channels)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, benchVms, bootChannelAgent, channelPaths } from './bench-agent.js';
import { startBareHost } from './bare-host.js';
import { Guests, type GuestRun } from './guests.js';
import { withHogs } from './hog.js';
import { niceThreads, realtimeThreads, sliceAgentThreads } from './realtime.js';

const SECONDS = Number(arg('--seconds')) || 2;
/** `--vms 8` runs one scenario only. */
const VM_COUNTS = arg('--vms') ? [Number(arg('--vms'))] : [1, 8, 64];
const CHANNELS_PER_VM = 8;
/** Paced rounds (baseline, steady, changing in turn) at 8 VMs. */
const PACED_ROUNDS = Number(arg('--rounds')) || 3;
const round = (x: number): number => Math.round(x * 1000) / 1000;

const ratio = (r: GuestRun, base: GuestRun) => ({
  throughput: round(r.perSecond / base.perSecond),
  p50: round(r.p50ms / base.p50ms),
  p99: round(r.p99ms / base.p99ms),
  cpuPerRequest: round(r.cpuUsPerRequest / base.cpuUsPerRequest),
});
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : round(((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2);
};

/** The goal: 5,000 requests/s over 64 channels (8 VMs x 8), measured at 8 VMs only. */
const PACED_RATE = 5000;
const PACED_VMS = 8;
/** Requests of the goal run (5,000/s with one core busy). `--goal-requests` to shorten it. */
const GOAL_REQUESTS = Number(arg('--goal-requests')) || 100_000;
/** SCHED_FIFO priority of the event loops (0: ordinary tasks). */
const RT = Number(arg('--rt') ?? 0);
/** Nice value of every thread (0: unchanged). */
const NICE = Number(arg('--nice') ?? 0);
if (RT > 0 && NICE !== 0) throw new Error('--rt and --nice are two alternatives: give one');
/** EEVDF slice in µs of the agent's threads, as `schedSliceUs` sets it (0: the kernel's default). */
const SLICE = Number(arg('--slice') ?? 0);
/** With `--slice`: the guest workers (QEMU's stand-ins) too. */
const SLICE_GUESTS = process.argv.includes('--slice-guests');
/** Unreported warm-up per host: JIT, and vpmd's first touch of each policy (originals saved, fsync'd). */
const WARMUP_SECONDS = 0.5;

type Side = 'baseline' | 'steady' | 'changing';

/** Median and worst of the paced rounds of one side, and every round. */
function pacedSummary(rounds: ReadonlyArray<Record<Side, GuestRun>>, side: Side) {
  const runs = rounds.map((r) => r[side]);
  return {
    p50ms: median(runs.map((r) => r.p50ms)),
    p99ms: median(runs.map((r) => r.p99ms)),
    p99msWorst: Math.max(...runs.map((r) => r.p99ms)),
    p999msWorst: Math.max(...runs.map((r) => r.p999ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    late: runs.reduce((n, r) => n + r.late, 0),
    lost: runs.reduce((n, r) => n + r.lost, 0),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    runs,
  };
}

async function scenario(vms: number): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-vc-'));
  const paced = vms === PACED_VMS;
  const benchVmSet = benchVms(dir, vms, CHANNELS_PER_VM);
  const paths = channelPaths(benchVmSet);
  const basePaths = paths.map((p) => `${p}.base`);
  // Both hosts stay up for the whole scenario (idle when not measured), so that paced rounds can
  // alternate baseline and vpmd: load from elsewhere on the machine then hits both alike.
  const baseGuests = await Guests.start(basePaths, { perVm: CHANNELS_PER_VM, threadCpu: RT > 0 || SLICE > 0 });
  const stopBare = startBareHost(basePaths);
  const guests = await Guests.start(paths, { perVm: CHANNELS_PER_VM, threadCpu: RT > 0 || SLICE > 0 });
  if (RT > 0) realtimeThreads(RT, [process.pid, baseGuests.tid(), guests.tid()]);
  if (SLICE > 0) await sliceAgentThreads(SLICE, [baseGuests.tid(), guests.tid()], SLICE_GUESTS);
  if (NICE !== 0) niceThreads(NICE);
  let agent: Awaited<ReturnType<typeof bootChannelAgent>> | undefined;
  try {
    await baseGuests.connected();
    // `--slice` sets it above on the agent's threads only: the plugin would also reach the
    // guest workers, which share this process.
    agent = await bootChannelAgent(benchVmSet, { plugin: { schedSliceUs: 0 } });
    await guests.connected();
    await baseGuests.run('changing', WARMUP_SECONDS);
    await guests.run('changing', WARMUP_SECONDS);
    const base = await baseGuests.run('changing', SECONDS);
    const changing = await guests.run('changing', SECONDS);
    const steady = await guests.run('steady', SECONDS);
    const ratios = { changing: ratio(changing, base), steady: ratio(steady, base) };
    // Every case again with one host core busy with unrelated work.
    const withHog = await withHogs(1, async () => {
      const hogBase = await baseGuests.run('changing', SECONDS);
      const hogChanging = await guests.run('changing', SECONDS);
      const hogSteady = await guests.run('steady', SECONDS);
      return {
        baseline: hogBase,
        changing: hogChanging,
        steady: hogSteady,
        ratios: { changing: ratio(hogChanging, hogBase), steady: ratio(hogSteady, hogBase) },
      };
    });
    if (!paced) return { vms, channels: paths.length, baseline: base, changing, steady, ratios, withHog };
    const rounds: Array<Record<Side, GuestRun>> = [];
    for (let i = 0; i < PACED_ROUNDS; i++) {
      const baseline = await baseGuests.run('changing', SECONDS, PACED_RATE);
      rounds.push({
        baseline,
        steady: await guests.run('steady', SECONDS, PACED_RATE),
        changing: await guests.run('changing', SECONDS, PACED_RATE),
      });
    }
    // The goal: 100,000 requests at 5,000/s over 64 channels with one core busy, none late.
    const goalRun = await withHogs(1, async () => ({
      steady: await guests.run('steady', GOAL_REQUESTS / PACED_RATE, PACED_RATE),
      changing: await guests.run('changing', GOAL_REQUESTS / PACED_RATE, PACED_RATE),
    }));
    const hogRounds: Array<Record<Side, GuestRun>> = await withHogs(1, async () => {
      const out: Array<Record<Side, GuestRun>> = [];
      for (let i = 0; i < PACED_ROUNDS; i++) {
        out.push({
          baseline: await baseGuests.run('changing', SECONDS, PACED_RATE),
          steady: await guests.run('steady', SECONDS, PACED_RATE),
          changing: await guests.run('changing', SECONDS, PACED_RATE),
        });
      }
      return out;
    });
    const summary = {
      baseline: pacedSummary(rounds, 'baseline'),
      steady: pacedSummary(rounds, 'steady'),
      changing: pacedSummary(rounds, 'changing'),
    };
    const pacedRatio = (side: 'steady' | 'changing') => ({
      p50: round(summary[side].p50ms / summary.baseline.p50ms),
      p99: round(summary[side].p99ms / summary.baseline.p99ms),
      cpuPerRequest: round(summary[side].cpuUsPerRequest / summary.baseline.cpuUsPerRequest),
    });
    return {
      vms,
      channels: paths.length,
      baseline: base,
      changing,
      steady,
      withHog,
      paced5000: { rate: PACED_RATE, rounds: PACED_ROUNDS, ...summary },
      paced5000WithHog: {
        rate: PACED_RATE,
        rounds: PACED_ROUNDS,
        baseline: pacedSummary(hogRounds, 'baseline'),
        steady: pacedSummary(hogRounds, 'steady'),
        changing: pacedSummary(hogRounds, 'changing'),
      },
      goalRun,
      ratios: { ...ratios, paced5000: { steady: pacedRatio('steady'), changing: pacedRatio('changing') } },
    };
  } finally {
    await agent?.stop();
    await guests.close();
    stopBare();
    await baseGuests.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type PacedSummary = ReturnType<typeof pacedSummary>;
const { loadavg, cpus } = await import('node:os');
const loadBefore = round(loadavg()[0] ?? 0);
const results = [];
for (const vms of VM_COUNTS) results.push(await scenario(vms));
const paced = results.find((r) => 'paced5000' in r)?.paced5000 as Record<Side, PacedSummary> | undefined;
const goal = results.find((r) => 'goalRun' in r)?.goalRun as Record<'steady' | 'changing', GuestRun> | undefined;
const brief = (r: GuestRun) => ({
  requests: r.requests,
  late: r.late,
  lost: r.lost,
  p99ms: r.p99ms,
  p999ms: r.p999ms,
  maxMs: r.maxMs,
});
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'channels',
      host: 'simulated intel-acpi-cpufreq-8 (acpi-cpufreq, userspace + scaling_setspeed)',
      machine: { cpus: cpus().length, loadavg1Before: loadBefore, loadavg1After: round(loadavg()[0] ?? 0) },
      secondsPerRun: SECONDS,
      schedFifo: RT > 0 ? { loops: RT, otherThreads: Math.max(1, RT - 1) } : 'off (ordinary tasks)',
      nice: NICE,
      schedSliceUs: SLICE > 0 ? { us: SLICE, guestWorkersToo: SLICE_GUESTS } : 'kernel default',
      baseline:
        'bare host on the same kind of sockets, same process: reassemble, read the header, ACK (no mapping, no actuation)',
      results,
      settings: {
        limits:
          'the plugin defaults: rateLimit 100 changes/s per pCPU (burst 10), messageLimit 5000 messages/s per channel (burst 500)',
        hog: "withHog, paced5000WithHog and goalRun: one `sh -c 'while :; do :; done'` for the whole run",
        late: "replies later than DPDK's 10 ms: failures (a DPDK guest reads them as the answer to its next request)",
      },
      goal: paced
        ? {
            target: 'p99 < 1 ms at 5000 req/s over 64 channels, in every paced round',
            floor: {
              p99ms: paced.baseline.p99ms,
              p99msWorst: paced.baseline.p99msWorst,
              note: 'the bare host at the same rate: the transport alone on this machine',
            },
            steady: {
              p99ms: paced.steady.p99ms,
              p99msWorst: paced.steady.p99msWorst,
              met: paced.steady.p99msWorst < 1,
            },
            changing: {
              p99ms: paced.changing.p99ms,
              p99msWorst: paced.changing.p99msWorst,
              met: paced.changing.p99msWorst < 1,
            },
            withOneCoreBusy: goal
              ? {
                  target: `0 replies later than 10 ms in ${GOAL_REQUESTS} requests at 5000 req/s over 64 channels, one core busy`,
                  steady: { ...brief(goal.steady), met: goal.steady.late === 0 && goal.steady.lost === 0 },
                  changing: { ...brief(goal.changing), met: goal.changing.late === 0 && goal.changing.lost === 0 },
                }
              : undefined,
          }
        : undefined,
      note: 'changing: every request moves a frequency (a cpufreq write through the host model and the simulated kernel); steady: the same state is re-requested, which measures vpmd own path',
    },
    // Per-reply traces are goal-trace.ts's business; here they would bury the numbers.
    (key, value: unknown) => (key === 'trace' ? undefined : value),
    2,
  )}\n`,
);
