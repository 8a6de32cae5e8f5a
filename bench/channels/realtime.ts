/**
 * SCHED_FIFO for a benchmark process, as the plugin's `schedFifoPriority` does it: the event
 * loops (the agent's main thread, the guest workers standing in for QEMU and the guests) at
 * `priority`, every other thread the process has now (V8's garbage-collector helpers, libuv's
 * pool) one step below. With SCHED_RESET_ON_FORK, so hogs and children start as ordinary tasks.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

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
