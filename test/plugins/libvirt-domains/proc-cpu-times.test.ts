/**
 * The libvirt source's /proc CPU times on a file tree laid out as /proc is
 * (`proc/PID/task/TID/schedstat`): vCPU and emulator sums, emulator time kept when a worker
 * thread leaves the list, the libvirt fallback chosen once per domain, and a restart from zero.
 * The real kernel's files are read by test/integration/real-vm.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainStructure } from '../../../plugins/libvirt-domains/domain-reader.js';
import { ProcCpuTimes } from '../../../plugins/libvirt-domains/proc-cpu-times.js';

let root: string;
let times: ProcCpuTimes;

async function thread(pid: number, tid: number, runNs: number): Promise<void> {
  const dir = join(root, 'proc', String(pid), 'task', String(tid));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'schedstat'), `${runNs} 0 0\n`);
}

function structure(pid: number, vcpuTids: number[], emulatorTids: number[], extra: Partial<DomainStructure> = {}) {
  const s: DomainStructure = {
    path: `/org/libvirt/QEMU/domain/_${pid}`,
    uuid: `00000000-0000-4000-8000-${String(pid).padStart(12, '0')}`,
    name: `vm${pid}`,
    state: 'running',
    pid,
    metadata: {},
    channels: [],
    vcpus: vcpuTids.map((tid, index) => ({ index, threadId: tid, pins: [index], state: 'running' })),
    emulator: { threadIds: emulatorTids, pins: [0, 1] },
    libvirtTimes: { vcpuUs: vcpuTids.map(() => 7), emulatorUs: 7 },
    ...extra,
  };
  return s;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-proc-times-'));
  times = new ProcCpuTimes(root);
});
afterEach(async () => {
  times.close();
  await rm(root, { recursive: true, force: true });
});

describe('CPU times of libvirt domains from /proc', () => {
  it("sums each vCPU's and the emulator threads' schedstat run time, in µs", async () => {
    await thread(100, 101, 5_000_000);
    await thread(100, 102, 9_000_000);
    await thread(100, 100, 1_500_000);
    await thread(100, 103, 500_000);
    const [t] = await times.read([structure(100, [101, 102], [100, 103])], true);
    expect(t).toEqual({ vcpuUs: [5_000, 9_000], emulatorUs: 2_000 });
    expect(times.sourceOf(structure(100, [], []).uuid)).toBe('proc');
    await thread(100, 102, 12_000_000);
    const [again] = await times.read([structure(100, [101, 102], [100, 103])], true);
    expect(again?.vcpuUs).toEqual([5_000, 12_000]);
  });

  it('keeps the time of an emulator thread that left the list, so the sum never goes back', async () => {
    await thread(200, 201, 1_000_000);
    await thread(200, 200, 3_000_000);
    await thread(200, 250, 4_000_000);
    const before = structure(200, [201], [200, 250]);
    expect((await times.read([before], true))[0]?.emulatorUs).toBe(7_000);
    // QEMU's worker 250 exited; a structure read lists a new worker 260.
    await thread(200, 260, 1_000_000);
    const after = structure(200, [201], [200, 260]);
    times.replaced(before, after);
    expect((await times.read([after], true))[0]?.emulatorUs).toBe(8_000);
  });

  it('leaves a domain whose threads cannot be read to libvirt, for the rest of its run', async () => {
    const unreadable = structure(300, [301], [300]); // no files: another PID namespace, say
    const elsewhere = structure(400, [401], [400], { procUnreadable: '/run/libvirt/qemu/vm400.pid: ENOENT' });
    expect(await times.read([unreadable, elsewhere], true)).toEqual([undefined, undefined]);
    await thread(300, 301, 1_000_000);
    await thread(300, 300, 1_000_000);
    // Still libvirt's: its counters must not switch scale mid-run.
    expect(await times.read([unreadable], true)).toEqual([undefined]);
    expect(times.sourceOf(unreadable.uuid)).toBe('libvirt');
    // Once it stopped, its next run chooses afresh.
    times.stopped(unreadable);
    expect((await times.read([unreadable], true))[0]).toEqual({ vcpuUs: [1_000], emulatorUs: 1_000 });
  });

  it("reads one domain without closing the steady read's descriptors", async () => {
    await thread(500, 501, 2_000_000);
    await thread(600, 601, 3_000_000);
    const a = structure(500, [501], []);
    const b = structure(600, [601], []);
    await times.read([a, b], true);
    const open = (await readdir('/proc/self/fd')).length;
    expect((await times.read([b], false))[0]?.vcpuUs).toEqual([3_000]);
    // The steady read's two descriptors stay open; the one-off read kept none.
    expect((await readdir('/proc/self/fd')).length).toBe(open);
    expect((await times.read([a, b], true)).map((t) => t?.vcpuUs[0])).toEqual([2_000, 3_000]);
    expect((await readdir('/proc/self/fd')).length).toBe(open);
  });
});
