/**
 * vpmd's closed loop alone, set up as bench:channels-stock sets up its vpmd side (8 VMs x 8
 * channels on a plain-file copy of the simulated tree through the real-sysfs backend, vCPUs
 * pinned to `(vm + vcpu) mod CPUs`, the plugin's default limits), with the bare Node host run
 * right after on the same worker kind. For iterating on the agent's CPU per request without the
 * stock host: each run prints replies/s and the CPU time per reply of the agent (the process
 * minus the guest worker's thread) and of the guests.
 *
 *   npx tsx bench/channels/closed-loop.ts [--seconds 3] [--rounds 3] [--modes changing,steady]
 *   node --cpu-prof --import tsx bench/channels/closed-loop.ts   (a profile per thread)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, benchVms, bootChannelAgent, channelPaths } from './bench-agent.js';
import { startBareHost } from './bare-host.js';
import type { Mode } from './guest-load.js';
import { Guests } from './guests.js';
import { makeCpuTree, usableCpus } from './stock-host.js';

const SECONDS = Number(arg('--seconds')) || 3;
const ROUNDS = Number(arg('--rounds')) || 3;
const MODES = (arg('--modes') ?? 'changing,steady').split(',') as Mode[];
/** `--no-floor`: vpmd only (for a profile of the agent alone). */
const FLOOR = !process.argv.includes('--no-floor');
const VMS = 8;
const PER_VM = 8;
const round = (x: number): number => Math.round(x * 1000) / 1000;

/** One measured run: replies/s, agent and guest CPU µs per reply, p99 and late replies. */
async function measure(guests: Guests, mode: Mode) {
  const g0 = await guests.threadCpuSeconds();
  const c0 = process.cpuUsage();
  const r = await guests.run(mode, SECONDS);
  const c = process.cpuUsage(c0);
  const guest = (await guests.threadCpuSeconds()) - g0;
  const agent = (c.user + c.system) / 1e6 - guest;
  return {
    mode,
    perSecond: r.perSecond,
    agentUsPerReply: round((agent * 1e6) / r.requests),
    guestUsPerReply: round((guest * 1e6) / r.requests),
    p99ms: r.p99ms,
    late: r.late,
  };
}

const cpus = await usableCpus();
const work = await mkdtemp(join(tmpdir(), 'vpmd-closed-loop-'));
const load = [round(loadavg()[0] ?? 0)];
try {
  const chan = join(work, 'chan');
  await mkdir(chan);
  const vms = benchVms(chan, VMS, PER_VM, cpus);
  const paths = channelPaths(vms);
  const { hostRoot } = await makeCpuTree(join(work, 'tree'), cpus);
  const guests = await Guests.start(paths, { perVm: PER_VM, threadCpu: true });
  const agent = await bootChannelAgent(vms, {
    core: { host: { root: hostRoot, simulated: false, sampleInterval: 1 } },
  });

  const vpmd = [];
  try {
    await guests.connected();
    await guests.run('changing', 0.5);
    for (let i = 0; i < ROUNDS; i++) for (const m of MODES) vpmd.push(await measure(guests, m));
  } finally {
    await agent.stop();
    await guests.close();
  }
  const floor = [];
  if (FLOOR) {
    const basePaths = paths.map((p) => `${p}.base`);
    const baseGuests = await Guests.start(basePaths, { perVm: PER_VM, threadCpu: true });
    const stop = startBareHost(basePaths);
    try {
      await baseGuests.connected();
      await baseGuests.run('changing', 0.5);
      for (let i = 0; i < ROUNDS; i++) floor.push(await measure(baseGuests, 'changing'));
    } finally {
      stop();
      await baseGuests.close();
    }
  }
  load.push(round(loadavg()[0] ?? 0));
  process.stdout.write(`${JSON.stringify({ loadavg1: load, cpus, seconds: SECONDS, vpmd, floor }, null, 1)}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
