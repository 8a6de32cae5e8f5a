/**
 * The `domains@1` provider: running domains read from libvirt-dbus on request, and libvirt's
 * domain signals turned into `domain.lifecycle.v1` events. Nothing is polled: `list()` and
 * `get()` read libvirt when called, and the events say when to call again.
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
import { plain, readDomain, type StartTimes } from './domain-reader.js';
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

/** Domains read from libvirt-dbus. */
export class LibvirtDomains implements Domains {
  private readonly started: StartTimes = new Map();
  private readonly identities = new Map<string, Identity>();

  constructor(
    private readonly lv: LibvirtBus,
    private readonly events: ScopedEventBus,
    private readonly log: Logger,
  ) {}

  async list(): Promise<readonly DomainInfo[]> {
    const [paths] = await this.lv.libvirt(this.lv.connectPath, CONNECT, 'ListDomains', 'u', [1]); // ACTIVE
    const out: DomainInfo[] = [];
    for (const path of Array.isArray(paths) ? (paths as string[]) : []) {
      // A domain that stops between the list and its read is simply not listed.
      const d = await this.read(path).catch(() => undefined);
      if (d) out.push(d);
    }
    return out;
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

  private async read(path: string): Promise<DomainInfo | undefined> {
    const d = await readDomain(this.lv, path, this.started);
    if (d) this.identities.set(path, { uuid: d.uuid, name: d.name });
    return d;
  }

  vcpuQuota(uuid: string): Promise<VcpuQuota> {
    return readVcpuQuota(this.lv, uuid);
  }

  setVcpuQuota(uuid: string, quota: VcpuQuota): Promise<void> {
    return writeVcpuQuota(this.lv, uuid, quota);
  }

  /** Turns a libvirt signal into a lifecycle event (called by the bus listener). */
  onSignal(s: LibvirtSignal): void {
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
