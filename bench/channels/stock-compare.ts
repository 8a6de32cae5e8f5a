/**
 * vpmd against DPDK's stock host (`vm_power_mgr` from Debian's `dpdk-doc`, see
 * `stock-host.ts`), in one run, with the same guest worker on the same kind of sockets: 8 VMs
 * with 8 channels each (64 channels), closed loop in `changing` and `steady` mode, then paced at
 * 5,000 requests/s. Both hosts scale the same simulated acpi-cpufreq files as plain files (no
 * simulated-kernel write queue), with the same vCPU pins; vpmd reads them through its real-sysfs
 * backend, the stock host through librte_power. Ratios are vpmd / stock.
 *
 * Before and after the load, a probe channel checks that each host really acts: SCALE_MIN and
 * SCALE_MAX on one vCPU must be ACKed and must change the pCPU's `scaling_setspeed` as the host
 * documents. A host that does not reply or does not actuate fails the run: ratios over a host
 * doing nothing would mean nothing.
 *
 *   flock /tmp/vpmd-bench.lock npx tsx bench/channels/stock-compare.ts [--seconds 2] [--rate 5000] [--rt 10]
 *
 * `--rt N` puts the benchmark process's event loop (vpmd's agent runs in it) and the guest workers
 * under SCHED_FIFO N and its other threads at N-1, as `schedFifoPriority: N` and bench:channels'
 * `--rt` do, for every host alike; the stock host stays an ordinary task, busy-waiting on its CPU.
 *
 * Needs `scripts/build-dpdk-host.sh` (run automatically; it installs dpdk-doc and libvirt-dev
 * with apt when missing) and `unshare` with the right to mount (root, or user namespaces).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { cpus as osCpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, bootChannelAgent } from './bench-agent.js';
import { encodeRequest } from '../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, Reply, REQUEST_SIZE, Unit } from '../../plugins/virtio-channels/protocol/packet-layout.js';
import { startBareHost } from './bare-host.js';
import type { Mode, RunResult } from './guest-load.js';
import { Guests } from './guests.js';
import { withHogs } from './hog.js';
import { realtimeThreads } from './realtime.js';
import { buildStockHost, makeCpuTree, startStockHost, usableCpus, STOCK_PROFILE } from './stock-host.js';

const SECONDS = Number(arg('--seconds')) || 2;
/** Rounds alternate which host goes first; the summary holds the medians. */
const ROUNDS = Math.max(1, Number(arg('--rounds')) || 1);
const RATE = Number(arg('--rate')) || 5000;
const RT = Number(arg('--rt') ?? 0);
const VMS = 8;
const CHANNELS_PER_VM = 8;
const PROBE_VM = 'probe';
/** The worker's own CPU time is measured, so that a Node host's share can be told apart. */
const GUEST_OPTIONS = { perVm: CHANNELS_PER_VM, threadCpu: true } as const;
const round = (x: number): number => Math.round(x * 1000) / 1000;

/** One guest channel driven from this thread, to check replies and actuation one by one. */
class Probe {
  private peer: Socket | undefined;
  private rx = Buffer.alloc(0);
  private readonly server = createServer((s) => {
    this.peer = s;
    s.on('data', (d: Buffer) => (this.rx = Buffer.concat([this.rx, d])));
  });

  static async listen(path: string): Promise<Probe> {
    const p = new Probe();
    await new Promise<void>((res) => p.server.listen(path, res));
    return p;
  }

  /** Sends one CPU_POWER request for vCPU 0; resolves with the reply's command (1 ACK, 2 NACK). */
  async request(unit: number, timeoutMs = 5_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (!this.peer) {
      if (Date.now() > end) throw new Error('probe: the host never connected to the probe channel');
      await new Promise((r) => setTimeout(r, 20));
    }
    this.rx = Buffer.alloc(0);
    this.peer.write(encodeRequest({ resourceId: 0n, unit, command: Command.CPU_POWER }));
    while (this.rx.length < REQUEST_SIZE) {
      if (Date.now() > end) throw new Error(`probe: no reply to unit ${unit} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.rx.readUInt32LE(12);
  }

  close(): void {
    this.peer?.destroy();
    this.server.close();
  }
}

async function frequencies(policyDir: string): Promise<{ min: number; turbo: number; nominal: number }> {
  const list = (await readFile(join(policyDir, 'scaling_available_frequencies'), 'utf8'))
    .trim()
    .split(/\s+/)
    .map(Number);
  return { turbo: list[0] ?? NaN, nominal: list[1] ?? NaN, min: list[list.length - 1] ?? NaN };
}

/** What the probe saw: the replies, the setspeed after each, and the governor. */
interface Actuation {
  readonly minReply: string;
  readonly afterMin: number;
  readonly maxReply: string;
  readonly afterMax: number;
  readonly governor: string;
}

/**
 * SCALE_MIN then SCALE_MAX on the probe's vCPU 0; each must be ACKed and leave the pCPU's
 * setspeed at the expected value (the hosts differ: see the callers), under `userspace`.
 */
async function checkActuation(
  probe: Probe,
  policyDir: string,
  expect: { afterMin: number; afterMax: number },
): Promise<Actuation> {
  const setspeed = async (): Promise<number> =>
    Number((await readFile(join(policyDir, 'scaling_setspeed'), 'utf8')).trim());
  const governor = async (): Promise<string> => (await readFile(join(policyDir, 'scaling_governor'), 'utf8')).trim();
  const settle = async (want: number): Promise<number> => {
    // vpmd writes after it replies; give the write a moment before reading the file.
    const end = Date.now() + 2_000;
    let got = await setspeed();
    while (got !== want && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
      got = await setspeed();
    }
    return got;
  };
  const minReply = await probe.request(Unit.SCALE_MIN);
  const afterMin = await settle(expect.afterMin);
  const maxReply = await probe.request(Unit.SCALE_MAX);
  const afterMax = await settle(expect.afterMax);
  const name = (c: number): string => (c === Reply.ACK ? 'ACK' : c === Reply.NACK ? 'NACK' : `command ${c}`);
  const result = { minReply: name(minReply), afterMin, maxReply: name(maxReply), afterMax, governor: await governor() };
  if (
    minReply !== Reply.ACK ||
    maxReply !== Reply.ACK ||
    afterMin !== expect.afterMin ||
    afterMax !== expect.afterMax ||
    result.governor !== 'userspace'
  ) {
    throw new Error(
      `the host did not reply or actuate as expected on ${policyDir}: ${JSON.stringify({ ...result, expected: expect })}`,
    );
  }
  return result;
}

/** A run, with the CPU the host and the guest worker used per second of it. */
interface CpuRun extends RunResult {
  readonly hostCpuPerSecond: number;
  readonly guestCpuPerSecond: number;
  /** Replies per CPU second of the host: its efficiency, whatever it does while idle. */
  readonly perHostCpuSecond: number;
}

/** Every run also with one host core busy with unrelated work (`...Hog`). */
const RUNS = [
  'changing',
  'steady',
  'pacedSteady',
  'pacedChanging',
  'changingHog',
  'steadyHog',
  'pacedSteadyHog',
  'pacedChangingHog',
] as const;
type RunName = (typeof RUNS)[number];

/** Closed loop in both modes, then paced at RATE; and the host's CPU use while idle. */
type Measured = Record<RunName, CpuRun> & { readonly idleCpuPerSecond: number };

/** The four runs every host gets, in the same order; `hostCpu` reads the host's CPU seconds. */
async function measure(guests: Guests, hostCpu: () => Promise<number>): Promise<Measured> {
  const i0 = [await hostCpu(), performance.now()] as const;
  await new Promise((r) => setTimeout(r, 1_000));
  const idleCpuPerSecond = round(((await hostCpu()) - i0[0]) / ((performance.now() - i0[1]) / 1000));
  const one = async (mode: Mode, rate?: number): Promise<CpuRun> => {
    const [h0, g0, t0] = [await hostCpu(), await guests.threadCpuSeconds(), performance.now()];
    const r = await guests.run(mode, SECONDS, rate);
    const s = (performance.now() - t0) / 1000;
    const host = ((await hostCpu()) - h0) / s;
    return {
      ...r,
      hostCpuPerSecond: round(host),
      guestCpuPerSecond: round(((await guests.threadCpuSeconds()) - g0) / s),
      perHostCpuSecond: Math.round(r.perSecond / host),
    };
  };
  const changing = await one('changing');
  const steady = await one('steady');
  const pacedSteady = await one('steady', RATE);
  const pacedChanging = await one('changing', RATE);
  const hog = await withHogs(1, async () => ({
    changingHog: await one('changing'),
    steadyHog: await one('steady'),
    pacedSteadyHog: await one('steady', RATE),
    pacedChangingHog: await one('changing', RATE),
  }));
  return { idleCpuPerSecond, changing, steady, pacedSteady, pacedChanging, ...hog };
}

/** One host's numbers, and the probe's evidence that it replied and actuated. */
interface HostResult extends Measured {
  /** Absent for the Node floor, which does not actuate. */
  readonly actuation?: {
    readonly pCpu: number;
    readonly before: Actuation;
    readonly after: Actuation;
    readonly governorAfterQuit?: string;
  };
}

/** A Node host's CPU seconds: the whole process (its loop, libuv's pool, GC) but the guest worker. */
async function processCpuButGuests(guests: Guests): Promise<number> {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6 - (await guests.threadCpuSeconds());
}

interface Setup {
  readonly work: string;
  readonly chan: string;
  readonly names: string[];
  readonly cpus: number;
  readonly pin: (vm: number, vcpu: number) => number;
}

function channelPaths(s: Setup): string[] {
  return s.names.flatMap((n) => Array.from({ length: CHANNELS_PER_VM }, (_, c) => join(s.chan, `${n}.${c}`)));
}

/** One host's guest workers; under `--rt`, the process's event loops at SCHED_FIFO as well. */
async function startGuests(s: Setup): Promise<Guests> {
  const guests = await Guests.start(channelPaths(s), GUEST_OPTIONS);
  if (RT > 0) realtimeThreads(RT, [process.pid, guests.tid()]);
  return guests;
}

async function runStock(s: Setup, binary: string): Promise<HostResult> {
  const { cpuTree } = await makeCpuTree(join(s.work, 'stock-tree'), s.cpus);
  const guests = await startGuests(s);
  const probe = await Probe.listen(join(s.chan, `${PROBE_VM}.0`));
  try {
    const host = await startStockHost({
      dir: s.chan,
      vmNames: [...s.names, PROBE_VM],
      channelsPerVm: CHANNELS_PER_VM,
      pin: s.pin,
      cpuTree,
      binary,
    });
    try {
      const wrong = s.names.filter((n) => host.channels[n] !== CHANNELS_PER_VM);
      if (wrong.length > 0 || host.channels[PROBE_VM] !== 1)
        throw new Error(`stock host added ${JSON.stringify(host.channels)} channels`);
      await guests.connected();
      const policy = join(cpuTree, 'cpufreq', `policy${s.pin(s.names.length, 0)}`);
      const f = await frequencies(policy);
      // librte_power on acpi-cpufreq: SCALE_MAX goes to the turbo step (turbo is on at init).
      const expect = { afterMin: f.min, afterMax: f.turbo };
      const before = await checkActuation(probe, policy, expect);
      const m = await measure(guests, () => host.cpuSeconds());
      const after = await checkActuation(probe, policy, expect);
      await host.stop();
      const restored = (await readFile(join(policy, 'scaling_governor'), 'utf8')).trim();
      return { ...m, actuation: { pCpu: s.pin(s.names.length, 0), before, after, governorAfterQuit: restored } };
    } finally {
      await host.stop();
    }
  } finally {
    probe.close();
    await guests.close();
  }
}

async function runVpmd(s: Setup): Promise<HostResult> {
  const { hostRoot } = await makeCpuTree(join(s.work, 'vpmd-tree'), s.cpus);
  const guests = await startGuests(s);
  const probe = await Probe.listen(join(s.chan, `${PROBE_VM}.0`));
  try {
    // The same plain files the stock host writes, through vpmd's real-sysfs backend.
    const agent = await bootChannelAgent(
      { dir: s.chan, names: [...s.names, PROBE_VM], perVm: CHANNELS_PER_VM, pin: s.pin },
      { core: { host: { root: hostRoot, simulated: false, sampleInterval: 1 } } },
    );
    try {
      await guests.connected();
      const policy = join(hostRoot, 'sys/devices/system/cpu/cpufreq', `policy${s.pin(s.names.length, 0)}`);
      const f = await frequencies(policy);
      // Every other VM may run on this pCPU and counts as asking for the nominal maximum until
      // it asks (a guest never slows another VM down), so the probe's SCALE_MIN leaves it there.
      const expect = { afterMin: f.nominal, afterMax: f.nominal };
      const before = await checkActuation(probe, policy, expect);
      const m = await measure(guests, () => processCpuButGuests(guests));
      const after = await checkActuation(probe, policy, expect);
      return { ...m, actuation: { pCpu: s.pin(s.names.length, 0), before, after } };
    } finally {
      await agent.stop();
    }
  } finally {
    probe.close();
    await guests.close();
  }
}

/**
 * The Node floor, the same bare host as bench:channels' baseline (bare-host.ts): connect,
 * reassemble, read the header, ACK; no mapping, no actuation. It shows what any Node host pays
 * for the transport on this machine.
 */
async function runFloor(s: Setup): Promise<HostResult> {
  const guests = await startGuests(s);
  const stopBare = startBareHost(channelPaths(s));
  try {
    await guests.connected();
    return await measure(guests, () => processCpuButGuests(guests));
  } finally {
    stopBare();
    await guests.close();
  }
}

const ratio = (a: CpuRun, b: CpuRun) => ({
  throughput: round(a.perSecond / b.perSecond),
  p50: round(a.p50ms / b.p50ms),
  p99: round(a.p99ms / b.p99ms),
  perHostCpuSecond: round(a.perHostCpuSecond / b.perHostCpuSecond),
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : round(((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2);
}

/** Field-by-field medians of one host's rounds. */
function medians(rs: HostResult[]): Measured {
  const run = (n: RunName): CpuRun => {
    type Field = Exclude<keyof CpuRun, 'targetPerSecond' | 'trace'>;
    const f = (k: Field): number => median(rs.map((r) => r[n][k]));
    const n0 = (k: Field): number => Math.round(f(k));
    return {
      requests: n0('requests'),
      perSecond: n0('perSecond'),
      p50ms: f('p50ms'),
      p99ms: f('p99ms'),
      p999ms: f('p999ms'),
      maxMs: f('maxMs'),
      late: n0('late'),
      lost: n0('lost'),
      hostCpuPerSecond: f('hostCpuPerSecond'),
      guestCpuPerSecond: f('guestCpuPerSecond'),
      perHostCpuSecond: n0('perHostCpuSecond'),
    };
  };
  const runs = Object.fromEntries(RUNS.map((n) => [n, run(n)])) as Record<RunName, CpuRun>;
  return { idleCpuPerSecond: median(rs.map((r) => r.idleCpuPerSecond)), ...runs };
}

const binary = await buildStockHost();
const cpus = await usableCpus();
const load0 = round(loadavg()[0] ?? 0);
const work = await mkdtemp(join(tmpdir(), 'vpmd-stock-cmp-'));
try {
  const names = Array.from({ length: VMS }, (_, i) => `vm${i}`);
  const setup = async (round: number, host: string): Promise<Setup> => {
    const chan = join(work, `r${round}`, `chan-${host}`);
    await mkdir(chan, { recursive: true });
    return { work: join(work, `r${round}`), chan, names, cpus, pin: (vm, vcpu) => (vm + vcpu) % cpus };
  };
  const stockRounds: HostResult[] = [];
  const vpmdRounds: HostResult[] = [];
  const floorRounds: HostResult[] = [];
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const load = round(loadavg()[0] ?? 0);
    const stockFirst = r % 2 === 0;
    if (stockFirst) stockRounds.push(await runStock(await setup(r, 'stock'), binary));
    vpmdRounds.push(await runVpmd(await setup(r, 'vpmd')));
    if (!stockFirst) stockRounds.push(await runStock(await setup(r, 'stock'), binary));
    floorRounds.push(await runFloor(await setup(r, 'floor')));
    const brief = (h: HostResult) =>
      Object.fromEntries(RUNS.map((n) => [n, [h[n].perSecond, h[n].p50ms, h[n].p99ms, h[n].late]]));
    const at = (hs: HostResult[]): HostResult => hs[r] as HostResult;
    rounds.push({
      first: stockFirst ? 'stock' : 'vpmd',
      loadavg1: load,
      stock: brief(at(stockRounds)),
      vpmd: brief(at(vpmdRounds)),
      nodeFloor: brief(at(floorRounds)),
    });
  }
  const stock = medians(stockRounds);
  const vpmd = medians(vpmdRounds);
  const floor = medians(floorRounds);
  const summary = {
    bench: 'channels-vs-dpdk-stock-host',
    stockHost: { what: "DPDK's examples/vm_power_manager from dpdk-doc, libvirt URI patch only", binary },
    host: `simulated ${STOCK_PROFILE} cut to ${cpus} CPUs (plain files; both hosts write scaling_setspeed under the userspace governor)`,
    machine: { cpus: osCpus().length, loadavg1Before: load0, loadavg1After: round(loadavg()[0] ?? 0) },
    channels: VMS * CHANNELS_PER_VM,
    vms: VMS,
    secondsPerRun: SECONDS,
    pacedRate: RATE,
    rounds: ROUNDS,
    stock: { ...stock, actuation: stockRounds.map((r) => r.actuation) },
    vpmd: { ...vpmd, actuation: vpmdRounds.map((r) => r.actuation) },
    nodeFloor: floor,
    ratios: Object.fromEntries(RUNS.map((n) => [n, ratio(vpmd[n], stock[n])])),
    floorRatios: Object.fromEntries(RUNS.map((n) => [n, ratio(floor[n], stock[n])])),
    settings: {
      vpmd: 'the plugin defaults: rateLimit 100 changes/s per pCPU (burst 10), messageLimit 5000 messages/s per channel (burst 500)',
      hog: "the ...Hog runs: one `sh -c 'while :; do :; done'` for the whole run",
      late: "replies later than DPDK's 10 ms, counted per run (summaries: median over rounds)",
      schedFifo:
        RT > 0
          ? `benchmark process (vpmd's loop, the guest workers) at SCHED_FIFO ${RT}, its other threads at ${Math.max(1, RT - 1)}; the stock host ordinary`
          : 'off (ordinary tasks)',
    },
    goal: {
      target: 'vpmd closed-loop throughput >= 1.5x the stock host in both modes (medians)',
      changing: round(vpmd.changing.perSecond / stock.changing.perSecond),
      steady: round(vpmd.steady.perSecond / stock.steady.perSecond),
      met:
        vpmd.changing.perSecond >= 1.5 * stock.changing.perSecond &&
        vpmd.steady.perSecond >= 1.5 * stock.steady.perSecond,
    },
    perRound: rounds,
    notes: [
      'ratios are vpmd / stock: throughput above 1 and latency below 1 favour vpmd; stock and vpmd hold medians over the rounds',
      'perRound: [requests/s, p50 ms, p99 ms, late] per run',
      'nodeFloor: a bare Node host on the same worker (reassemble, read the header, ACK; no mapping, no actuation), run after both hosts in each round; floorRatios = floor / stock',
      "the stock host's channel monitor busy-waits 1 ms after every epoll round, so it answers at most once per channel per round and uses a CPU even when idle",
      'vCPUs of every VM share the pCPUs: the stock host steps the core on every request; vpmd runs the core at the highest request of the VMs on it, so changing mode writes less',
      "hostCpuPerSecond: the stock host's process, or vpmd's process minus the guest worker thread; perHostCpuSecond = replies per host CPU second",
    ],
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
