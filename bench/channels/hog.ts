/**
 * Unrelated CPU work for the benchmarks: `sh -c 'while :; do :; done'` per busy core, killed
 * when the run ends, on any exit path of the process too. Always ordinary tasks (`chrt -o 0`):
 * spawned from a thread under SCHED_FIFO they would inherit it and starve everything else.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const h of running) h.kill('SIGKILL');
});

/** Runs `fn` while `cores` busy loops hold host cores. */
export async function withHogs<T>(cores: number, fn: () => Promise<T>): Promise<T> {
  const hogs = Array.from({ length: cores }, () =>
    spawn('chrt', ['-o', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );
  for (const h of hogs) running.add(h);
  try {
    return await fn();
  } finally {
    for (const h of hogs) {
      h.kill('SIGKILL');
      running.delete(h);
    }
  }
}
