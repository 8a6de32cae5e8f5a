/**
 * ThreadCpuReader: thread CPU time through kept-open descriptors, on this machine's own /proc
 * (pread at offset 0 must return fresh text; an exited thread must read as one gap) and on
 * generated trees (the stat fallback, the descriptor bound, the simulated kernel).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RealSysfs, ThreadCpuReader, statCpuUs, schedstatCpuUs } from '../../../core/host/index.js';
import { pollUntil } from '../../../testkit/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vpmd-thread-cpu-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

/** Burns this thread's CPU for a moment (the reader must then see more). */
function burn(): void {
  const until = process.hrtime.bigint() + 20_000_000n;
  while (process.hrtime.bigint() < until);
}

describe("ThreadCpuReader on this machine's /proc", () => {
  it('re-reads a kept-open schedstat and sees the thread run on', async () => {
    const reader = new ThreadCpuReader(new RealSysfs('/'));
    const self = { pid: process.pid, tid: process.pid };
    const [first] = await reader.read([self]);
    expect(first).toBeGreaterThan(0);
    expect(reader.openFiles).toBe(1);
    // The same descriptor, read again at offset 0, reports the time burnt since.
    await pollUntil({
      peer: 'procfs',
      what: 'the main thread CPU time to grow',
      timeoutMs: 30_000,
      intervalMs: 1,
      probe: async () => {
        burn();
        const [now] = await reader.read([self]);
        return now !== undefined && now > (first as number) ? now : undefined;
      },
    });
    expect(reader.openFiles).toBe(1);
    reader.close();
    expect(reader.openFiles).toBe(0);
  });

  it('reads an exited thread as one gap and gives its descriptor back', async () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.postMessage(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
       setInterval(() => {}, 1000);`,
      { eval: true },
    );
    const tid = Number(await new Promise<string>((ok) => worker.once('message', ok)));
    const reader = new ThreadCpuReader(new RealSysfs('/'));
    const refs = [
      { pid: process.pid, tid },
      { pid: process.pid, tid: process.pid },
    ];
    const [alive, main] = await reader.read(refs);
    expect(alive).toBeTypeOf('number');
    expect(main).toBeTypeOf('number');
    await worker.terminate();
    await pollUntil({
      peer: 'procfs',
      what: `thread ${tid} to be gone`,
      timeoutMs: 30_000,
      intervalMs: 10,
      probe: async () => {
        const [gone, stillMain] = await reader.read(refs);
        expect(stillMain).toBeTypeOf('number');
        return gone === undefined ? true : undefined;
      },
    });
    expect(reader.openFiles).toBe(1);
    reader.close();
  });
});

describe('ThreadCpuReader on a generated tree', () => {
  it('parses schedstat in ns and stat in ticks, fields counted from the last parenthesis', () => {
    const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
    const ss = bytes('1234567890 55 7\n');
    expect(schedstatCpuUs(ss, ss.length)).toBe(1_234_567.89);
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[11] = '150'; // utime, field 14
    fields[12] = '30'; // stime, field 15
    const st = bytes(`42 (a) b) (c) ${fields.join(' ')}\n`);
    expect(statCpuUs(st, st.length)).toBe(1_800_000);
    const bad = bytes('no parenthesis here');
    expect(statCpuUs(bad, bad.length)).toBeUndefined();
  });

  it('falls back to stat for good when the kernel has no schedstat', async () => {
    const stat = (ticks: number): string => `7 (CPU 0/KVM) S 1 7 7 0 -1 0 0 0 0 0 ${ticks} 0 0 0 20 0 1 0\n`;
    const root = await tree({ 'proc/7/task/7/stat': stat(250), 'proc/7/task/8/stat': stat(4) });
    const reader = new ThreadCpuReader(new RealSysfs(root));
    expect(
      await reader.read([
        { pid: 7, tid: 7 },
        { pid: 7, tid: 8 },
        { pid: 7, tid: 9 },
      ]),
    ).toEqual([2_500_000, 40_000, undefined]);
    expect(reader.source).toBe('stat');
    await writeFile(join(root, 'proc/7/task/7/stat'), stat(300));
    expect((await reader.read([{ pid: 7, tid: 7 }]))[0]).toBe(3_000_000);
    reader.close();
  });

  it('keeps at most maxOpenFiles descriptors and still reads every thread', async () => {
    const files: Record<string, string> = {};
    for (let t = 10; t < 16; t++) files[`proc/10/task/${t}/schedstat`] = `${t * 1000} 0 1\n`;
    const root = await tree(files);
    const reader = new ThreadCpuReader(new RealSysfs(root), { maxOpenFiles: 2, sliceSize: 2 });
    const refs = Array.from({ length: 6 }, (_, i) => ({ pid: 10, tid: 10 + i }));
    expect(await reader.read(refs)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(reader.openFiles).toBe(2);
    // Threads no longer asked for give their descriptors back; the one still asked for is kept.
    expect(await reader.read([{ pid: 10, tid: 15 }])).toEqual([15]);
    expect(reader.openFiles).toBeLessThanOrEqual(1);
    expect(await reader.read([{ pid: 10, tid: 15 }])).toEqual([15]);
    expect(reader.openFiles).toBe(1);
    reader.close();
  });

  it('reads a simulated VM thread through the simulated kernel', async () => {
    const { createTemporarySimulatedHost } = await import('../../../core/sim/index.js');
    const sim = await createTemporarySimulatedHost({ profile: 'intel-acpi-cpufreq-8', now: () => 1_700_000_000_000 });
    try {
      const vm = sim.kernel.vms.start({
        uuid: '11111111-2222-4333-8444-555555555555',
        name: 'burn',
        vcpus: [{ pins: [1], load: 1 }],
      });
      sim.kernel.advance(10_000);
      const reader = new ThreadCpuReader(sim.kernel);
      const tid = vm.vcpuThreads[0] as number;
      const [us] = await reader.read([{ pid: vm.pid, tid }]);
      // 10 s at full load on its own CPU: 10 s of CPU time, in µs, at ns precision.
      expect(us).toBeGreaterThan(9_000_000);
      expect(us).toBeLessThanOrEqual(10_000_000);
      expect(reader.source).toBe('schedstat');
      expect(await sim.kernel.read(`proc/${vm.pid}/task/${tid}/schedstat`)).toMatch(/^\d+ 0 \d+\n?$/);
    } finally {
      await sim.dispose();
    }
  });
});
