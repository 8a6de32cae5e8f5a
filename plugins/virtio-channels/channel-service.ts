/**
 * The plugin's state and operations: VMs and their channels (links to QEMU's sockets), the
 * vCPU map from `domains@1` (read when VMs and channels are added and periodically, patched from
 * domain lifecycle events, unlike DPDK which reads it once), host bounds, and persistence of
 * everything an operator set.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  VpmdError,
  type AccessPolicy,
  type CpuLimits,
  type DomainLifecycleEvent,
  type HostModel,
  type Logger,
  type PcpuBounds,
  type RaiseDenial,
  type Role,
  type StateStore,
} from 'vpmd';
import { ChannelLink, type Backoff } from './channel/channel-link.js';
import { Dispatcher, type MessageBudget } from './channel/dispatcher.js';
import type { DomainMap } from './mapping/domain-map.js';
import { Actuator, type ChangeLimit } from './power/actuator.js';
import { PowerControl, type OperatorOutcome } from './power/power-control.js';
import type { Bounds } from './power/precedence.js';
import { HostLimits } from './power/host-limits.js';
import { handleFrame, type HandlerDeps } from './request-handler.js';
import {
  MAX_CHANNELS_PER_VM,
  REGISTRY_SPEC,
  checkBounds,
  checkVmName,
  newVm,
  vmToState,
  type ChannelRecord,
  type VmRecord,
  zeroCounters,
} from './vm-registry.js';

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
  private readonly links = new Map<string, ChannelLink>();
  private readonly pcpuBoundsMap = new Map<number, Bounds>();
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
  private saving: Promise<void> = Promise.resolve();
  /** The save waiting for the one in progress, which later requests join. */
  private queuedSave: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly opts: ServiceOptions,
    private readonly host: HostModel,
    private readonly state: StateStore,
    readonly mapper: DomainMap | undefined,
    private readonly log: Logger,
    access: AccessPolicy,
    limits?: CpuLimits,
  ) {
    this.hostLimits = new HostLimits(limits, (pcpu) => this.pcpuBoundsMap.get(pcpu), log);
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
  }

  /** Loads persisted state and config seeds, connects the channels, reads the vCPU map. */
  async start(seed: {
    vms: ReadonlyArray<{
      name: string;
      channels?: string;
      query?: boolean;
      minKHz?: number;
      maxKHz?: number;
      pins?: number[];
      role?: Role;
    }>;
    pcpuBounds: readonly PcpuBounds[];
  }): Promise<void> {
    const saved = await this.state.read('registry', REGISTRY_SPEC);
    if (saved) {
      // Originals saved by a run that did not stop cleanly: requests died with it, so give back.
      this.actuator.adoptSaved(saved.saved);
      const failed = await this.actuator.restoreAll();
      if (saved.saved.length > 0)
        this.log.info({ policies: saved.saved.length, failed }, 'restored cpufreq settings left by a previous run');
      for (const b of saved.pcpuBounds) this.pcpuBoundsMap.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
      for (const s of saved.vms) {
        const vm = newVm(s.name);
        vm.query = s.query;
        vm.bounds = { ...s.bounds };
        vm.pins = [...s.pins];
        if (s.policy) vm.policy = s.policy;
        if (s.role) vm.role = s.role;
        this.vms.set(vm.name, vm);
        for (const c of s.channels) this.addChannel(vm, c.num, c.path, c.enabled);
      }
    }
    this.control.invalidate();
    // A profile, budget or thermal limit changed: re-clamp what the guests asked for.
    this.unsubscribeLimits = this.hostLimits.onChange(() => {
      if (!this.stopped)
        void this.control
          .reapply()
          .catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot re-apply after a limits change'));
    });
    for (const b of seed.pcpuBounds)
      if (!this.pcpuBoundsMap.has(b.pcpu)) this.pcpuBoundsMap.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
    for (const s of seed.vms) {
      if (this.vms.has(s.name)) continue;
      const vm = newVm(s.name);
      vm.query = s.query ?? false;
      vm.bounds = {
        ...(s.minKHz !== undefined ? { minKHz: s.minKHz } : {}),
        ...(s.maxKHz !== undefined ? { maxKHz: s.maxKHz } : {}),
      };
      vm.pins = [...(s.pins ?? [])];
      vm.role = s.role ?? 'Operator';
      this.vms.set(vm.name, vm);
      if (s.channels !== undefined)
        await this.addChannels(vm.name, s.channels === 'all' ? 'all' : s.channels.split(',').map(Number));
    }
    this.control.invalidate();
    try {
      await this.refreshMapping();
    } catch (e) {
      // libvirt down degrades the mapping (host-side pins still work), not the plugin.
      this.log.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'cannot read the vCPU map from libvirt-dbus; using host-side pins until it answers',
      );
    }
    // Settings from a previous run whose VMs are gone: give the cores back.
    await this.control.reapply();
    await this.warmAll();
    await this.persist();
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

  private async warmAll(): Promise<void> {
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
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    this.links.clear();
    this.dispatcher.close();
    await this.actuator.settle();
    this.unsubscribeLimits?.();
    const failed = await this.actuator.restoreAll();
    if (failed > 0) this.log.warn({ failed }, 'some cpufreq policies could not be restored');
    await this.hostLimits
      .release()
      .catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot give back held CPUs'));
    await this.persist();
    await this.saving;
  }

  /**
   * Saves what survives a restart (atomic through the state store). Saves are serialised and
   * coalesced: a save asked for while another one waits to start joins it, and the data is taken
   * when the write starts, so a burst (a guest touching eight policies at once) costs two writes.
   */
  persist(): Promise<void> {
    if (this.queuedSave) return this.queuedSave;
    const save = this.saving
      .then(() => {
        this.queuedSave = undefined;
        const data = {
          vms: [...this.vms.values()].map(vmToState),
          pcpuBounds: [...this.pcpuBoundsMap].map(([pcpu, b]) => ({ pcpu, ...b })),
          saved: this.actuator.savedPolicies().map((s) => ({ ...s })),
        };
        return this.state.write('registry', REGISTRY_SPEC, data);
      })
      .catch((e: unknown) => {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot save virtio-channels state');
      });
    this.queuedSave = save;
    this.saving = save;
    return save;
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

  private totalChannels(): number {
    let n = 0;
    for (const vm of this.vms.values()) n += vm.channels.size;
    return n;
  }

  private addChannel(vm: VmRecord, num: number, path: string, enabled: boolean): ChannelRecord {
    const ch: ChannelRecord = {
      num,
      path,
      enabled,
      connected: false,
      processing: false,
      counters: zeroCounters(),
    };
    vm.channels.set(num, ch);
    const link = new ChannelLink(
      path,
      this.opts.backoff,
      {
        frame: (f) => handleFrame(this.deps, vm, ch, f),
        state: (up) => {
          ch.connected = up;
        },
        dropped: (frames) => {
          vm.counters.dropped += frames;
          ch.counters.dropped += frames;
        },
        limited: () => {
          vm.counters.limited++;
          ch.counters.limited++;
        },
      },
      this.log.child({ vm: vm.name, channel: num }),
      this.dispatcher,
    );
    this.links.set(`${vm.name}/${num}`, link);
    if (!this.stopped) link.start();
    return ch;
  }

  /**
   * Adds a VM (it need not be running). As DPDK's `add_vm`, a domain libvirt does not know is
   * refused; with `libvirt: false`, or while libvirt-dbus is unreachable, any name is added
   * (host-side pins), and the result says why it was not checked.
   * @throws E_VC_VM_EXISTS, E_VC_VM_NOT_FOUND, E_COMMAND_USAGE
   */
  async addVm(name: string): Promise<{ vm: VmRecord; unchecked?: string }> {
    checkVmName(name);
    if (this.vms.has(name))
      throw new VpmdError('E_VC_VM_EXISTS', `Unable to add VM '${name}': it is already added`, { vm: name });
    let unchecked: string | undefined = this.mapper
      ? undefined
      : 'libvirt is off (libvirt: false, or no domains@1 provider): host-side pins only';
    if (this.mapper) {
      try {
        if (!(await this.mapper.known(name))) {
          throw new VpmdError(
            'E_VC_VM_NOT_FOUND',
            `Unable to add VM '${name}': libvirt knows no domain '${name}' (virsh list --all)`,
            { vm: name },
          );
        }
        unchecked = undefined;
      } catch (e) {
        if (e instanceof VpmdError && e.code === 'E_VC_VM_NOT_FOUND') throw e;
        unchecked = `domains@1 cannot reach libvirt (${e instanceof Error ? e.message : String(e)}); not checked`;
      }
    }
    const vm = newVm(name);
    this.vms.set(name, vm);
    this.control.invalidate();
    await this.refreshMapping().catch(() => undefined);
    await this.warm(vm);
    await this.persist();
    return unchecked ? { vm, unchecked } : { vm };
  }

  /** Removes a VM: its channels close and the cores it scaled get their settings back. */
  async rmVm(name: string): Promise<void> {
    const vm = this.vm(name);
    for (const num of vm.channels.keys()) {
      const key = `${name}/${num}`;
      await this.links.get(key)?.stop();
      this.links.delete(key);
    }
    this.vms.delete(name);
    this.control.invalidate();
    vm.requests.clear();
    await this.control.reapply();
    await this.refreshMapping().catch(() => undefined);
    await this.persist();
  }

  /** Finds `VM.N` sockets in the channel directory and in the domain's live XML. */
  async discover(name: string): Promise<Array<{ num: number; path: string }>> {
    const found = new Map<number, string>();
    const re = new RegExp(`^${name.replace(/[.]/g, '\\.')}\\.(\\d+)$`);
    try {
      for (const entry of await readdir(this.opts.dir)) {
        const m = re.exec(entry);
        if (m) found.set(Number(m[1]), join(this.opts.dir, entry));
      }
    } catch (e) {
      this.log.debug({ dir: this.opts.dir, err: String(e) }, 'channel directory not readable');
    }
    if (this.mapper) {
      for (const c of await this.mapper.channelPaths(name).catch(() => []))
        if (!found.has(c.num)) found.set(c.num, c.path);
    }
    return [...found].map(([num, path]) => ({ num, path })).sort((a, b) => a.num - b.num);
  }

  /**
   * Adds channels to a VM: `all` (every `VM.N` found) or numbers (`DIR/VM.N`). A number whose
   * socket does not exist yet is added (it connects when QEMU creates it) and returned in
   * `missing` when `checkSockets` is set (the operator's `add_channels`), so the command can say
   * so instead of counting it as enabled, as DPDK does not enable a channel it cannot open.
   * @throws E_VC_VM_NOT_FOUND, E_VC_CHANNEL_LIMIT
   */
  async addChannels(
    name: string,
    list: readonly number[] | 'all',
    checkSockets = false,
  ): Promise<{ added: number[]; missing: Array<{ num: number; path: string }> }> {
    const vm = this.vm(name);
    const wanted =
      list === 'all'
        ? await this.discover(name)
        : list.map((num) => ({ num, path: join(this.opts.dir, `${name}.${num}`) }));
    const missing: Array<{ num: number; path: string }> = [];
    const fresh: Array<{ num: number; path: string }> = [];
    for (const w of wanted) {
      if (vm.channels.has(w.num)) continue;
      fresh.push(w);
      if (
        checkSockets &&
        list !== 'all' &&
        !(await access(w.path).then(
          () => true,
          () => false,
        ))
      )
        missing.push(w);
    }
    if (vm.channels.size + fresh.length > MAX_CHANNELS_PER_VM) {
      throw new VpmdError(
        'E_VC_CHANNEL_LIMIT',
        `VM '${name}' would have ${vm.channels.size + fresh.length} channels; at most ${MAX_CHANNELS_PER_VM} per VM`,
        { vm: name },
      );
    }
    if (this.totalChannels() + fresh.length > this.opts.maxChannels) {
      throw new VpmdError(
        'E_VC_CHANNEL_LIMIT',
        `the host would have more than ${this.opts.maxChannels} channels (plugins.virtio-channels.maxChannels)`,
        { vm: name },
      );
    }
    // The vCPU map is resolved now, so the first request on these channels reads memory only.
    if (this.mapper && fresh.length > 0) await this.refreshMapping().catch(() => undefined);
    await this.warm(vm);
    for (const w of fresh) this.addChannel(vm, w.num, w.path, true);
    await this.persist();
    return { added: fresh.map((w) => w.num), missing };
  }

  /** Enables or disables channels; returns how many changed state. @throws E_VC_VM_NOT_FOUND, E_VC_CHANNEL */
  async setChannelStatus(name: string, list: readonly number[] | 'all', enabled: boolean): Promise<number> {
    const vm = this.vm(name);
    const nums = list === 'all' ? [...vm.channels.keys()] : list;
    const missing = nums.filter((n) => !vm.channels.has(n));
    if (missing.length > 0) {
      throw new VpmdError(
        'E_VC_CHANNEL',
        `VM '${name}' has no channel ${missing.join(', ')} (channels: ${[...vm.channels.keys()].join(', ') || 'none'})`,
        { vm: name },
      );
    }
    let n = 0;
    for (const num of nums) {
      const ch = vm.channels.get(num) as ChannelRecord;
      ch.enabled = enabled;
      n++;
    }
    await this.persist();
    return n;
  }

  /** Enables or disables guest queries for a VM. */
  async setQuery(name: string, enabled: boolean): Promise<void> {
    this.vm(name).query = enabled;
    await this.persist();
  }

  /** Sets the role a VM's guests act with. */
  async setRole(name: string, role: Role): Promise<void> {
    this.vm(name).role = role;
    await this.persist();
  }

  /** Sets a VM's bounds and re-applies at once. @throws E_VC_VM_NOT_FOUND, E_VC_BOUNDS */
  async setVmBounds(name: string, b: Bounds): Promise<void> {
    checkBounds(`bounds of VM '${name}'`, b);
    const vm = this.vm(name);
    vm.bounds = { ...b };
    await this.control.reapply();
    await this.persist();
  }

  /** Sets one pCPU's bounds and re-applies at once. @throws E_VC_PCPU, E_VC_BOUNDS */
  async setPcpuBounds(b: PcpuBounds): Promise<void> {
    checkBounds(`bounds of pCPU ${b.pcpu}`, b);
    await this.control.checkPcpu(b.pcpu);
    if (b.minKHz === undefined && b.maxKHz === undefined) this.pcpuBoundsMap.delete(b.pcpu);
    else this.pcpuBoundsMap.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
    this.hostLimits.invalidate();
    await this.control.reapply();
    await this.persist();
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
    return [...this.pcpuBoundsMap].map(([pcpu, b]) => ({ pcpu, ...b })).sort((a, b) => a.pcpu - b.pcpu);
  }

  /** Pins a vCPU (libvirt when it knows the VM, else a host-side pin) and re-applies. */
  async setPcpu(name: string, vcpu: number, pcpu: number): Promise<'libvirt' | 'host'> {
    const vm = this.vm(name);
    await this.control.checkPcpu(pcpu);
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu > 4095)
      throw new VpmdError('E_VC_PCPU', `vCPU ${vcpu} is out of range`, { vcpu });
    let via: 'libvirt' | 'host' = 'host';
    if (this.mapper?.canPin && (await this.mapper.known(name))) {
      const known = vm.vcpuMap?.length;
      if (known !== undefined && vcpu >= known)
        throw new VpmdError('E_VC_PCPU', `VM '${name}' has ${known} vCPUs; vCPU ${vcpu} does not exist`, { vcpu });
      await this.mapper.pin(name, vcpu, pcpu);
      via = 'libvirt';
    } else {
      while (vm.pins.length <= vcpu) vm.pins.push(null);
      vm.pins[vcpu] = pcpu;
      this.control.invalidate();
    }
    const before = new Set(this.control.pcpusOf(vm, vcpu) ?? []);
    await this.refreshMapping();
    await this.warm(vm);
    await this.control.reapply([...before, pcpu]);
    await this.persist();
    return via;
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

  /**
   * Gives the VMs vpmd manages their vCPU map from the running domains in memory; other running
   * domains count as foreign occupants of their pCPUs. Re-applies when something changed.
   */
  private async syncMapping(): Promise<boolean> {
    if (!this.mapper || this.stopped) return false;
    const foreign = new Map<number, number>();
    let changed = false;
    const seen = new Set<string>();
    for (const d of this.mapper.running()) {
      const vm = this.vms.get(d.name);
      if (!vm) {
        for (const p of new Set(d.vcpus.flatMap((v) => v.pins))) foreign.set(p, (foreign.get(p) ?? 0) + 1);
        continue;
      }
      seen.add(d.name);
      const map = d.vcpus.map((v) => [...v.pins]);
      if (JSON.stringify(map) !== JSON.stringify(vm.vcpuMap) || !vm.active) changed = true;
      if (!vm.active) for (const num of vm.channels.keys()) this.links.get(`${vm.name}/${num}`)?.kick();
      vm.vcpuMap = map;
      vm.active = true;
      vm.uuid = d.uuid;
    }
    for (const vm of this.vms.values()) {
      if (!seen.has(vm.name) && (vm.vcpuMap || vm.active)) {
        vm.vcpuMap = undefined;
        vm.active = false;
        changed = true;
      }
    }
    if (JSON.stringify([...foreign]) !== JSON.stringify([...this.foreign])) changed = true;
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
