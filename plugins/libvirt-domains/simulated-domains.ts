/**
 * `domains@1` on a simulated host (`plugins.libvirt-domains.source: simulated`): the simulator
 * describes its running VMs in `run/vpmd-sim/domains.json` (what libvirt would report: UUID,
 * name, QEMU pid, pins, Nova metadata) and their threads' CPU time is read from
 * `/proc/<pid>/task/<tid>/schedstat` by the host model's {@link ThreadCpuReader} (kept-open
 * descriptors re-read each interval; `stat` where the kernel has no schedstat), as on a real
 * host. A thread that cannot be read keeps its last value for that reading (its time is counted
 * in the next one) instead of dropping to 0. Lifecycle events come from comparing the
 * running set on each `list()` and on a 1 s poll (the simulator has no signal to wait for).
 */
import {
  KeptOpenFiles,
  ThreadCpuReader,
  VpmdError,
  type DomainIdentity,
  type DomainInfo,
  type DomainLifecycleKind,
  type Domains,
  type HostModel,
  type ScopedEventBus,
  type ThreadRef,
} from 'vpmd';

/** The simulator's description file and its format (core/sim/sim-vm-files.ts). */
export const SIM_DOMAINS_FILE = 'run/vpmd-sim/domains.json';
const SIM_DOMAINS_FORMAT = 'vpmd-sim-domains/1';

interface Described {
  readonly uuid: string;
  readonly name: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly nova?: { readonly instanceId: string; readonly projectId?: string };
  readonly vcpus: ReadonlyArray<{ readonly index: number; readonly tid: number; readonly pins: readonly number[] }>;
  readonly emulator: { readonly tids: readonly number[]; readonly pins: readonly number[] };
  /** UNIX-socket virtio-serial channels, when the simulator describes them. */
  readonly channels?: ReadonlyArray<{ readonly target: string; readonly path: string }>;
}

function describedList(text: string): Described[] {
  const raw = JSON.parse(text) as { format?: unknown; domains?: unknown };
  if (raw.format !== SIM_DOMAINS_FORMAT || !Array.isArray(raw.domains))
    throw new VpmdError('E_HOST_PARSE', `${SIM_DOMAINS_FILE}: expected format ${SIM_DOMAINS_FORMAT}`);
  return raw.domains as Described[];
}

/** Domains of the simulated host. */
export class SimulatedDomains implements Domains {
  private known = new Map<string, string>();
  private readonly threads: ThreadCpuReader;
  private readonly description: KeptOpenFiles;
  /**
   * The description as last parsed (it changes only when VMs start, stop or move), its threads
   * in reading order, and each thread's last CPU time read (NaN: none yet): what an unreadable
   * thread reports meanwhile.
   */
  private described:
    { readonly list: Described[]; readonly refs: ThreadRef[]; readonly lastUs: Float64Array } | undefined;
  private inflight: Promise<readonly DomainInfo[]> | undefined;

  constructor(
    private readonly host: HostModel,
    private readonly events: ScopedEventBus | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.threads = new ThreadCpuReader(host.backend);
    this.description = new KeptOpenFiles(host.backend);
  }

  /**
   * The description, parsed again only when its bytes changed (it is read through a kept-open
   * descriptor on a real tree every interval; it changes only when VMs start, stop or move).
   */
  private async describedNow(): Promise<Described[]> {
    const read = await this.description.readIfChanged(SIM_DOMAINS_FILE);
    const prev = this.described;
    if (read === 'unchanged' && prev !== undefined) return prev.list;
    // Unreadable: read once more through the backend for its coded error.
    const text = typeof read === 'object' ? read.text : await this.host.backend.read(SIM_DOMAINS_FILE);
    const list = describedList(text);
    const refs: ThreadRef[] = [];
    for (const d of list) {
      for (const v of d.vcpus) refs.push({ pid: d.pid, tid: v.tid });
      for (const tid of d.emulator.tids) refs.push({ pid: d.pid, tid });
    }
    const lastUs = new Float64Array(refs.length).fill(Number.NaN);
    if (prev !== undefined) {
      const before = new Map(prev.refs.map((r, i) => [r.tid, prev.lastUs[i] as number]));
      refs.forEach((r, i) => (lastUs[i] = before.get(r.tid) ?? Number.NaN));
    }
    this.described = { list, refs, lastUs };
    return list;
  }

  /** Every running domain; callers that overlap share one read of the threads. */
  list(): Promise<readonly DomainInfo[]> {
    this.inflight ??= this.readAll().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * The lifecycle poll: reads only the description and, when the running set changed, lists
   * (which announces). Thread CPU times are not read for nothing.
   */
  async poll(): Promise<void> {
    const described = await this.describedNow();
    const same = described.length === this.known.size && described.every((d) => this.known.has(d.uuid));
    if (!same) await this.list();
  }

  private async readAll(): Promise<readonly DomainInfo[]> {
    const described = await this.describedNow();
    const { refs, lastUs } = this.described as NonNullable<typeof this.described>;
    const at = this.now();
    const times = await this.threads.read(refs);
    let i = 0;
    const next = (): number => {
      const before = lastUs[i] ?? Number.NaN;
      const us: number = times[i] ?? (Number.isNaN(before) ? 0 : before);
      lastUs[i++] = us;
      return Math.floor(us);
    };
    const out = described.map((d): DomainInfo => {
      const vcpus = d.vcpus.map((v) => ({
        index: v.index,
        threadId: v.tid,
        pins: v.pins,
        cpuTimeUs: next(),
        state: 'running' as const,
      }));
      let emulatorUs = 0;
      for (let k = 0; k < d.emulator.tids.length; k++) emulatorUs += next();
      return {
        uuid: d.uuid,
        name: d.name,
        state: 'running',
        pid: d.pid,
        startedAt: d.startedAt,
        metadata: d.nova === undefined ? {} : { nova: d.nova },
        vcpus,
        emulator: { threadIds: d.emulator.tids, pins: d.emulator.pins, cpuTimeUs: emulatorUs },
        channels: (d.channels ?? []).map((c) => ({ target: c.target, path: c.path })),
        sampledAt: at,
      };
    });
    this.announce(out);
    return out;
  }

  /** Gives back the kept-open descriptors (the source reopens them if listed again). */
  close(): void {
    this.threads.close();
    this.description.close();
  }

  async get(uuidOrName: string): Promise<DomainInfo | undefined> {
    const key = uuidOrName.toLowerCase();
    return (await this.list()).find((d) => d.uuid === key || d.name === uuidOrName);
  }

  /** The simulator defines only the domains it runs. */
  async lookup(uuidOrName: string): Promise<DomainIdentity | undefined> {
    const d = await this.get(uuidOrName);
    return d === undefined ? undefined : { uuid: d.uuid, name: d.name, active: true };
  }

  /** Emits `started`/`stopped` for changes of the running set since the last look. */
  announce(list: readonly DomainInfo[]): void {
    const next = new Map(list.map((d) => [d.uuid, d.name]));
    const emit = (uuid: string, name: string, kind: DomainLifecycleKind, domain?: DomainInfo): void =>
      this.events?.emit('domain.lifecycle.v1', {
        uuid,
        name,
        kind,
        ...(domain === undefined ? {} : { domain }),
        ...(kind === 'stopped' ? { reason: 'shutdown' } : {}),
        timestamp: this.now(),
      });
    for (const d of list) if (!this.known.has(d.uuid)) emit(d.uuid, d.name, 'started', d);
    for (const [uuid, name] of this.known) if (!next.has(uuid)) emit(uuid, name, 'stopped');
    this.known = next;
  }
}
