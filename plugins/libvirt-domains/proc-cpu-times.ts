/**
 * Domains' CPU times from the host's /proc, not from libvirt: each vCPU thread's and emulator
 * thread's `/proc/<pid>/task/<tid>/schedstat` (run time in ns), through the core's
 * {@link ThreadCpuReader} (descriptors kept open and re-read at offset 0), the same reader the
 * simulated source uses. libvirt's own figures come from the same kernel (`vcpu.N.time` from the
 * thread's `stat`, `cpu.time` from the cgroup) but cost a D-Bus call per domain per read.
 *
 * Which source a domain uses is decided at its first read and kept until it stops, so that its
 * counters never switch scale mid-life: /proc when its threads are known and readable, else
 * libvirt's `GetStats` (another PID namespace, hidepid, a remote or Test driver).
 *
 * Emulator time is the sum of the emulator threads listed at the last structure read; a thread
 * that leaves the list (QEMU's worker threads come and go) keeps adding its last value, so the
 * sum never goes back. A worker born and gone between two structure reads is not seen.
 */
import { RealSysfs, ThreadCpuReader, type ThreadRef } from 'vpmd';
import type { CpuTimes, DomainStructure } from './domain-reader.js';

/** Where a domain's CPU times come from. */
export type CpuSource = 'proc' | 'libvirt';

/** Per-thread CPU times of running domains, read from /proc. */
export class ProcCpuTimes {
  /** Kept-open descriptors, for the per-interval `list()`. */
  private readonly steady: ThreadCpuReader;
  /** No kept descriptors, for one-off reads (`get()`): they must not close list()'s. */
  private readonly oneOff: ThreadCpuReader;
  /** Each thread's last CPU time (µs), by tid: what a thread that cannot be read reports. */
  private readonly last = new Map<number, number>();
  /** Time of emulator threads that left the list (µs), by domain UUID. */
  private readonly departed = new Map<string, number>();
  private readonly source = new Map<string, CpuSource>();

  constructor(root = '/') {
    const proc = new RealSysfs(root);
    this.steady = new ThreadCpuReader(proc);
    this.oneOff = new ThreadCpuReader(proc, { maxOpenFiles: 0 });
  }

  /** The source a domain uses (decided at its first read). */
  sourceOf(uuid: string): CpuSource | undefined {
    return this.source.get(uuid);
  }

  /** A new structure replaces `before` (same domain): emulator threads no longer listed keep their time. */
  replaced(before: DomainStructure | undefined, after: DomainStructure): void {
    if (before === undefined) return;
    const still = new Set(after.emulator.threadIds);
    let gone = 0;
    for (const tid of before.emulator.threadIds)
      if (!still.has(tid)) {
        gone += this.last.get(tid) ?? 0;
        this.last.delete(tid);
      }
    if (gone > 0) this.departed.set(after.uuid, (this.departed.get(after.uuid) ?? 0) + gone);
  }

  /** Forgets a stopped domain (its next run starts from zero, on a source chosen afresh). */
  stopped(s: DomainStructure): void {
    for (const tid of [...s.vcpus.map((v) => v.threadId), ...s.emulator.threadIds])
      if (tid !== null) this.last.delete(tid);
    this.departed.delete(s.uuid);
    this.source.delete(s.uuid);
  }

  /**
   * CPU times of each domain, in order; undefined for a domain on the libvirt source (its
   * threads not known, or none of them readable at its first read).
   * @param steady true for the per-interval read (descriptors kept open)
   */
  async read(domains: readonly DomainStructure[], steady: boolean): Promise<Array<CpuTimes | undefined>> {
    const refs: ThreadRef[] = [];
    const asked: DomainStructure[] = [];
    for (const d of domains) {
      if (this.source.get(d.uuid) === 'libvirt') continue;
      if (d.procUnreadable !== undefined || d.pid === undefined) {
        this.source.set(d.uuid, 'libvirt');
        continue;
      }
      asked.push(d);
      for (const v of d.vcpus) if (v.threadId !== null) refs.push({ pid: d.pid, tid: v.threadId });
      for (const tid of d.emulator.threadIds) refs.push({ pid: d.pid, tid });
    }
    const got = await (steady ? this.steady : this.oneOff).read(refs);
    const byDomain = new Map<string, CpuTimes>();
    let i = 0;
    for (const d of asked) {
      let readable = false;
      const next = (tid: number): number => {
        const us = got[i++];
        if (us !== undefined) {
          readable = true;
          this.last.set(tid, us);
          return Math.floor(us);
        }
        // Gone or unreadable this once: its last value (its time then counts in the next read).
        return Math.floor(this.last.get(tid) ?? 0);
      };
      const vcpuUs = d.vcpus.map((v) => (v.threadId === null ? 0 : next(v.threadId)));
      let emulatorUs = this.departed.get(d.uuid) ?? 0;
      for (const tid of d.emulator.threadIds) emulatorUs += next(tid);
      if (!this.source.has(d.uuid)) this.source.set(d.uuid, readable ? 'proc' : 'libvirt');
      if (this.source.get(d.uuid) === 'proc') byDomain.set(d.uuid, { vcpuUs, emulatorUs });
    }
    return domains.map((d) => byDomain.get(d.uuid));
  }

  /** Gives back the kept-open descriptors (reopened on the next read). */
  close(): void {
    this.steady.close();
    this.oneOff.close();
  }
}
