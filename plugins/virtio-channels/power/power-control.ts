/**
 * Turns guest requests into pCPU frequencies. Requests are kept per VM and vCPU (so a re-pin
 * moves them with the vCPU); the frequency of a pCPU follows the precedence policy over every VM
 * that may run there (see `precedence.ts`), and a cpufreq policy shared by several CPUs runs at
 * the highest of their targets. A pCPU no VM asks about any more gets its original settings back.
 *
 * Multi-pCPU affinity: a vCPU whose affinity spans at most `maxAffinity` pCPUs scales all of
 * them (it may run on any); a wider one (an unpinned vCPU) is refused, since scaling it would
 * scale most of the host. Every VM that may run on a pCPU protects it, pinned or not.
 */
import { VpmdError, type HostModel, type Logger } from 'vpmd';
import type { Actuator } from './actuator.js';
import { middleStep, snapDown, stepDown, stepUp, type FrequencyLadder } from './frequency-ladder.js';
import { effectiveKHz, resolvePcpu, type Bounds, type PcpuOccupant } from './precedence.js';
import { Unit } from '../protocol/packet-layout.js';
import type { VmRecord } from '../vm-registry.js';

/** Outcome of one guest request. */
export interface RequestOutcome {
  readonly ok: boolean;
  readonly clamped: boolean;
  readonly reason?: string;
}

/** What the control needs to know about the world. */
export interface PowerWorld {
  vms(): Iterable<VmRecord>;
  /** Domains libvirt runs that vpmd does not manage, whose vCPUs may run on `pcpu`. */
  foreignOn(pcpu: number): number;
  pcpuBounds(pcpu: number): Bounds;
}

const NO_BOUNDS: Bounds = Object.freeze({});

/** `[pcpu]` for host-side pins, one frozen array per pCPU (looked up on every request). */
const pinArrays: Array<readonly number[]> = [];
function pinned(pcpu: number): readonly number[] {
  return (pinArrays[pcpu] ??= Object.freeze([pcpu]));
}

/** A level a host-side policy asks for. */
export type Level = 'max' | 'medium' | 'min';

/** Guest request to pCPU frequency. */
export class PowerControl {
  /** pCPUs vpmd currently drives, by policy. */
  private readonly managed = new Set<number>();

  constructor(
    private readonly host: HostModel,
    private readonly actuator: Actuator,
    private readonly world: PowerWorld,
    private readonly maxAffinity: number,
    private readonly log: Logger,
  ) {}

  /** The pCPUs a VM's vCPU may run on (live libvirt map, else host-side pins). Do not modify. */
  pcpusOf(vm: VmRecord, vcpu: number): readonly number[] | undefined {
    const live = vm.vcpuMap?.[vcpu];
    if (live && live.length > 0) return live;
    const pin = vm.pins[vcpu];
    return pin === undefined || pin === null ? undefined : pinned(pin);
  }

  /** Why a vCPU cannot be scaled, or its pCPUs. */
  targetsOf(vm: VmRecord, vcpu: number): readonly number[] | string {
    const pcpus = this.pcpusOf(vm, vcpu);
    if (!pcpus) return `vCPU ${vcpu} of VM '${vm.name}' has no known pCPU (not in libvirt's map; pin it with set_pcpu)`;
    if (pcpus.length > this.maxAffinity) {
      return `vCPU ${vcpu} of VM '${vm.name}' may run on ${pcpus.length} pCPUs (more than maxAffinity ${this.maxAffinity}); pin it with set_pcpu`;
    }
    return pcpus;
  }

  /**
   * Which vCPUs of which VM may run on each pCPU. Rebuilt lazily after {@link invalidate}, which
   * the owner calls whenever VMs, pins or the libvirt map change; requests change far more
   * often and are read live.
   */
  private occupancy: Map<number, PcpuOccupant[]> | undefined;

  /** Forgets the occupancy index (VMs added or removed, pins or vCPU map changed). */
  invalidate(): void {
    this.occupancy = undefined;
  }

  private occupants(pcpu: number): readonly PcpuOccupant[] {
    if (!this.occupancy) {
      const occ = new Map<number, PcpuOccupant[]>();
      for (const vm of this.world.vms()) {
        const byCpu = new Map<number, number[]>();
        const n = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
        for (let v = 0; v < n; v++)
          for (const p of this.pcpusOf(vm, v) ?? []) byCpu.set(p, [...(byCpu.get(p) ?? []), v]);
        for (const [p, vcpus] of byCpu) occ.set(p, [...(occ.get(p) ?? []), { vm, vcpus }]);
      }
      this.occupancy = occ;
    }
    return this.occupancy.get(pcpu) ?? [];
  }

  /** What a pCPU runs at now (kHz): vpmd's target when it drives the pCPU, else the policy's current frequency. */
  async currentKHz(pcpu: number): Promise<number> {
    const policy = await this.actuator.policyOf(pcpu);
    return this.actuator.appliedKHz(policy) ?? (await this.host.cpufreq.policy(policy)).scalingCurKHz ?? 0;
  }

  /** The target of one pCPU under the precedence policy. */
  async targetOf(pcpu: number): Promise<number> {
    const l = await this.actuator.ladderFor(pcpu);
    return resolvePcpu(l, this.occupants(pcpu), this.world.pcpuBounds(pcpu), this.world.foreignOn(pcpu)).kHz;
  }

  /** The ladder of the policy of `pcpu`; synchronous once loaded (the per-request path). */
  private ladder(pcpu: number): FrequencyLadder | Promise<FrequencyLadder> {
    const policy = this.actuator.knownPolicyOf(pcpu);
    return (policy === undefined ? undefined : this.actuator.knownLadder(policy)) ?? this.actuator.ladderFor(pcpu);
  }

  /** Where a request steps from: the vCPU's own request, else what the pCPU runs at. */
  private baseline(vm: VmRecord, vcpu: number, l: FrequencyLadder, pcpu: number): number | Promise<number> {
    const own = vm.requests.get(vcpu);
    if (own !== undefined) return effectiveKHz(l, own, vm.bounds, this.world.pcpuBounds(pcpu), vm.turbo.has(vcpu));
    return this.currentKHz(pcpu).then((kHz) => snapDown(l, kHz));
  }

  /**
   * Applies a CPU_POWER unit to a vCPU of a VM.
   * @returns ok false with a reason for a NACK; clamped when host bounds moved the request.
   */
  async request(vm: VmRecord, vcpu: number, unit: number): Promise<RequestOutcome> {
    const pcpus = this.targetsOf(vm, vcpu);
    if (typeof pcpus === 'string') return { ok: false, clamped: false, reason: pcpus };
    const first = pcpus[0] as number;
    const ladder = this.ladder(first);
    const l = ladder instanceof Promise ? await ladder : ladder;
    const bounds = this.world.pcpuBounds(first);
    const base = this.baseline(vm, vcpu, l, first);
    const current = base instanceof Promise ? await base : base;
    let raw: number;
    switch (unit) {
      case Unit.SCALE_UP:
        raw = stepUp(l, current, vm.turbo.has(vcpu) ? l.maxKHz : l.nominalMaxKHz);
        break;
      case Unit.SCALE_DOWN:
        raw = stepDown(l, current);
        break;
      case Unit.SCALE_MAX:
        raw = vm.turbo.has(vcpu) ? l.maxKHz : l.nominalMaxKHz;
        break;
      case Unit.SCALE_MIN:
        raw = l.minKHz;
        break;
      case Unit.ENABLE_TURBO: {
        const t = await this.host.cpufreq.turbo();
        if (!l.hasTurbo || !t.supported)
          return { ok: false, clamped: false, reason: `pCPU ${first} has no turbo frequencies` };
        if (t.enabled === false)
          return { ok: false, clamped: false, reason: 'turbo is switched off host-wide; guests cannot switch it on' };
        vm.turbo.add(vcpu);
        // As DPDK: a core at its nominal maximum moves up to turbo at once.
        raw = current >= l.nominalMaxKHz ? l.maxKHz : current;
        break;
      }
      case Unit.DISABLE_TURBO:
        vm.turbo.delete(vcpu);
        raw = Math.min(current, l.nominalMaxKHz);
        break;
      default:
        return { ok: false, clamped: false, reason: `unknown CPU_POWER unit ${unit}` };
    }
    vm.requests.set(vcpu, raw);
    // Clamped means the host's bounds moved the request, not that the ladder ended.
    const bounded = effectiveKHz(l, raw, vm.bounds, bounds, vm.turbo.has(vcpu));
    const free = effectiveKHz(l, raw, NO_BOUNDS, NO_BOUNDS, vm.turbo.has(vcpu));
    await this.reapply(pcpus);
    return { ok: true, clamped: bounded !== free };
  }

  /** Sets a vCPU's request to a level (policies, the JSON interface). */
  async setLevel(vm: VmRecord, vcpu: number, level: Level): Promise<RequestOutcome> {
    const pcpus = this.targetsOf(vm, vcpu);
    if (typeof pcpus === 'string') return { ok: false, clamped: false, reason: pcpus };
    const l = await this.actuator.ladderFor(pcpus[0] as number);
    const raw = level === 'max' ? l.nominalMaxKHz : level === 'min' ? l.minKHz : middleStep(l);
    if (vm.requests.get(vcpu) === raw) return { ok: true, clamped: false };
    vm.requests.set(vcpu, raw);
    await this.reapply(pcpus);
    const bounded = effectiveKHz(l, raw, vm.bounds, this.world.pcpuBounds(pcpus[0] as number), false);
    return { ok: true, clamped: bounded !== effectiveKHz(l, raw, NO_BOUNDS, NO_BOUNDS, false) };
  }

  /**
   * Recomputes and applies the given pCPUs (default: every pCPU vpmd drives or any VM asks
   * about). Policies no request concerns any more are restored.
   */
  async reapply(pcpus?: readonly number[]): Promise<void> {
    if (pcpus?.length === 1) {
      // The per-request case: one pCPU, its policy known; no grouping.
      const pcpu = pcpus[0] as number;
      await this.reapplyPolicy(this.actuator.knownPolicyOf(pcpu) ?? (await this.actuator.policyOf(pcpu)), pcpu);
      return;
    }
    const wanted = new Set<number>(pcpus ?? []);
    if (!pcpus) {
      for (const p of this.managed) wanted.add(p);
      for (const vm of this.world.vms()) {
        for (const v of vm.requests.keys()) for (const p of this.pcpusOf(vm, v) ?? []) wanted.add(p);
      }
    }
    const byPolicy = new Map<number, number>();
    for (const p of wanted) {
      const policy = await this.actuator.policyOf(p);
      if (!byPolicy.has(policy)) byPolicy.set(policy, p);
    }
    for (const [policy, pcpu] of byPolicy) await this.reapplyPolicy(policy, pcpu);
  }

  /** Resolves one cpufreq policy (`pcpu` is one of its CPUs) and applies or restores it. */
  private async reapplyPolicy(policy: number, pcpu: number): Promise<void> {
    const ladder = this.ladder(pcpu);
    const l = ladder instanceof Promise ? await ladder : ladder;
    const cpus = this.actuator.cpusOfPolicy(policy);
    let target = 0;
    let asked = false;
    for (const c of cpus) {
      const occupants = this.occupants(c);
      const foreign = this.world.foreignOn(c);
      if (occupants.length === 0 && foreign === 0) continue;
      const r = resolvePcpu(l, occupants, this.world.pcpuBounds(c), foreign);
      if (r.asked) {
        asked = true;
        this.managed.add(c);
      }
      if (r.kHz > target) target = r.kHz;
    }
    if (!asked) {
      for (const c of cpus) this.managed.delete(c);
      await this.actuator.restore(policy);
      return;
    }
    if (this.actuator.isSettled(policy, target)) return;
    const r = await this.actuator.apply(policy, target);
    if (r.writes > 0 && this.log.isLevelEnabled('debug'))
      this.log.debug({ policy, kHz: r.kHz, writes: r.writes }, 'pCPU frequency applied');
  }

  /** pCPUs vpmd drives now. */
  managedPcpus(): number[] {
    return [...this.managed].sort((a, b) => a - b);
  }

  /** Forgets a VM's requests and re-resolves the pCPUs it touched. */
  async forget(vm: VmRecord): Promise<void> {
    const touched = new Set<number>();
    for (const v of vm.requests.keys()) for (const p of this.pcpusOf(vm, v) ?? []) touched.add(p);
    vm.requests.clear();
    vm.turbo.clear();
    await this.reapply([...touched]);
  }

  /** Validates a pCPU number against the host. @throws E_VC_PCPU */
  async checkPcpu(pcpu: number): Promise<void> {
    const { online } = await this.host.topology();
    if (!Number.isInteger(pcpu) || pcpu < 0 || !online.includes(pcpu)) {
      throw new VpmdError(
        'E_VC_PCPU',
        `pCPU ${pcpu} is not an online CPU of this host (online: 0-${Math.max(...online)})`,
        { pcpu },
      );
    }
  }
}
