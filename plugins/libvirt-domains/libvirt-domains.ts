/**
 * The `domains@1` provider: running domains from libvirt-dbus, and libvirt's domain signals
 * turned into `domain.lifecycle.v1` events.
 *
 * What each call costs: a domain's structure (identity, state, vCPUs and their threads, pins,
 * metadata, channels: five D-Bus calls) is read when it is first seen, when one of its signals
 * arrives (lifecycle or Tunable, i.e. a re-pin) and on the periodic refresh that catches what no
 * signal announces (a vCPU hot-plug, a metadata edit, a missed signal); while the signal
 * subscription holds, a steady `list()` makes no D-Bus call at all and reads only each thread's
 * CPU time from /proc (proc-cpu-times.ts). Without the subscription it asks `ListDomains` each
 * time. `get()` (one domain, on request) reads that domain's structure afresh.
 */
import {
  VpmdError,
  type DomainIdentity,
  type DomainInfo,
  type DomainLifecycleKind,
  type Domains,
  type Logger,
  type ScopedEventBus,
  type VcpuQuota,
} from 'vpmd';
import { CONNECT, type LibvirtBus, type LibvirtSignal } from './libvirt-bus.js';
import {
  domainInfo,
  plain,
  readLibvirtTimes,
  readStructure,
  type DomainStructure,
  type StartTimes,
} from './domain-reader.js';
import { ProcCpuTimes, type CpuSource } from './proc-cpu-times.js';
import { readVcpuQuota, writeVcpuQuota } from './quota.js';

/** virDomainEventType (libvirt-domain.h) to the contract's lifecycle kinds; others are ignored. */
const KIND_OF_EVENT: Readonly<Record<number, DomainLifecycleKind>> = {
  2: 'started',
  3: 'paused',
  4: 'resumed',
  5: 'stopped',
  7: 'pmsuspended',
  8: 'stopped', // crashed
};
/** virDomainEventStoppedDetailType, for the `stopped` reason. */
const STOPPED_REASON: Readonly<Record<number, string>> = {
  0: 'shutdown',
  1: 'destroyed',
  2: 'crashed',
  3: 'migrated',
  4: 'saved',
  5: 'failed',
  6: 'from-snapshot',
};

/** virDomainModificationImpact LIVE | CONFIG, as `virsh vcpupin --live --config` (and DPDK's set_pcpu). */
const AFFECT_LIVE_CONFIG = 3;
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** True when libvirt said the domain does not exist (not that libvirt is unreachable). */
function notFound(e: unknown): boolean {
  const cause = e instanceof Error ? (e.cause as { type?: unknown; text?: unknown } | undefined) : undefined;
  const text = typeof cause?.text === 'string' ? cause.text : e instanceof Error ? e.message : String(e);
  return (
    e instanceof VpmdError &&
    e.code === 'E_LIBVIRT_DOMAINS_CALL' &&
    /domain not found|no domain with matching|not found/i.test(text)
  );
}

/** What the provider remembers of a domain object, to name it once it has stopped. */
interface Identity {
  readonly uuid: string;
  readonly name: string;
}

/** How often the structure of every domain is read again, by default (ms). */
export const DEFAULT_REFRESH_MS = 60_000;

/** Where the running domains' CPU times came from at the last `list()`. */
export interface CpuSourceCounts {
  readonly proc: number;
  readonly libvirt: number;
  /** Why the last domain on the libvirt source could not be read from /proc. */
  readonly why?: string;
}

/** Domains read from libvirt-dbus. */
export class LibvirtDomains implements Domains {
  private readonly started: StartTimes = new Map();
  private readonly identities = new Map<string, Identity>();
  /** The running domains' structures, by object path; undefined until the first full read. */
  private structures: Map<string, DomainStructure> | undefined;
  /** Paths whose structure a signal made stale. */
  private readonly dirty = new Set<string>();
  /** Paths whose structure (and libvirt's CPU times with it) this list() read. */
  private readonly justRead = new Set<string>();
  private refreshedAt = 0;
  private inflight: Promise<readonly DomainInfo[]> | undefined;
  private readonly proc: ProcCpuTimes;
  private counts: CpuSourceCounts = { proc: 0, libvirt: 0 };

  constructor(
    private readonly lv: LibvirtBus,
    private readonly events: ScopedEventBus,
    private readonly log: Logger,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
    procRoot = '/',
  ) {
    this.proc = new ProcCpuTimes(procRoot);
  }

  /** D-Bus calls made so far (for measurements: a steady `list()` should add none). */
  get dbusCalls(): number {
    return this.lv.calls;
  }

  /** True while libvirt's signals are subscribed (else starts and stops are found by `ListDomains`). */
  get subscribed(): boolean {
    return this.lv.subscribed;
  }

  /** Where CPU times came from at the last `list()` (for health). */
  get cpuSources(): CpuSourceCounts {
    return this.counts;
  }

  /** Every running domain; callers that overlap share one read. */
  list(): Promise<readonly DomainInfo[]> {
    this.inflight ??= this.readAll().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async readAll(): Promise<readonly DomainInfo[]> {
    this.justRead.clear();
    const structures = await this.currentStructures();
    const list = [...structures.values()];
    const at = Date.now();
    const times = await this.proc.read(list, true);
    const out: DomainInfo[] = [];
    let proc = 0;
    let why: string | undefined;
    for (const [i, known] of list.entries()) {
      let s = known;
      let t = times[i];
      if (t === undefined) {
        // Not readable from /proc: libvirt's figures (and pins), three calls.
        why = s.procUnreadable ?? `the threads of QEMU pid ${s.pid ?? '?'} cannot be read`;
        if (this.justRead.has(s.path)) t = s.libvirtTimes;
        else {
          const read = await readLibvirtTimes(this.lv, s.path, s.vcpus.length).catch(() => undefined);
          if (read === undefined) {
            // It stopped between two signals (or the signal is still on its way).
            this.forget(s.path);
            continue;
          }
          t = read.times;
          s = {
            ...s,
            vcpus: s.vcpus.map((v, k) => ({ ...v, pins: read.vcpuPins[k] ?? v.pins })),
            emulator: { ...s.emulator, pins: read.emulatorPins },
          };
          this.store(s);
        }
      } else proc++;
      out.push(domainInfo(s, t, this.startedAt(s.uuid), at));
    }
    this.counts = { proc, libvirt: out.length - proc, ...(why !== undefined ? { why } : {}) };
    return out;
  }

  /**
   * The structures to report: all read again when none are known, the refresh is due or no
   * subscription says what changed (then `ListDomains` finds starts and stops); otherwise only
   * those a signal made stale.
   */
  private async currentStructures(): Promise<Map<string, DomainStructure>> {
    // Signals missed while unsubscribed: everything is read again once subscribed.
    const missed = !this.lv.subscribed;
    if (missed)
      await this.lv
        .subscribe()
        .catch((e: unknown) =>
          this.log.debug({ err: e instanceof Error ? e.message : String(e) }, 'libvirt signals still not subscribed'),
        );
    const known = this.structures;
    const due = (missed && this.lv.subscribed) || Date.now() - this.refreshedAt >= this.refreshMs;
    if (known === undefined || due || !this.lv.subscribed) {
      // Signals that arrive during the reads stay for the next list().
      const stale = new Set(this.dirty);
      this.dirty.clear();
      const [paths] = await this.lv.libvirt(this.lv.connectPath, CONNECT, 'ListDomains', 'u', [1]); // ACTIVE
      const next = new Map<string, DomainStructure>();
      for (const path of Array.isArray(paths) ? (paths as string[]) : []) {
        const old = known?.get(path);
        const s = old !== undefined && !due && !stale.has(path) ? old : await this.reread(path, old);
        if (s) next.set(path, s);
      }
      for (const [path, s] of known ?? [])
        if (!next.has(path)) {
          this.proc.stopped(s);
          this.started.delete(s.uuid);
        }
      this.structures = next;
      if (due || known === undefined) this.refreshedAt = Date.now();
      return next;
    }
    for (const path of [...this.dirty]) {
      this.dirty.delete(path);
      const s = await this.reread(path, known.get(path));
      if (s === undefined) this.forget(path);
      else this.store(s);
    }
    return known;
  }

  /**
   * The structure at `path` read again; undefined when the domain no longer runs. When libvirt
   * does not answer, the structure known so far stays (and is read again next time): a slow
   * libvirt must not make a running VM vanish from the accounts.
   */
  private async reread(path: string, old: DomainStructure | undefined): Promise<DomainStructure | undefined> {
    try {
      return await this.readAt(path);
    } catch (e) {
      this.dirty.add(path);
      this.log.debug({ path, err: e instanceof Error ? e.message : String(e) }, 'domain structure not read; kept');
      return old;
    }
  }

  /**
   * The structure at `path` read now; undefined when it no longer runs.
   * @throws VpmdError when libvirt could not be asked
   */
  private async readAt(path: string): Promise<DomainStructure | undefined> {
    // A domain that stops between the list and its read is simply not listed.
    const s = await readStructure(this.lv, path).catch((e: unknown) => {
      if (notFound(e)) return undefined;
      throw e;
    });
    if (s === undefined) return undefined;
    this.justRead.add(path);
    this.identities.set(path, { uuid: s.uuid, name: s.name });
    const before = this.structures?.get(path);
    if (before !== undefined && before.pid !== s.pid) {
      // A new QEMU process: the domain restarted without our seeing its signals.
      this.proc.stopped(before);
      this.started.set(s.uuid, Date.now());
    } else this.proc.replaced(before, s);
    return s;
  }

  private store(s: DomainStructure): void {
    this.structures?.set(s.path, s);
  }

  private forget(path: string): void {
    const s = this.structures?.get(path);
    if (s === undefined) return;
    this.structures?.delete(path);
    this.proc.stopped(s);
    this.started.delete(s.uuid);
  }

  private startedAt(uuid: string): number {
    let t = this.started.get(uuid);
    if (t === undefined) this.started.set(uuid, (t = Date.now()));
    return t;
  }

  /** Where one domain's CPU times come from, once read. */
  cpuSourceOf(uuid: string): CpuSource | undefined {
    return this.proc.sourceOf(uuid);
  }

  async get(uuidOrName: string): Promise<DomainInfo | undefined> {
    try {
      const path = await this.pathOf(uuidOrName);
      return path === undefined ? undefined : await this.read(path);
    } catch {
      return undefined;
    }
  }

  /** The object path of a domain libvirt knows (running or defined); undefined when it knows none. */
  private async pathOf(uuidOrName: string): Promise<string | undefined> {
    const byUuid = UUID_RE.test(uuidOrName);
    try {
      const [path] = await this.lv.libvirt(
        this.lv.connectPath,
        CONNECT,
        byUuid ? 'DomainLookupByUUID' : 'DomainLookupByName',
        's',
        [byUuid ? uuidOrName.toLowerCase() : uuidOrName],
      );
      return typeof path === 'string' ? path : undefined;
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async lookup(uuidOrName: string): Promise<DomainIdentity | undefined> {
    const path = await this.pathOf(uuidOrName);
    if (path === undefined) return undefined;
    const [props] = await this.lv.libvirt(path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [
      'org.libvirt.Domain',
    ]);
    const p = (props ?? {}) as Record<string, unknown>;
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const id = { uuid: text(plain(p.UUID)).toLowerCase(), name: text(plain(p.Name)) };
    this.identities.set(path, id);
    return { ...id, active: plain(p.Active) === true };
  }

  async pinVcpu(uuidOrName: string, vcpu: number, cpus: readonly number[]): Promise<void> {
    if (!Number.isInteger(vcpu) || vcpu < 0)
      throw new VpmdError('E_LIBVIRT_DOMAINS_CALL', `vCPU ${vcpu} is not a vCPU number (an integer ≥ 0)`);
    if (cpus.length === 0 || cpus.some((c) => !Number.isInteger(c) || c < 0))
      throw new VpmdError('E_LIBVIRT_DOMAINS_CALL', `pins [${cpus.join(',')}] must be host CPU numbers (integers ≥ 0)`);
    const path = await this.pathOf(uuidOrName);
    if (path === undefined)
      throw new VpmdError('E_LIBVIRT_DOMAINS_NOT_FOUND', `libvirt knows no domain '${uuidOrName}'`);
    const map = Array.from({ length: Math.max(...cpus) + 1 }, (_, i) => cpus.includes(i));
    try {
      await this.lv.libvirt(path, 'org.libvirt.Domain', 'PinVcpu', 'uabu', [vcpu, map, AFFECT_LIVE_CONFIG]);
    } catch (e) {
      if (!(e instanceof VpmdError) || e.code !== 'E_LIBVIRT_DOMAINS_CALL') throw e;
      // Drivers that change only the current state (libvirt's Test driver) refuse LIVE|CONFIG.
      this.log.debug(
        { domain: uuidOrName, err: e.message },
        'PinVcpu LIVE|CONFIG refused; retrying on the current state',
      );
      await this.lv.libvirt(path, 'org.libvirt.Domain', 'PinVcpu', 'uabu', [vcpu, map, 0]);
    }
    // Drivers differ in whether they signal a re-pin: announce it here, consumers re-read pins.
    await this.emit({ kind: 'tunable', path }, 'repinned');
  }

  /** One domain read afresh (structure and CPU times), its cached structure replaced. */
  private async read(path: string): Promise<DomainInfo | undefined> {
    // Its path stays marked: the next list() reads it again, whatever this read raced with.
    const s = await this.readAt(path);
    if (s === undefined) {
      this.forget(path);
      return undefined;
    }
    this.store(s);
    const [t] = await this.proc.read([s], false);
    return domainInfo(s, t ?? s.libvirtTimes, this.startedAt(s.uuid), Date.now());
  }

  /** Gives back the kept-open /proc descriptors. */
  close(): void {
    this.proc.close();
  }

  vcpuQuota(uuid: string): Promise<VcpuQuota> {
    return readVcpuQuota(this.lv, uuid);
  }

  setVcpuQuota(uuid: string, quota: VcpuQuota): Promise<void> {
    return writeVcpuQuota(this.lv, uuid, quota);
  }

  /** Turns a libvirt signal into a lifecycle event (called by the bus listener). */
  onSignal(s: LibvirtSignal): void {
    this.dirty.add(s.path);
    const kind: DomainLifecycleKind | undefined = s.kind === 'tunable' ? 'repinned' : KIND_OF_EVENT[s.event];
    if (kind === undefined) return;
    void this.emit(s, kind).catch((e: unknown) =>
      this.log.warn({ err: e instanceof Error ? e.message : String(e), path: s.path }, 'domain event not delivered'),
    );
  }

  private async emit(s: LibvirtSignal, kind: DomainLifecycleKind): Promise<void> {
    const timestamp = Date.now();
    if (kind === 'stopped') {
      const id = this.identities.get(s.path) ?? (await this.identity(s.path));
      this.forget(s.path);
      if (!id) return;
      this.started.delete(id.uuid);
      const reason = s.kind === 'event' ? (s.event === 8 ? 'crashed' : STOPPED_REASON[s.detail]) : undefined;
      this.events.emit('domain.lifecycle.v1', { ...id, kind, ...(reason ? { reason } : {}), timestamp });
      return;
    }
    if (kind === 'started') {
      const id = await this.identity(s.path);
      if (id) this.started.set(id.uuid, timestamp);
    }
    const domain = await this.read(s.path);
    if (!domain) return;
    this.events.emit('domain.lifecycle.v1', { uuid: domain.uuid, name: domain.name, kind, domain, timestamp });
  }

  private async identity(path: string): Promise<Identity | undefined> {
    try {
      const [props] = await this.lv.libvirt(path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [
        'org.libvirt.Domain',
      ]);
      const p = (props ?? {}) as Record<string, unknown>;
      const text = (v: unknown): string => (typeof v === 'string' ? v : '');
      const id = { uuid: text(plain(p.UUID)).toLowerCase(), name: text(plain(p.Name)) };
      this.identities.set(path, id);
      return id;
    } catch {
      return undefined;
    }
  }
}
