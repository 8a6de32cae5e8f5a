/**
 * Does `schedSliceUs` keep DPDK's 10 ms with a core busy? One agent, one set of guests (64
 * channels, 5,000 requests/s, paced) and one hog for the whole run; segments alternate the
 * agent's threads between the kernel's default slice and `--slice` µs (what the plugin sets in
 * an installed agent), so that load from elsewhere on the machine, which moves from minute to
 * minute on a shared host, hits both arms alike. The guest workers (QEMU's stand-ins) keep the
 * kernel's default throughout, unless `--guests-too`. A reply later than 10 ms is a failure, as the guest reads it.
 * Prints JSON: per arm, late and lost replies, p99, p99.9 and max over all its segments, and
 * every segment with the load average when it ended.
 *
 *   npx tsx bench/channels/slice-ab.ts [--pairs 6] [--seconds 10] [--slice 100] [--hogs 1] [--mode steady|changing] [--guests-too]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, benchVms, bootChannelAgent, channelPaths } from './bench-agent.js';
import { Guests, type GuestRun } from './guests.js';
import type { Mode } from './guest-load.js';
import { withHogs } from './hog.js';
import { sliceAgentThreads } from './realtime.js';

const PAIRS = Number(arg('--pairs') ?? 6);
const SECONDS = Number(arg('--seconds') ?? 10);
const SLICE = Number(arg('--slice') ?? 100);
const HOGS = Number(arg('--hogs') ?? 1);
const MODE = (arg('--mode') ?? 'steady') as Mode;
/** The guest worker gets the slice in the `slice` arm too (a host whose QEMU threads have it). */
const GUESTS_TOO = process.argv.includes('--guests-too');
const RATE = 5000;
const VMS = 8;
const PER_VM = 8;
const round = (x: number): number => Math.round(x * 1000) / 1000;

type Arm = 'default' | 'slice';

function armSummary(runs: readonly GuestRun[]) {
  return {
    requests: runs.reduce((n, r) => n + r.requests, 0),
    late: runs.reduce((n, r) => n + r.late, 0),
    lost: runs.reduce((n, r) => n + r.lost, 0),
    segmentsWithLate: runs.filter((r) => r.late > 0).length,
    p99msWorst: Math.max(...runs.map((r) => r.p99ms)),
    p99msMedian: round([...runs.map((r) => r.p99ms)].sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? 0),
    p999msWorst: Math.max(...runs.map((r) => r.p999ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'vpmd-bench-slice-'));
const vms = benchVms(dir, VMS, PER_VM);
const paths = channelPaths(vms);
const guests = await Guests.start(paths, { perVm: PER_VM, threadCpu: true });
// Set per segment below, on the agent's threads only (the guest worker shares this process).
const agent = await bootChannelAgent(vms, { plugin: { schedSliceUs: 0 } });
const loadBefore = round(loadavg()[0] ?? 0);
const segments: Array<{ arm: Arm; loadavg1: number } & GuestRun> = [];
try {
  await guests.connected();
  await guests.run(MODE, 1, RATE); // warm-up, not reported
  await withHogs(HOGS, async () => {
    for (let i = 0; i < PAIRS; i++) {
      // Alternate which arm goes first, so neither always follows the other.
      const order: Arm[] = i % 2 === 0 ? ['default', 'slice'] : ['slice', 'default'];
      for (const arm of order) {
        await sliceAgentThreads(arm === 'slice' ? SLICE : 0, [guests.tid()], GUESTS_TOO);
        const run = await guests.run(MODE, SECONDS, RATE);
        segments.push({ arm, loadavg1: round(loadavg()[0] ?? 0), ...run });
      }
    }
  });
} finally {
  await agent.stop();
  await guests.close();
  await rm(dir, { recursive: true, force: true });
}
const of = (arm: Arm) => segments.filter((s) => s.arm === arm);
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'channels-slice-ab',
      target: "0 replies later than DPDK's 10 ms; p99 < 1 ms",
      settings: {
        mode: MODE,
        rate: RATE,
        channels: paths.length,
        secondsPerSegment: SECONDS,
        pairs: PAIRS,
        hogs: HOGS,
        sliceUs: SLICE,
        guestWorkerToo: GUESTS_TOO,
      },
      machine: { loadavg1Before: loadBefore, loadavg1After: round(loadavg()[0] ?? 0) },
      default: armSummary(of('default')),
      slice: armSummary(of('slice')),
      segments: segments.map((s) => ({
        arm: s.arm,
        loadavg1: s.loadavg1,
        requests: s.requests,
        late: s.late,
        lost: s.lost,
        p99ms: s.p99ms,
        p999ms: s.p999ms,
        maxMs: s.maxMs,
      })),
    },
    null,
    2,
  )}\n`,
);
