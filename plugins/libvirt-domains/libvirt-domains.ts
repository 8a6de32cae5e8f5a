/**
 * The `domains@1` provider: running domains read from libvirt-dbus on request, and libvirt's
 * domain signals turned into `domain.lifecycle.v1` events. Nothing is polled: `list()` and
 * `get()` read libvirt when called, and the events say when to call again.
 */
import type { DomainInfo, DomainLifecycleKind, Domains, Logger, ScopedEventBus } from 'vpmd';
import { CONNECT, type LibvirtBus, type LibvirtSignal } from './libvirt-bus.js';
import { readDomain, type StartTimes } from './domain-reader.js';

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
    const byUuid = /^[0-9a-f-]{36}$/i.test(uuidOrName);
    try {
      const [path] = await this.lv.libvirt(
        this.lv.connectPath,
        CONNECT,
        byUuid ? 'DomainLookupByUUID' : 'DomainLookupByName',
        's',
        [byUuid ? uuidOrName.toLowerCase() : uuidOrName],
      );
      return typeof path === 'string' ? await this.read(path) : undefined;
    } catch {
      return undefined;
    }
  }

  private async read(path: string): Promise<DomainInfo | undefined> {
    const d = await readDomain(this.lv, path, this.started);
    if (d) this.identities.set(path, { uuid: d.uuid, name: d.name });
    return d;
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
      const p = (props ?? {}) as Record<string, { value?: unknown }>;
      const text = (v: unknown): string => (typeof v === 'string' ? v : '');
      const id = { uuid: text(p.UUID?.value).toLowerCase(), name: text(p.Name?.value) };
      this.identities.set(path, id);
      return id;
    } catch {
      return undefined;
    }
  }
}
