/**
 * Unrelated CPU work for the benchmarks: `sh -c 'while :; do :; done'` per busy core, killed
 * when the run ends, on any exit path of the process too. Always ordinary tasks (`chrt -o 0`)
 * at nice 0: spawned from a thread under SCHED_FIFO, or reniced (`--nice`), they would inherit
 * its priority, and the hog would be as favoured as what it is meant to compete with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const h of running) h.kill('SIGKILL');
});

/** Runs `fn` while `cores` busy loops hold host cores. */
export async function withHogs<T>(cores: number, fn: () => Promise<T>): Promise<T> {
  const hogs = Array.from({ length: cores }, () =>
    spawn('chrt', ['-o', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );
  for (const h of hogs) {
    running.add(h);
    try {
      if (h.pid !== undefined) setPriority(h.pid, 0);
    } catch {
      // Unprivileged under a positive nice: the hog keeps it (it only competes less).
    }
  }
  try {
    return await fn();
  } finally {
    for (const h of hogs) {
      h.kill('SIGKILL');
      running.delete(h);
    }
  }
}
