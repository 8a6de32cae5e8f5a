/**
 * `domains@1` on a simulated host (`plugins.libvirt-domains.source: simulated`): the simulator
 * describes its running VMs in `run/vpmd-sim/domains.json` (what libvirt would report: UUID,
 * name, QEMU pid, pins, Nova metadata) and their threads' CPU time is read from
 * `/proc/<pid>/task/<tid>/stat` (utime + stime, field 39 = the CPU it last ran on), all through
 * the host model's backend, as on a real host. Lifecycle events come from comparing the
 * running set on each `list()` and on a 1 s poll (the simulator has no signal to wait for).
 */
import {
  VpmdError,
  type DomainIdentity,
  type DomainInfo,
  type DomainLifecycleKind,
  type Domains,
  type HostModel,
  type ScopedEventBus,
} from 'vpmd';

/** The simulator's description file and its format (core/sim/sim-vm-files.ts). */
export const SIM_DOMAINS_FILE = 'run/vpmd-sim/domains.json';
const SIM_DOMAINS_FORMAT = 'vpmd-sim-domains/1';
const TICK_US = 10_000;

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

/** Parses a task's `stat`: CPU time in µs and the CPU it last ran on. */
export function parseTaskStat(text: string): { cpuTimeUs: number; cpu: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the command name start at field 3 (state).
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const cpu = Number(f[36]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { cpuTimeUs: (utime + stime) * TICK_US, cpu: Number.isInteger(cpu) ? cpu : -1 };
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

  constructor(
    private readonly host: HostModel,
    private readonly events: ScopedEventBus | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private async task(pid: number, tid: number): Promise<{ cpuTimeUs: number; cpu: number }> {
    const text = await this.host.backend.read(`proc/${pid}/task/${tid}/stat`).catch(() => '');
    return parseTaskStat(text) ?? { cpuTimeUs: 0, cpu: -1 };
  }

  private async read(d: Described, sampledAt: number): Promise<DomainInfo> {
    const vcpus = await Promise.all(
      d.vcpus.map(async (v) => {
        const t = await this.task(d.pid, v.tid);
        return {
          index: v.index,
          threadId: v.tid,
          pins: v.pins,
          ...(t.cpu >= 0 ? { currentCpu: t.cpu } : {}),
          cpuTimeUs: t.cpuTimeUs,
          state: 'running' as const,
        };
      }),
    );
    const emu = await Promise.all(d.emulator.tids.map((tid) => this.task(d.pid, tid)));
    return {
      uuid: d.uuid,
      name: d.name,
      state: 'running',
      pid: d.pid,
      startedAt: d.startedAt,
      metadata: d.nova === undefined ? {} : { nova: d.nova },
      vcpus,
      emulator: {
        threadIds: d.emulator.tids,
        pins: d.emulator.pins,
        cpuTimeUs: emu.reduce((a, t) => a + t.cpuTimeUs, 0),
      },
      channels: (d.channels ?? []).map((c) => ({ target: c.target, path: c.path })),
      sampledAt,
    };
  }

  async list(): Promise<readonly DomainInfo[]> {
    const described = describedList(await this.host.backend.read(SIM_DOMAINS_FILE));
    const at = this.now();
    const out = await Promise.all(described.map((d) => this.read(d, at)));
    this.announce(out);
    return out;
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
