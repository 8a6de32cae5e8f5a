/**
 * Domains (running VMs) as the host sees them: provided once, by whichever plugin talks to
 * libvirt (libvirt-dbus), and consumed by every plugin that needs a VM's identity, threads or
 * CPU time (energy attribution, guest channels, Prometheus, Redfish, SNMP), so no plugin maps
 * libvirt on its own and none imports another. Lifecycle changes arrive as the core event
 * `domain.lifecycle.v1` (see `core/contracts/events.ts`), which the provider emits.
 *
 * Where the facts come from (libvirt, see docs/architecture.md): `GetStats` (`cpu.time`,
 * `vcpu.N.time`, `vcpu.N.state`), `GetVcpuPinInfo`/`GetVcpus`, `GetEmulatorPinInfo`,
 * `GetMetadata` (Nova's `<nova:instance>`, vpmd's own element), the `DomainEvent` signal, and
 * the QEMU process's `/proc/<pid>/task/<tid>` or the domain's cgroup `cpu.stat`.
 */
import { defineCapability } from '../kernel/capabilities.js';

/** Nova's `<nova:instance>` metadata namespace (OpenStack compute writes it into each domain). */
export const NOVA_METADATA_NAMESPACE = 'http://openstack.org/xmlns/libvirt/nova/1.1';

/**
 * vpmd's own metadata namespace: `<vpmd:power latency-class="realtime"/>` in the domain's
 * `<metadata>` names its latency class.
 */
export const VPMD_METADATA_NAMESPACE = 'urn:vpmd:libvirt:power:1';

/** What OpenStack Nova recorded in the domain's metadata; present only for Nova-managed domains. */
export interface NovaMetadata {
  /** The Nova instance id. Nova uses the domain UUID as the instance UUID (lower-case, with dashes). */
  readonly instanceId: string;
  /** The owning project's id (`<nova:owner><nova:project uuid>`), when recorded. */
  readonly projectId?: string;
  /** The owning project's name (`<nova:project>` text), when recorded. */
  readonly projectName?: string;
  /** The owning user's id (`<nova:owner><nova:user uuid>`), when recorded. */
  readonly userId?: string;
  /** The flavor's name (`<nova:flavor name>`), when recorded. */
  readonly flavor?: string;
}

/** Facts from the domain's `<metadata>` that identify or classify it. */
export interface DomainMetadata {
  /** The domain's `<title>`, when set. */
  readonly title?: string;
  /** Nova's metadata, when the domain carries `<nova:instance>` ({@link NOVA_METADATA_NAMESPACE}). */
  readonly nova?: NovaMetadata;
  /**
   * The latency class the metadata names (the `latency-class` attribute of vpmd's element,
   * {@link VPMD_METADATA_NAMESPACE}), e.g. `realtime`, `interactive`, `batch`; absent when not named.
   * Policies decide what a class means; the provider passes the string through unchanged.
   */
  readonly latencyClass?: string;
}

/** A vCPU's scheduling state as libvirt reports it (`vcpu.N.state`). */
export type VcpuState = 'running' | 'blocked' | 'offline';

/** One vCPU of a running domain. */
export interface DomainVcpu {
  /** The vCPU's number inside the guest (0-based). */
  readonly index: number;
  /** The host thread id (Linux TID) of the QEMU thread running this vCPU; null while unknown (offline vCPU). */
  readonly threadId: number | null;
  /** Host logical CPU numbers this vCPU may run on (its affinity), ascending; every host CPU when unpinned. */
  readonly pins: readonly number[];
  /** The host logical CPU it last ran on, when known. */
  readonly currentCpu?: number;
  /** Cumulative CPU time of the vCPU thread since the domain started, in microseconds (monotonic while it runs). */
  readonly cpuTimeUs: number;
  readonly state: VcpuState;
}

/** The domain's emulator: the QEMU threads that are not vCPU threads (main loop, I/O threads, workers). */
export interface DomainEmulator {
  /** Host thread ids (Linux TIDs) of the emulator threads, ascending. */
  readonly threadIds: readonly number[];
  /** Host logical CPU numbers the emulator threads may run on, ascending. */
  readonly pins: readonly number[];
  /** Cumulative CPU time of all emulator threads since the domain started, in microseconds. */
  readonly cpuTimeUs: number;
}

/**
 * One virtio-serial channel of a domain backed by a host UNIX socket (`<channel type='unix'>`
 * in the live XML): QEMU listens on (`mode='bind'`) or connects to `path`, and the guest sees the
 * port named `target` (`org.qemu.guest_agent.0`, DPDK's `virtio.serial.port.poweragent.N`).
 * Added in domains@1 without a version change (an optional field); see {@link DomainInfo.channels}.
 */
export interface DomainChannel {
  /** The port name the guest sees (`<target name>`). */
  readonly target: string;
  /** The host socket path (`<source path>`). */
  readonly path: string;
}

/** A domain's run state; domains that are shut off are not listed. */
export type DomainState = 'running' | 'paused' | 'pmsuspended';

/** One running domain, as sampled at {@link DomainInfo.sampledAt}. */
export interface DomainInfo {
  /** The domain's UUID, lower-case with dashes: its stable identity (names can be reused). */
  readonly uuid: string;
  /** The domain's libvirt name. */
  readonly name: string;
  readonly state: DomainState;
  /** The process id of its QEMU process on the host, when known. */
  readonly pid?: number;
  /** When the domain last started, in milliseconds since the Unix epoch; CPU times count from here. */
  readonly startedAt: number;
  readonly metadata: DomainMetadata;
  /** Its vCPUs, by index. */
  readonly vcpus: readonly DomainVcpu[];
  readonly emulator: DomainEmulator;
  /**
   * Its UNIX-socket virtio-serial channels, in XML order. Absent when the provider does not read
   * them (an older provider); an empty list when the domain has none.
   */
  readonly channels?: readonly DomainChannel[];
  /** When the CPU times and pins were read, in milliseconds since the Unix epoch. */
  readonly sampledAt: number;
}

/** What changed in a domain's life (`domain.lifecycle.v1`). */
export type DomainLifecycleKind =
  | 'started' // began running (boot, restore, incoming migration finished)
  | 'stopped' // stopped running (shutdown, destroy, crash, outgoing migration); its CPU times end
  | 'paused'
  | 'resumed'
  | 'pmsuspended' // the guest suspended itself (S3/S4 inside the VM)
  | 'repinned' // a vCPU's or the emulator's host CPU affinity changed
  | 'vcpus-changed' // vCPUs were hot-plugged or unplugged
  | 'metadata-changed'; // title, Nova or vpmd metadata changed

/** Payload of the core event `domain.lifecycle.v1`. */
export interface DomainLifecycleEvent {
  readonly uuid: string;
  readonly name: string;
  readonly kind: DomainLifecycleKind;
  /** libvirt's detail when it gives one (`shutdown`, `crashed`, `migrated`, `destroyed`...). */
  readonly reason?: string;
  /** The domain after the change; absent for `stopped`. */
  readonly domain?: DomainInfo;
  /** When the change was observed, in milliseconds since the Unix epoch. */
  readonly timestamp: number;
}

/** A domain's CPU bandwidth per vCPU (libvirt `vcpu_quota`/`vcpu_period`, µs; quota −1 = unlimited). */
export interface VcpuQuota {
  readonly quotaUs: number;
  readonly periodUs: number;
}

/** A domain libvirt knows, running or only defined (see {@link Domains.lookup}). */
export interface DomainIdentity {
  readonly uuid: string;
  readonly name: string;
  /** True when it runs (or is paused or guest-suspended): {@link Domains.get} then returns it. */
  readonly active: boolean;
}

/**
 * The domains capability.
 *
 * Versioning: `domains@1` grows only by optional members (a consumer checks that an optional
 * method exists before calling it, and treats an absent optional field as "not known"); a
 * change that removes or retypes a member is `domains@2`. Optional members so far:
 * {@link DomainInfo.channels}, {@link Domains.lookup}, {@link Domains.pinVcpu},
 * {@link Domains.vcpuQuota}, {@link Domains.setVcpuQuota}.
 */
export interface Domains {
  /** Every running (or paused, or guest-suspended) domain, CPU times and pins read now. */
  list(): Promise<readonly DomainInfo[]>;
  /** One domain by UUID (any case) or name; undefined when no such domain runs. */
  get(uuidOrName: string): Promise<DomainInfo | undefined>;
  /**
   * Whether libvirt knows a domain by UUID (any case) or name, running or only defined
   * (`virsh list --all`): what DPDK's `add_vm` checks. Undefined when it does not.
   * @throws VpmdError when the provider cannot ask (libvirt-dbus unreachable): unknown is not "no".
   */
  lookup?(uuidOrName: string): Promise<DomainIdentity | undefined>;
  /**
   * Pins one vCPU of a domain to host CPUs (`virDomainPinVcpuFlags`, live and persistent where
   * the driver allows, else live only), as `virsh vcpupin` does. The provider emits
   * `domain.lifecycle.v1` `repinned` once libvirt reports the change. The caller checks the
   * privilege and audits (the provider has no principal).
   * @throws VpmdError when the domain does not run, the vCPU does not exist or libvirt refuses.
   */
  pinVcpu?(uuidOrName: string, vcpu: number, cpus: readonly number[]): Promise<void>;
  /**
   * A running domain's vCPU bandwidth (`GetSchedulerParameters`, live).
   * @throws VpmdError when the domain does not run or the driver cannot say (libvirt's reason in the message)
   */
  vcpuQuota?(uuid: string): Promise<VcpuQuota>;
  /**
   * Sets a running domain's vCPU bandwidth (`SetSchedulerParameters` `vcpu_quota`/`vcpu_period`,
   * live only). The caller checks privileges, audits, and keeps the value it found to put back.
   * @throws VpmdError when the domain does not run or libvirt refuses (its reason in the message)
   */
  setVcpuQuota?(uuid: string, quota: VcpuQuota): Promise<void>;
}

/** Token of {@link Domains}. */
export const DOMAINS = defineCapability<Domains>('domains@1');
