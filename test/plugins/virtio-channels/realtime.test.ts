/**
 * `schedFifoPriority` on the agent as it runs installed (its own process): the event loop's
 * thread under SCHED_FIFO at the priority, and the threads the process already has (V8's
 * garbage-collector helpers, whose scavenges the loop waits for) one step below, so that a
 * collection never waits for a CPU behind ordinary tasks. Needs CAP_SYS_NICE, as the option does.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadPolicy } from '../../../app/doctor/realtime-check.js';
import { sliceOf } from '../../../plugins/virtio-channels/scheduling.js';
import { startAgentProcess, type AgentProcess } from './support/agent-process.js';
import { eventually } from './support/sim-files.js';

const SCHED_FIFO = 1;

/** Scheduling policy and RT priority of every thread of `pid`, as `vpmd doctor` reads them. */
async function threads(pid: number): Promise<Array<{ tid: number; policy: number; priority: number }>> {
  const out = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const p = await threadPolicy(pid, Number(tid));
    if (p !== undefined) out.push({ tid: Number(tid), ...p }); // else the thread ended meanwhile
  }
  return out;
}

describe('schedFifoPriority', () => {
  let dir: string;
  let agent: AgentProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-rt-'));
    agent = await startAgentProcess({
      'virtio-channels': { dir, libvirt: false, fifos: [], schedFifoPriority: 4 },
    });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the event loop under SCHED_FIFO and the garbage collector’s helpers one step below', async () => {
    const all = await threads(agent.pid);
    expect(all.find((t) => t.tid === agent.pid)).toMatchObject({ policy: SCHED_FIFO, priority: 4 });
    // Node starts 4 V8 platform threads (the collector's helpers) before any JavaScript runs.
    const helpers = all.filter((t) => t.tid !== agent.pid && t.policy === SCHED_FIFO && t.priority === 3);
    expect(helpers.length).toBeGreaterThanOrEqual(4);
    expect(all.filter((t) => t.policy === SCHED_FIFO && t.priority > 4)).toEqual([]);
  });
});

/** Every thread's EEVDF slice in ns (`se.slice` of /proc/PID/task/TID/sched). */
async function slices(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const ns = await sliceOf(pid, Number(tid));
    if (ns !== undefined) out.set(Number(tid), ns);
  }
  return out;
}

/** The kernel's default slice: that of a program just started (the test runner's threads may have another). */
async function defaultSlice(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await eventually(async () => (await sliceOf(child.pid ?? 0)) !== undefined, 'sleep started');
    return (await sliceOf(child.pid ?? 0)) as number;
  } finally {
    child.kill('SIGKILL');
  }
}

describe.each([
  { option: '100 us', config: { schedSliceUs: 100 }, wantNs: 100_000 },
  { option: '250 us', config: { schedSliceUs: 250 }, wantNs: 250_000 },
])('schedSliceUs: $option', ({ config, wantNs }) => {
  let dir: string;
  let agent: AgentProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-slice-'));
    agent = await startAgentProcess({ 'virtio-channels': { dir, libvirt: false, fifos: [], ...config } });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the event loop and the garbage collector’s helpers the short slice', async () => {
    expect(await defaultSlice()).toBeGreaterThan(wantNs); // else the test could not tell the difference
    await eventually(
      async () => (await slices(agent.pid)).get(agent.pid) === wantNs,
      `loop slice ${wantNs} ns`,
      30_000,
    );
    const all = await slices(agent.pid);
    // Node starts 4 V8 platform threads (the collector's helpers) before any JavaScript runs.
    expect([...all.values()].filter((ns) => ns === wantNs).length).toBeGreaterThanOrEqual(5);
  });
});

describe('schedSliceUs: 0 (the default)', () => {
  it('leaves every thread at the kernel’s default slice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-slice0-'));
    const agent = await startAgentProcess({ 'virtio-channels': { dir, libvirt: false, fifos: [] } });
    try {
      const base = await defaultSlice();
      const all = await slices(agent.pid);
      expect(all.size).toBeGreaterThanOrEqual(5);
      expect([...all.values()].every((ns) => ns === base)).toBe(true);
    } finally {
      await agent.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
