/**
 * SCHED_FIFO for a benchmark process, as the plugin's `schedFifoPriority` does it: the event
 * loops (the agent's main thread, the guest workers standing in for QEMU and the guests) at
 * `priority`, every other thread the process has now (V8's garbage-collector helpers, libuv's
 * pool) one step below. With SCHED_RESET_ON_FORK, so hogs and children start as ordinary tasks.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setSlice } from '../../plugins/virtio-channels/scheduling.js';

/** A thread put under SCHED_FIFO. */
export interface RealtimeThread {
  readonly tid: number;
  readonly priority: number;
}

/**
 * Puts `loops` (thread ids) at `priority` and the process's other threads at `priority - 1`.
 * @throws Error when chrt fails (no CAP_SYS_NICE)
 */
export function realtimeThreads(priority: number, loops: readonly number[]): RealtimeThread[] {
  const helper = Math.max(1, priority - 1);
  const others = readdirSync('/proc/self/task')
    .map(Number)
    .filter((t) => !loops.includes(t));
  const set: RealtimeThread[] = [
    ...others.map((tid) => ({ tid, priority: helper })),
    ...loops.map((tid) => ({ tid, priority })),
  ];
  for (const t of set) execFileSync('chrt', ['-R', '-f', '-p', String(t.priority), String(t.tid)]);
  return set;
}

/**
 * Sets the nice value of every thread the process has now (threads started later inherit it
 * from the thread that starts them), as systemd's `Nice=` does for the whole service.
 * @returns the thread ids changed
 * @throws Error when the kernel refuses (a negative value needs CAP_SYS_NICE)
 */
export function niceThreads(nice: number): number[] {
  const tids = readdirSync('/proc/self/task').map(Number);
  for (const tid of tids) setPriority(tid, nice);
  return tids;
}

/**
 * What the plugin's `schedSliceUs` does in the agent's own process, for a benchmark whose guest
 * workers (QEMU's stand-ins) share the process: an EEVDF slice of `us` on every thread but
 * `guestWorkers` (and on them too with `guestsToo`).
 */
export async function sliceAgentThreads(us: number, guestWorkers: readonly number[], guestsToo = false): Promise<void> {
  const agent = readdirSync('/proc/self/task')
    .map(Number)
    .filter((t) => !guestWorkers.includes(t));
  await setSlice(us, guestsToo ? [...agent, ...guestWorkers] : agent);
}
