/**
 * The plugin's state and what runs on it: VMs and their channels (links to QEMU's sockets), the
 * vCPU map from `domains@1` (read when VMs and channels are added and periodically, patched from
 * domain lifecycle events, unlike DPDK which reads it once), host bounds, persistence of
 * everything an operator set, and the serving of guests' and JSON FIFOs' requests. Starting is
 * in service-start.ts, the operator's commands in vm-commands.ts.
 */
import {
  VpmdError,
  type AccessPolicy,
  type CpuLimits,
  type DomainLifecycleEvent,
  type HostModel,
  type Logger,
  type PcpuBounds,
  type RaiseDenial,
  type StateStore,
} from 'vpmd';
import type { Backoff } from './channel/channel-link.js';
import { ChannelLinks } from './channel/channel-links.js';
import { Dispatcher, type MessageBudget } from './channel/dispatcher.js';
import type { DomainMap } from './mapping/domain-map.js';
import { syncVcpuMaps } from './mapping/vcpu-map-sync.js';
import { Actuator, type ChangeLimit } from './power/actuator.js';
import { PowerControl, type OperatorOutcome } from './power/power-control.js';
import type { Bounds } from './power/precedence.js';
import { HostLimits } from './power/host-limits.js';
import { RegistrySaver } from './registry-saver.js';
import { handleFrame, type HandlerDeps } from './request-handler.js';
import { newVm, vmToState, type VmRecord } from './vm-registry.js';

/** Settings of the service (from the plugin config). */
export interface ServiceOptions {
  readonly dir: string;
  readonly backoff: Backoff;
  /** Frequency changes per pCPU (cpufreq policy). */
  readonly changeLimit: ChangeLimit;
  /** Messages per channel. */
  readonly messageBudget: MessageBudget;
  readonly maxAffinity: number;
  readonly maxChannels: number;
}

/** VMs, channels, mapping and actuation. */
export class ChannelService {
  readonly vms = new Map<string, VmRecord>();
  readonly actuator: Actuator;
  readonly control: PowerControl;
  readonly deps: HandlerDeps;
  /** The links of every VM's channels. */
  readonly links: ChannelLinks;
  /** Operator bounds per pCPU (`set_pcpu_bounds`, config `pcpuBounds`), persisted. */
  readonly pcpuBoundsByCpu = new Map<number, Bounds>();
  /** Operator bounds merged with the core's cpu-limits@1. */
  readonly hostLimits: HostLimits;
  private unsubscribeLimits: (() => void) | undefined;
  /** Why each VM's last request was clamped, until a reply reports it ({@link takeClamp}). */
  private readonly lastClamp = new WeakMap<VmRecord, string>();
  /** Why each VM's last request was denied (a raise denial), until a reply reports it ({@link takeDenial}). */
  private readonly lastDenial = new WeakMap<VmRecord, string>();
  private foreign = new Map<number, number>();
  /** Serves every channel's queue in turn. */
  readonly dispatcher: Dispatcher;
  /** Host policies from DPDK-dialect JSON FIFOs, one pseudo VM `fifoN` per core (not persisted, as DPDK). */
  readonly fifoVms = new Map<number, VmRecord>();
  private readonly saver: RegistrySaver;
  private stopped = false;

  constructor(
    readonly opts: ServiceOptions,
    host: HostModel,
    readonly state: StateStore,
    readonly mapper: DomainMap | undefined,
    readonly log: Logger,
    access: AccessPolicy,
    limits?: CpuLimits,
  ) {
    this.hostLimits = new HostLimits(limits, (pcpu) => this.pcpuBoundsByCpu.get(pcpu), log);
    this.saver = new RegistrySaver(state, log, () => ({
      vms: [...this.vms.values()].map(vmToState),
      pcpuBounds: [...this.pcpuBoundsByCpu].map(([pcpu, b]) => ({ pcpu, ...b })),
      saved: this.actuator.savedPolicies().map((s) => ({ ...s })),
    }));
    // Originals are saved in the background: the first change of a policy never waits for disk.
    this.actuator = new Actuator(
      host,
      log,
      () => {
        // Policies the actuator drives are held: the core stops writing their limits.
        const cpus = new Set(this.actuator.savedPolicies().flatMap((s) => this.actuator.cpusOfPolicy(s.policy)));
        this.hostLimits.syncHolds(cpus);
        return this.persist();
      },
      opts.changeLimit,
    );
    this.dispatcher = new Dispatcher(opts.messageBudget);
    const world = {
      vms: () => [...this.vms.values(), ...this.fifoVms.values()],
      foreignOn: (pcpu: number) => this.foreign.get(pcpu) ?? 0,
      pcpuBounds: (pcpu: number) => this.hostLimits.bounds(pcpu),
      clampReason: (pcpu: number, vmBounds: Bounds, side: 'min' | 'max') =>
        this.hostLimits.clampReason(pcpu, vmBounds, side),
      // A budget's denial names the domain by UUID (known once domains@1 listed it) and name.
      raiseDenial: (vm: VmRecord) =>
        limits === undefined
          ? undefined
          : ((vm.uuid !== undefined ? limits.raiseDenied(vm.uuid) : undefined) ?? limits.raiseDenied(vm.name)),
    };
    this.control = new PowerControl(host, this.actuator, world, opts.maxAffinity, log);
    this.deps = {
      control: this.control,
      log,
      access,
      now: () => Date.now(),
      turboAvailable: (pcpu) => {
        const policy = this.actuator.knownPolicyOf(pcpu);
        const ladder = policy === undefined ? undefined : this.actuator.knownLadder(policy);
        const turbo = this.actuator.turbo;
        return ladder && turbo ? ladder.hasTurbo && turbo.enabled === true : undefined;
      },
      policyChanged: () => void this.persist(),
      onClamped: (vm, by) => void this.lastClamp.set(vm, by),
      onDenied: (vm, why) => void this.lastDenial.set(vm, why),
    };
    this.links = new ChannelLinks(opts.backoff, this.deps, this.dispatcher, log);
  }

  /** Re-clamps what the guests asked whenever a profile, budget or thermal limit changes. */
  followLimits(): void {
    this.unsubscribeLimits = this.hostLimits.onChange(() => {
      if (!this.stopped)
        void this.control
          .reapply()
          .catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot re-apply after a limits change'));
    });
  }

  /** The pCPUs a VM's vCPUs may run on. */
  private pcpusOfVm(vm: VmRecord): Set<number> {
    const out = new Set<number>();
    const n = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
    for (let v = 0; v < n; v++) for (const p of this.control.pcpusOf(vm, v) ?? []) out.add(p);
    return out;
  }

  /**
   * Loads the policy, ladder and current frequency of every pCPU a VM may run on, so that the
   * first request on a channel is answered from memory. A pCPU that cannot be read is logged
   * here; its requests then take the slow path and get a NACK with the reason.
   */
  async warm(vm: VmRecord): Promise<void> {
    for (const p of this.pcpusOfVm(vm)) {
      await this.control
        .warm([p])
        .catch((e: unknown) =>
          this.log.warn({ vm: vm.name, pcpu: p, err: e instanceof Error ? e.message : String(e) }, 'pCPU not usable'),
        );
    }
  }

  /** {@link warm} for every VM. */
  async warmAll(): Promise<void> {
    for (const vm of this.vms.values()) await this.warm(vm);
  }

  /** Re-reads what vpmd keeps in memory of sysfs (frequencies of pCPUs it does not drive, turbo). */
  async refreshObserved(): Promise<void> {
    await this.actuator.refreshTurbo().catch(() => undefined);
    await this.actuator.refreshObserved();
  }

  /** Stops every link and restores every cpufreq policy vpmd changed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.links.closeAll();
    this.dispatcher.close();
    await this.actuator.settle();
    this.unsubscribeLimits?.();
    const failed = await this.actuator.restoreAll();
    if (failed > 0) this.log.warn({ failed }, 'some cpufreq policies could not be restored');
    await this.hostLimits
      .release()
      .catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot give back held CPUs'));
    await this.persist();
    await this.saver.settled();
  }

  /** Saves what survives a restart (atomic, coalesced: see {@link RegistrySaver}). */
  persist(): Promise<void> {
    return this.saver.save();
  }

  /** The VM named `name`. @throws E_VC_VM_NOT_FOUND */
  vm(name: string): VmRecord {
    const vm = this.vms.get(name);
    if (!vm) {
      throw new VpmdError(
        'E_VC_VM_NOT_FOUND',
        `VM '${name}' has not been added (add_vm ${name}); known: ${[...this.vms.keys()].join(', ') || 'none'}`,
        { vm: name },
      );
    }
    return vm;
  }

  /** Why `vm`'s last request was clamped, once (for the JSON reply); undefined when it was not. */
  takeClamp(vm: VmRecord): string | undefined {
    const by = this.lastClamp.get(vm);
    this.lastClamp.delete(vm);
    return by;
  }

  /** Why `vm`'s last request was denied, once (for the JSON reply); undefined when it was not. */
  takeDenial(vm: VmRecord): string | undefined {
    const why = this.lastDenial.get(vm);
    this.lastDenial.delete(vm);
    return why;
  }

  /** The raise denial in force on a VM, if any (for show_vm). */
  raiseDenial(vm: VmRecord): RaiseDenial | undefined {
    return this.control.raiseDenial(vm);
  }

  /** Every pCPU bound. */
  pcpuBounds(): PcpuBounds[] {
    return [...this.pcpuBoundsByCpu].map(([pcpu, b]) => ({ pcpu, ...b })).sort((a, b) => a.pcpu - b.pcpu);
  }

  /**
   * Operator scaling of a pCPU (`set_cpu_freq`): as on DPDK's host it overrides what guests
   * asked (within the pCPU's bounds) until a guest on that pCPU asks again.
   * @throws E_VC_PCPU, E_VC_SCALE
   */
  async operatorScale(pcpu: number, unit: number): Promise<OperatorOutcome> {
    await this.control.checkPcpu(pcpu);
    return this.control.operator(pcpu, unit);
  }

  /** Re-reads every running domain through `domains@1`, then {@link syncMapping}. */
  async refreshMapping(): Promise<boolean> {
    if (!this.mapper || this.stopped) return false;
    await this.mapper.refresh();
    return this.syncMapping();
  }

  /**
   * A `domain.lifecycle.v1` event: patches the map from the event's payload (no D-Bus, no
   * lookup) and re-applies when a managed VM or a foreign domain's pins moved.
   */
  async onDomainEvent(ev: DomainLifecycleEvent): Promise<void> {
    if (!this.mapper || this.stopped) return;
    if (this.mapper.apply(ev)) await this.syncMapping();
  }

  /** Takes the vCPU maps from the running domains in memory; re-applies when something changed. */
  private async syncMapping(): Promise<boolean> {
    if (!this.mapper || this.stopped) return false;
    const { changed, foreign } = syncVcpuMaps(this.mapper.running(), this.vms, this.foreign, (vm) =>
      this.links.kickVm(vm),
    );
    this.foreign = foreign;
    if (changed) {
      this.control.invalidate();
      await this.warmAll();
      await this.control.reapply();
    }
    return changed;
  }

  /**
   * A policy from DPDK's JSON FIFO N: as in DPDK, it belongs to a VM named `fifoN` whose only
   * vCPU is core N (physical), and takes part in the precedence policy like any VM on that core.
   */
  async hostPolicy(core: number, frame: Buffer): Promise<Buffer | undefined> {
    let vm = this.fifoVms.get(core);
    if (!vm) {
      await this.control.checkPcpu(core);
      vm = newVm(`fifo${core}`);
      vm.role = 'Administrator';
      vm.pins = Array.from({ length: core + 1 }, (_, i) => (i === core ? core : null));
      this.fifoVms.set(core, vm);
      this.control.invalidate();
      await this.warm(vm);
    }
    return this.handle(vm, frame);
  }

  /** Handles a frame as if it came from a channel (the JSON interface). */
  async handle(vm: VmRecord, frame: Buffer): Promise<Buffer | undefined> {
    return handleFrame(this.deps, vm, undefined, frame);
  }
}
