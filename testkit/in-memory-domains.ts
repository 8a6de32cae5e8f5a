/**
 * An in-memory `domains@1` provider for plugin authors' tests: domains are described by the
 * test, not read from libvirt, and the test drives their life (start, stop, repin, burn CPU
 * time) while the plugin under test sees exactly what a real provider gives it, lifecycle
 * events on the bus included. For tests against libvirt itself, start the libvirt-dbus peer.
 */
import { Type } from '@sinclair/typebox';
import { VpmdError } from '../core/errors.js';
import { definePlugin, type PluginManifest } from '../core/kernel/plugin-contract.js';
import type { ScopedEventBus } from '../core/services/event-bus.js';
import {
  DOMAINS,
  type DomainChannel,
  type DomainEmulator,
  type DomainIdentity,
  type DomainInfo,
  type DomainLifecycleKind,
  type DomainMetadata,
  type Domains,
  type DomainVcpu,
} from '../core/contracts/domains.js';

/** What a test states about a domain; the rest gets defaults (running, started now, no CPU time). */
export interface DomainSpec {
  readonly uuid: string;
  readonly name: string;
  readonly state?: DomainInfo['state'];
  readonly pid?: number;
  readonly metadata?: DomainMetadata;
  /** One entry per vCPU: its host thread id and pins (default: thread 10000 + index, pinned to CPU 0). */
  readonly vcpus: ReadonlyArray<{ readonly threadId?: number | null; readonly pins?: readonly number[] }>;
  readonly emulator?: Partial<Pick<DomainEmulator, 'threadIds' | 'pins'>>;
  /** Its UNIX-socket virtio-serial channels (default: not stated, `channels` absent). */
  readonly channels?: readonly DomainChannel[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkCpus(what: string, cpus: readonly number[]): readonly number[] {
  for (const c of cpus)
    if (!Number.isInteger(c) || c < 0)
      throw new VpmdError('E_PEER_OPTIONS', `${what}: host CPU numbers are integers ≥ 0, got ${c}`, { what });
  return [...cpus].sort((a, b) => a - b);
}

/** The in-memory provider: the {@link Domains} the plugins see, plus the controls a test drives. */
export class InMemoryDomains implements Domains {
  private readonly running = new Map<string, DomainInfo>();
  private events: ScopedEventBus | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  list(): Promise<readonly DomainInfo[]> {
    return Promise.resolve([...this.running.values()].map((d) => ({ ...d, sampledAt: this.now() })));
  }

  get(uuidOrName: string): Promise<DomainInfo | undefined> {
    const key = uuidOrName.toLowerCase();
    const d = this.running.get(key) ?? [...this.running.values()].find((x) => x.name === uuidOrName);
    return Promise.resolve(d ? { ...d, sampledAt: this.now() } : undefined);
  }

  /** Only running domains are known here: a stopped one is forgotten. */
  lookup(uuidOrName: string): Promise<DomainIdentity | undefined> {
    return this.get(uuidOrName).then((d) => (d ? { uuid: d.uuid, name: d.name, active: true } : undefined));
  }

  /** A plugin's pin write: as {@link repin}, by UUID or name. */
  async pinVcpu(uuidOrName: string, vcpu: number, cpus: readonly number[]): Promise<void> {
    const d = await this.get(uuidOrName);
    if (!d) throw new VpmdError('E_PEER_OPTIONS', `no running domain ${uuidOrName}`, { uuid: uuidOrName });
    this.repin(d.uuid, vcpu, cpus);
  }

  /** Lifecycle events go to this bus (the provider plugin attaches its own at register). */
  attach(events: ScopedEventBus | undefined): void {
    this.events = events;
  }

  /**
   * Starts a domain described by `spec` and announces `started`.
   * @throws VpmdError E_PEER_OPTIONS for a malformed UUID, a domain already running, no vCPUs or bad CPU numbers.
   */
  start(spec: DomainSpec): DomainInfo {
    const uuid = spec.uuid.toLowerCase();
    if (!UUID.test(uuid))
      throw new VpmdError('E_PEER_OPTIONS', `domain ${spec.name}: uuid '${spec.uuid}' is not a UUID`, {
        uuid: spec.uuid,
      });
    if (this.running.has(uuid))
      throw new VpmdError('E_PEER_OPTIONS', `domain ${spec.name}: ${uuid} is already running`, { uuid });
    if (spec.vcpus.length === 0)
      throw new VpmdError('E_PEER_OPTIONS', `domain ${spec.name}: needs at least one vCPU`, { uuid });
    const t = this.now();
    const vcpus: DomainVcpu[] = spec.vcpus.map((v, index) => ({
      index,
      threadId: v.threadId === undefined ? 10000 + index : v.threadId,
      pins: checkCpus(`domain ${spec.name} vcpu ${index} pins`, v.pins ?? [0]),
      cpuTimeUs: 0,
      state: 'running',
    }));
    const d: DomainInfo = {
      uuid,
      name: spec.name,
      state: spec.state ?? 'running',
      ...(spec.pid !== undefined ? { pid: spec.pid } : {}),
      startedAt: t,
      metadata: spec.metadata ?? {},
      vcpus,
      emulator: {
        threadIds: [...(spec.emulator?.threadIds ?? [])].sort((a, b) => a - b),
        pins: checkCpus(`domain ${spec.name} emulator pins`, spec.emulator?.pins ?? [0]),
        cpuTimeUs: 0,
      },
      ...(spec.channels !== undefined ? { channels: [...spec.channels] } : {}),
      sampledAt: t,
    };
    this.running.set(uuid, d);
    this.announce(d, 'started');
    return d;
  }

  /** Stops a running domain and announces `stopped` (with `reason`, default `shutdown`). */
  stop(uuid: string, reason = 'shutdown'): void {
    const d = this.must(uuid);
    this.running.delete(d.uuid);
    this.events?.emit('domain.lifecycle.v1', {
      uuid: d.uuid,
      name: d.name,
      kind: 'stopped',
      reason,
      timestamp: this.now(),
    });
  }

  /** Moves a vCPU (by index) or the emulator (`'emulator'`) to other host CPUs and announces `repinned`. */
  repin(uuid: string, what: number | 'emulator', pins: readonly number[]): void {
    const d = this.must(uuid);
    const sorted = checkCpus(`domain ${d.name} pins`, pins);
    if (what !== 'emulator' && !d.vcpus.some((v) => v.index === what))
      throw new VpmdError('E_PEER_OPTIONS', `domain ${d.name} has no vCPU ${what}`, { uuid: d.uuid });
    const next: DomainInfo =
      what === 'emulator'
        ? { ...d, emulator: { ...d.emulator, pins: sorted } }
        : { ...d, vcpus: d.vcpus.map((v) => (v.index === what ? { ...v, pins: sorted } : v)) };
    this.running.set(d.uuid, next);
    this.announce(next, 'repinned');
  }

  /** Adds CPU time to a vCPU (by index) or the emulator, in microseconds (no event: CPU time is sampled). */
  burn(uuid: string, what: number | 'emulator', us: number): void {
    const d = this.must(uuid);
    if (!Number.isFinite(us) || us < 0)
      throw new VpmdError('E_PEER_OPTIONS', `burn: CPU time is microseconds ≥ 0, got ${us}`, { uuid: d.uuid });
    const next: DomainInfo =
      what === 'emulator'
        ? { ...d, emulator: { ...d.emulator, cpuTimeUs: d.emulator.cpuTimeUs + us } }
        : { ...d, vcpus: d.vcpus.map((v) => (v.index === what ? { ...v, cpuTimeUs: v.cpuTimeUs + us } : v)) };
    this.running.set(d.uuid, next);
  }

  private must(uuid: string): DomainInfo {
    const d = this.running.get(uuid.toLowerCase());
    if (!d) throw new VpmdError('E_PEER_OPTIONS', `no running domain ${uuid}`, { uuid });
    return d;
  }

  private announce(d: DomainInfo, kind: DomainLifecycleKind): void {
    this.events?.emit('domain.lifecycle.v1', { uuid: d.uuid, name: d.name, kind, domain: d, timestamp: this.now() });
  }
}

/**
 * A plugin (default name `test-domains`) that provides `domains@1` from `domains`, for
 * `bootAgent({ plugins: [inMemoryDomainsPlugin(domains), yourPlugin] })`.
 */
export function inMemoryDomainsPlugin(domains: InMemoryDomains, name = 'test-domains'): PluginManifest {
  return definePlugin({
    name,
    version: '1.0.0',
    description: 'in-memory domains@1 provider (vpmd/testkit)',
    coreApi: '^1.2.0',
    config: Type.Object({}),
    provides: [DOMAINS.id],
    register(ctx) {
      return {
        start() {
          domains.attach(ctx.events);
          ctx.capabilities.provide(DOMAINS, domains);
        },
        stop() {
          domains.attach(undefined);
        },
      };
    },
  });
}
