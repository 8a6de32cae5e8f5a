/**
 * How the agent's threads are scheduled so that guests get their replies within DPDK's 10 ms on
 * a host whose cores are busy: a short EEVDF slice (unprivileged, on by default) and, where the
 * operator grants CAP_SYS_NICE, SCHED_FIFO. See docs/virtio-channels.md, "Scheduling".
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** What the scheduling functions log. */
export interface SchedulingLog {
  warn(o: object, m: string): void;
  info(o: object, m: string): void;
}

const run = promisify(execFile);
const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).trim().split('\n')[0] ?? '';

/**
 * Puts the event loop's thread (the main thread: tid = pid) under SCHED_FIFO `priority`, and the
 * process's other threads of the moment (V8's garbage-collector helpers, libuv's pool) one step
 * below: a scavenge runs partly on the helpers and the loop waits for them, so helpers left
 * ordinary stalled the loop for 50 to 190 ms on a saturated host, which the loop's priority alone
 * cannot prevent (bench/channels/goal-trace.ts). One step below, a helper's concurrent marking
 * never delays the loop. With SCHED_RESET_ON_FORK (`chrt -R`): every process or thread created
 * later starts as an ordinary task instead of inheriting the priority, so a busy child can never
 * starve the host. The kernel's RT throttling (95 % by default) still leaves other tasks CPU if a
 * thread ever spins. A failure (no CAP_SYS_NICE) is logged.
 * @returns whether the loop now runs under SCHED_FIFO
 */
export async function realtime(priority: number, log: SchedulingLog): Promise<boolean> {
  const helpers = Math.max(1, priority - 1);
  try {
    await run('chrt', ['-R', '-a', '-f', '-p', String(helpers), String(process.pid)]);
    await run('chrt', ['-R', '-f', '-p', String(priority), String(process.pid)]);
    log.info({ priority, helperPriority: helpers }, 'event loop runs under SCHED_FIFO (schedFifoPriority)');
    return true;
  } catch (e) {
    log.warn(
      { priority, err: firstLine(e) },
      'cannot switch the event loop to SCHED_FIFO (needs CAP_SYS_NICE); replies may miss 10 ms on a saturated host',
    );
    return false;
  }
}

/** sched_setattr's number in each architecture's system call table (Linux's unistd tables). */
const SCHED_SETATTR: Partial<Record<NodeJS.Architecture, number>> = {
  x64: 314,
  arm64: 274,
  riscv64: 274,
  loong64: 274,
  ppc64: 355,
  s390x: 345,
};

/**
 * perl (perl-base is essential on Debian and Ubuntu) makes the system call, since Node has no
 * binding for it: `struct sched_attr` version 0 (48 bytes), SCHED_OTHER, nice 0, the slice in
 * `sched_runtime`, and SCHED_FLAG_RESET_ON_FORK, so that programs the agent starts get the
 * kernel's default slice again. A thread that ended meanwhile (ESRCH) is skipped.
 */
const SET_SLICE = [
  'my ($nr, $ns, @tids) = @ARGV;',
  'for my $t (@tids) {',
  '  my $attr = pack("LLQlLQQQ", 48, 0, 1, 0, 0, $ns, 0, 0);',
  '  next if syscall($nr, $t + 0, $attr, 0) == 0;',
  '  next if $! + 0 == 3;',
  '  die "sched_setattr(thread $t): $!\\n";',
  '}',
].join('\n');

/**
 * Sets an EEVDF slice of `us` microseconds (clamped to {@link SLICE_BOUNDS_US}) on each thread;
 * 0 gives them the kernel's default slice again.
 * @throws Error when the architecture's system call number is unknown, perl is missing, or the
 * kernel refuses (EINVAL, EPERM); kernels before 6.12 accept and ignore it
 */
export async function setSlice(us: number, tids: ReadonlyArray<number | string>): Promise<number> {
  const nr = SCHED_SETATTR[process.arch];
  if (nr === undefined) throw new Error(`sched_setattr has no known system call number on ${process.arch}`);
  const clamped = us === 0 ? 0 : Math.min(SLICE_BOUNDS_US.max, Math.max(SLICE_BOUNDS_US.min, us));
  await run('perl', ['-e', SET_SLICE, String(nr), String(clamped * 1000), ...tids.map(String)]);
  return clamped;
}

/** The kernel's bounds of a custom slice (kernel/sched/syscalls.c clamps to them). */
export const SLICE_BOUNDS_US = { min: 100, max: 100_000 } as const;

/** What {@link shortSlice} achieved. */
export type SliceOutcome = 'set' | 'unsupported' | 'failed';

/** The loop thread's slice in ns, from /proc/PID/task/TID/sched (`se.slice`); undefined if not shown. */
export async function sliceOf(pid: number, tid = pid): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${tid}/sched`, 'utf8').catch(() => '');
  const m = /^se\.slice\s*:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Asks the kernel's EEVDF scheduler (Linux 6.12 and later) for a slice of `us` microseconds for
 * every thread the process has now: the event loop, V8's garbage-collector helpers (a scavenge
 * waits for them) and libuv's pool. A task's virtual deadline is its eligible time plus its
 * slice, and a waking task with an earlier deadline preempts the running one; so with a short
 * slice the agent, woken by a guest's request, runs at once instead of after a CPU hog's slice,
 * with no privilege and no change to its share of the CPU (its weight). Kernels before 6.12
 * accept the call and ignore the value: the slice is read back and that case reported.
 */
export async function shortSlice(us: number, log: SchedulingLog): Promise<SliceOutcome> {
  let set: number;
  try {
    set = await setSlice(us, await readdir('/proc/self/task'));
  } catch (e) {
    log.warn(
      { sliceUs: us, err: firstLine(e) },
      'schedSliceUs: cannot set the scheduler slice (needs perl); slice unchanged',
    );
    return 'failed';
  }
  const ns = await sliceOf(process.pid);
  if (ns !== set * 1000) {
    log.warn(
      { sliceUs: set, kernelSliceNs: ns ?? null },
      'schedSliceUs: the kernel kept its own slice (custom slices need Linux 6.12 or later)',
    );
    return 'unsupported';
  }
  log.info({ sliceUs: set }, 'event loop and its helper threads run with a short scheduler slice (schedSliceUs)');
  return 'set';
}
