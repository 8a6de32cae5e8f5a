/**
 * The files the simulated VMs show, in the kernel's formats (clock ticks of USER_HZ = 100):
 * - `proc/stat`: per-CPU `user nice system idle iowait irq softirq steal guest guest_nice`;
 * - `proc/<pid>/stat` and `proc/<pid>/task/<tid>/stat`: field 14/15 utime/stime, 39 processor,
 *   43 guest_time (vCPU threads); `.../schedstat`: the thread's run time in ns (then wait time,
 *   always 0 here, and timeslices), what the domains source reads; `.../comm`: `CPU N/KVM` for vCPU threads as QEMU names them
 *   with `debug-threads=on`, `qemu-system-x86` for the emulator;
 * - `run/vpmd-sim/domains.json` (format `vpmd-sim-domains/1`): what libvirt would say about
 *   each running domain (UUID, name, pid, pins, Nova metadata), read by the simulated
 *   `domains@1` source; CPU times are not in it (they come from `/proc`, like on a real host).
 */
import type { SimThread, SimVm, SimVmState } from './sim-vm-types.js';

/** The domains description's path, relative to the simulated root. */
export const DOMAINS_FILE = 'run/vpmd-sim/domains.json';

/** The description's format identifier. */
export const DOMAINS_FORMAT = 'vpmd-sim-domains/1';

const TICK_US = 10_000;

function ticks(us: number): number {
  return Math.floor(us / TICK_US);
}

function statLine(
  pid: number,
  comm: string,
  t: { cpuUs: number; lastCpu: number },
  threads: number,
  guest: boolean,
): string {
  const total = ticks(t.cpuUs);
  const stime = Math.floor(total / 20);
  const utime = total - stime;
  // Fields 1..52; only those a reader uses carry values.
  const f: Array<string | number> = [pid, `(${comm})`, 'S', 1, pid, pid, 0, -1, 4202752, 0, 0, 0, 0];
  f.push(utime, stime, 0, 0, 20, 0, threads, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, t.lastCpu);
  f.push(0, 0, 0, guest ? utime : 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return `${f.join(' ')}\n`;
}

function threadComm(vm: SimVm, t: SimThread): string {
  const i = vm.vcpus.indexOf(t);
  return i >= 0 ? `CPU ${i}/KVM` : 'qemu-system-x86';
}

function procStat(s: SimVmState, nowMs: number): string {
  const rows = s.cpuBusyUs.map((busyUs, cpu) => {
    const busy = ticks(busyUs);
    const system = Math.floor(busy / 20);
    return [`cpu${cpu}`, busy - system, 0, system, ticks(s.cpuIdleUs[cpu] ?? 0), 0, 0, 0, 0, 0, 0];
  });
  const sum = rows.reduce<number[]>((acc, r) => r.slice(1).map((v, i) => (acc[i] ?? 0) + Number(v)), []);
  const procs = s.vms.reduce((a, v) => a + v.vcpus.length + 1, 0);
  return [
    ['cpu ', ...sum].join(' '),
    ...rows.map((r) => r.join(' ')),
    'intr 0',
    'ctxt 0',
    `btime ${Math.floor(nowMs / 1000)}`,
    `processes ${procs}`,
    'procs_running 1',
    'procs_blocked 0',
    '',
  ].join('\n');
}

function vmOf(s: SimVmState, pid: number): SimVm | undefined {
  return s.vms.find((v) => v.pid === pid);
}

function threadOf(vm: SimVm, tid: number): SimThread | undefined {
  return vm.emulator.tid === tid ? vm.emulator : vm.vcpus.find((t) => t.tid === tid);
}

const PROC_PATH = /^proc\/(\d+)(?:\/task\/(\d+))?\/(stat|schedstat|comm|cmdline)$/;

/** `schedstat`: run time (ns), wait time (ns), timeslices; the simulator keeps only the first. */
function schedstatLine(t: { cpuUs: number }): string {
  return `${Math.round(t.cpuUs * 1000)} 0 ${Math.floor(t.cpuUs / TICK_US)}\n`;
}

/** The domains description (see the module comment). */
export function domainsDescription(s: SimVmState): string {
  const domains = s.vms.map((vm) => ({
    uuid: vm.uuid,
    name: vm.name,
    state: 'running',
    pid: vm.pid,
    startedAt: vm.startedAtMs,
    ...(vm.novaProjectId === undefined ? {} : { nova: { instanceId: vm.uuid, projectId: vm.novaProjectId } }),
    vcpus: vm.vcpus.map((t, index) => ({ index, tid: t.tid, pins: t.pins })),
    emulator: { tids: [vm.emulator.tid], pins: vm.emulator.pins },
  }));
  return `${JSON.stringify({ format: DOMAINS_FORMAT, domains })}\n`;
}

/** A VM-layer file's content, or undefined when `path` is not one. */
export function renderProcFile(path: string, s: SimVmState, nowMs: number): string | undefined {
  if (path === 'proc/stat') return procStat(s, nowMs);
  if (path === DOMAINS_FILE) return domainsDescription(s);
  const m = PROC_PATH.exec(path);
  if (m === null) return undefined;
  const vm = vmOf(s, Number(m[1]));
  if (vm === undefined) return undefined;
  const threads = vm.vcpus.length + 1;
  if (m[3] === 'cmdline') return `qemu-system-x86_64\0-name\0guest=${vm.name},debug-threads=on\0-uuid\0${vm.uuid}\0`;
  // The process's own schedstat is its main thread's (the emulator: tid = pid), as in Linux.
  if (m[3] === 'schedstat') {
    const t = m[2] === undefined ? vm.emulator : threadOf(vm, Number(m[2]));
    return t === undefined ? undefined : schedstatLine(t);
  }
  if (m[2] === undefined) {
    const all = [...vm.vcpus, vm.emulator];
    const sum = { cpuUs: all.reduce((a, t) => a + t.cpuUs, 0), lastCpu: vm.emulator.lastCpu };
    return m[3] === 'comm' ? 'qemu-system-x86\n' : statLine(vm.pid, 'qemu-system-x86', sum, threads, false);
  }
  const t = threadOf(vm, Number(m[2]));
  if (t === undefined) return undefined;
  const comm = threadComm(vm, t);
  return m[3] === 'comm' ? `${comm}\n` : statLine(t.tid, comm, t, threads, t !== vm.emulator);
}

/** Entries of a VM-layer directory, or undefined when `path` is not one. */
export function listProcDir(path: string, s: SimVmState): string[] | undefined {
  if (path === 'run/vpmd-sim') return ['domains.json'];
  const m = /^proc\/(\d+)(\/task(?:\/(\d+))?)?$/.exec(path);
  if (m === null) return undefined;
  const vm = vmOf(s, Number(m[1]));
  if (vm === undefined) return undefined;
  if (m[2] === undefined) return ['cmdline', 'comm', 'schedstat', 'stat', 'task'];
  if (m[3] === undefined) return [vm.emulator, ...vm.vcpus].map((t) => String(t.tid));
  return threadOf(vm, Number(m[3])) === undefined ? undefined : ['comm', 'schedstat', 'stat'];
}
