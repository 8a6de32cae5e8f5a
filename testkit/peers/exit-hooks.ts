/**
 * Last-resort cleanup when the test process ends without stopping its peers: normal exit, an
 * uncaught error, or SIGINT/SIGTERM/SIGHUP. Cleanups must be synchronous (nothing async runs
 * after 'exit'). A SIGKILLed process runs none of this; peer processes then die through
 * PR_SET_PDEATHSIG (see peer-process.ts).
 */
const HOOKED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const cleanups: (() => void)[] = [];
let installed = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
}

/**
 * Registers `cleanup` to run when the process ends. Signal handlers re-raise the signal when no
 * other handler is installed, so the process still ends the way it would have.
 */
export function onProcessEnd(cleanup: () => void): void {
  cleanups.push(cleanup);
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of HOOKED_SIGNALS) {
    const onSignal = (): void => {
      runAll();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
