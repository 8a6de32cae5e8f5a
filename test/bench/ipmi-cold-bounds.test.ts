/**
 * The per-thread CPU readings bench:ipmi and bench:ipmi-cold report: every thread of this
 * process is found under its name, the event loop as "main", and a delta keeps only the threads
 * that used CPU in between. (Vitest runs each file in a forked process: the test runs on "main".)
 */
import { describe, expect, it } from 'vitest';
import { mainThreadCpuMs, threadsCpuDelta, threadsCpuMs } from '../../bench/ipmi/cold-bounds.js';

describe('CPU per thread', () => {
  it('names the event loop "main" and accounts for the CPU it uses', async () => {
    // Read outside threadsCpuMs's pair (first before it, last after it): CPU is accounted in whole
    // clock ticks, and a tick landing between two reads must widen this interval, not narrow it.
    const mainBefore = await mainThreadCpuMs();
    const before = await threadsCpuMs();
    expect(Object.keys(before)).toContain('main');
    // Busy the event loop until /proc shows at least two clock ticks of its CPU.
    let after = before;
    // Bounded by CPU used, not by time: a busy machine only makes it take longer.
    while ((after.main ?? 0) - (before.main ?? 0) < 20) {
      const until = performance.now() + 5;
      let n = 0;
      while (performance.now() < until) n++; // burn CPU on this thread only
      expect(n).toBeGreaterThan(0);
      after = await threadsCpuMs();
    }
    const delta = threadsCpuDelta(before, after);
    expect(delta.main).toBeGreaterThanOrEqual(20);
    // The event loop's reading agrees with mainThreadCpuMs, read the same way.
    expect((await mainThreadCpuMs()) - mainBefore).toBeGreaterThanOrEqual(delta.main ?? 0);
  });

  it('a delta keeps only threads that used CPU, including ones that started in between', () => {
    expect(threadsCpuDelta({ main: 100, node: 50, gone: 10 }, { main: 130, node: 50, fresh: 20 })).toEqual({
      main: 30,
      fresh: 20,
    });
  });
});
