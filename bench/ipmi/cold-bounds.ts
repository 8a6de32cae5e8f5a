/**
 * Where a cold sweep's wall time can go on this machine: the CPU of the client and of the
 * ipmi_sim processes serving it (from /proc/<pid>/stat), and the chain of round trips each BMC
 * must wait through. Their lower bounds say whether a ratio goal is reachable at all here.
 */
import { createSocket } from 'node:dgram';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100;

/** User + system CPU (ms) used so far by the processes `pids`; a process that is gone counts 0. */
export async function processesCpuMs(
  pids: readonly number[],
  statFile = (pid: number): string => `/proc/${pid}/stat`,
): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(statFile(pid), 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
  }
  return (ticks * 1000) / USER_HZ;
}

/**
 * User + system CPU (ms) of this process's main thread so far (/proc/self/task/<pid>/stat):
 * what the agent's event loop used, without V8's compiler and GC helper threads.
 */
export async function mainThreadCpuMs(): Promise<number> {
  return processesCpuMs([process.pid], (pid) => `/proc/self/task/${pid}/stat`);
}

/**
 * User + system CPU (ms) of each of this process's threads so far, summed by thread name
 * (/proc/self/task/<tid>/comm): the event loop ("node" or the script's name), V8's helper
 * threads ("V8 DefaultWorke": GC and compiler), libuv's pool, and so on.
 */
export async function threadsCpuMs(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const tids = await readdir('/proc/self/task').catch(() => [] as string[]);
  for (const tid of tids) {
    const name = (await readFile(`/proc/self/task/${tid}/comm`, 'utf8').catch(() => '?')).trim();
    const label = Number(tid) === process.pid ? 'main' : name;
    const ms = await processesCpuMs([Number(tid)], (t) => `/proc/self/task/${t}/stat`);
    out[label] = (out[label] ?? 0) + ms;
  }
  return out;
}

/** What each thread name used between two {@link threadsCpuMs} readings (ms). */
export function threadsCpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

/** RMCP presence ping (ASF): ipmi_sim answers it without crypto, the cheapest round trip it serves. */
const PRESENCE_PING = Buffer.from('0600ff06000011be80010000', 'hex');

/** Median of `count` sequential presence-ping round trips to 127.0.0.1:`port` (ms). */
export async function idleRoundTripMs(port: number, count = 21): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1000);
        socket.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.send(PRESENCE_PING, port, '127.0.0.1');
      });
      if (answered) times.push(performance.now() - t);
    }
  } finally {
    socket.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** One side's cold run as measured: its wall time, its own CPU and the simulators' CPU meanwhile. */
export interface ColdCost {
  readonly wallMs: number;
  readonly clientCpuMs: number;
  readonly simCpuMs: number;
  /** Round trips in the longest chain of one BMC's requests. */
  readonly roundTripsPerBmc: number;
  /**
   * CPU of the one thread that must do the client's work in order (vpmd's event loop); absent
   * for a client that spreads its work over threads (FreeIPMI: one per host).
   */
  readonly serialCpuMs?: number;
}

/**
 * Lower bounds of one side's wall time: all CPU spread over every core, and one BMC's chain of
 * round trips at the idle round-trip time. Neither can be beaten by this client on this machine.
 */
export function lowerBounds(c: ColdCost, idleRttMs: number): Record<string, number> {
  const cores = availableParallelism();
  const cpuBound = (c.clientCpuMs + c.simCpuMs) / cores;
  const chainBound = c.roundTripsPerBmc * idleRttMs;
  const bound = Math.max(cpuBound, chainBound, c.serialCpuMs ?? 0);
  return {
    wallMs: r1(c.wallMs),
    clientCpuMs: r1(c.clientCpuMs),
    ...(c.serialCpuMs === undefined ? {} : { mainThreadCpuMs: r1(c.serialCpuMs) }),
    simCpuMs: r1(c.simCpuMs),
    cores,
    cpuBoundMs: r1(cpuBound),
    roundTripsPerBmc: c.roundTripsPerBmc,
    chainBoundMs: r1(chainBound),
    lowerBoundMs: r1(bound),
    /** How much of the wall time the bounds explain (1 = the side runs at its bound). */
    wallOverBound: r1(c.wallMs / bound),
  };
}

/**
 * The ratio FreeIPMI / vpmd the cold sweep could reach here at best: FreeIPMI's measured wall
 * time against vpmd's lower bound as it is, and against the bound vpmd would have if its own CPU
 * cost nothing (only the simulators' CPU and the chain left): when that is under the goal, the
 * goal cannot be met on this machine by any client.
 */
export function bestRatios(freeipmiWallMs: number, vpmd: ColdCost, idleRttMs: number): Record<string, number> {
  const cores = availableParallelism();
  const chain = vpmd.roundTripsPerBmc * idleRttMs;
  const now = Math.max((vpmd.clientCpuMs + vpmd.simCpuMs) / cores, chain, vpmd.serialCpuMs ?? 0);
  const freeClient = Math.max(vpmd.simCpuMs / cores, chain);
  return {
    atVpmdLowerBound: r1(freeipmiWallMs / now),
    /** vpmd's main-thread CPU a 3x ratio allows at this FreeIPMI wall time. */
    mainThreadCpuMsFor3x: r1(freeipmiWallMs / 3),
    ifVpmdCpuWereZero: r1(freeipmiWallMs / freeClient),
  };
}

/**
 * FreeIPMI's round trips per BMC in a cold run: its API waits for each answer before the next
 * request (one thread per host under --fanout), so its chain is its 42 requests per BMC, as
 * counted once through a UDP relay (docs/ipmi.md).
 */
const FREEIPMI_COLD_ROUND_TRIPS = 42;

/** The `coldBounds` of a run: both sides' bounds and the best cold ratio they leave. */
export function coldBounds(
  vpmd: ColdCost,
  freeipmi: { readonly wallMs: number; readonly cpuMs: number; readonly simCpuMs: number },
  idleRttMs: number,
): Record<string, unknown> {
  const fi: ColdCost = {
    wallMs: freeipmi.wallMs,
    clientCpuMs: freeipmi.cpuMs,
    simCpuMs: freeipmi.simCpuMs,
    roundTripsPerBmc: FREEIPMI_COLD_ROUND_TRIPS,
  };
  return {
    idleRoundTripMs: Math.round(idleRttMs * 1000) / 1000,
    vpmd: lowerBounds(vpmd, idleRttMs),
    freeipmi: lowerBounds(fi, idleRttMs),
    bestFreeipmiOverVpmdCold: bestRatios(freeipmi.wallMs, vpmd, idleRttMs),
  };
}
