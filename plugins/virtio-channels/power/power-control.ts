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
import { VpmdError, type HostModel, type Logger, type RaiseDenial } from 'vpmd';
import type { Actuator } from './actuator.js';
import { middleStep, snapDown, stepDown, stepUp, type FrequencyLadder } from './frequency-ladder.js';
import { effectiveKHz, resolvePcpu, type Bounds, type PcpuOccupant } from './precedence.js';
import { Unit } from '../protocol/packet-layout.js';
import type { VmRecord } from '../vm-registry.js';

/** Outcome of one guest request. */
export interface RequestOutcome {
  readonly ok: boolean;
  readonly clamped: boolean;
  /** The change joined one already waiting for the pCPU's change limit. */
  readonly coalesced?: boolean;
  readonly reason?: string;
  /** Who moved a clamped request: the claim's owner and reason, or the VM's or pCPU's bounds. */
  readonly clampedBy?: string;
  /** The raise denial that refused it (ok is false). */
  readonly denied?: RaiseDenial;
}

/** Outcome of an operator request (`set_cpu_freq`). */
export interface OperatorOutcome {
  /** What the pCPU runs at now (kHz). */
  readonly kHz: number;
  /** The frequency asked for before the pCPU's bounds (kHz). */
  readonly askedKHz: number;
  /** Why the pCPU does not run at what was asked, when it does not. */
  readonly note?: string;
}

/** What the control needs to know about the world. */
export interface PowerWorld {
  vms(): Iterable<VmRecord>;
  /** Domains libvirt runs that vpmd does not manage, whose vCPUs may run on `pcpu`. */
  foreignOn(pcpu: number): number;
  pcpuBounds(pcpu: number): Bounds;
  /** Who set the bound (`side`) a request on `pcpu` hit; called only for clamped requests. */
  clampReason?(pcpu: number, vmBounds: Bounds, side: 'min' | 'max'): string;
  /** The denial of this VM's requests to raise its frequency (cpu-limits@1), from memory. */
  raiseDenial?(vm: VmRecord): RaiseDenial | undefined;
}

/** CPU_POWER units that ask for more: refused while the VM's raises are denied. */
const RAISING_UNITS: ReadonlySet<number> = new Set([Unit.SCALE_UP, Unit.SCALE_MAX, Unit.ENABLE_TURBO]);

/** The refusal of a denied raise, with whose denial and why. */
function deniedOutcome(d: RaiseDenial): RequestOutcome {
  return { ok: false, clamped: false, denied: d, reason: `raise denied by ${d.owner}: ${d.reason}` };
}

const NO_BOUNDS: Bounds = Object.freeze({});
/** The outcomes of nearly every request, shared: no object per request. */
const APPLIED: RequestOutcome = Object.freeze({ ok: true, clamped: false, coalesced: false });
const APPLIED_COALESCED: RequestOutcome = Object.freeze({ ok: true, clamped: false, coalesced: true });

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

  /**
   * Operator overrides per pCPU (`set_cpu_freq`): as on DPDK's host, the operator's setting
   * replaces whatever guests asked, within the pCPU's bounds, until a guest asks again.
   */
  private readonly overrides = new Map<number, { kHz: number; turbo: boolean }>();

  /** What a pCPU runs at (kHz) from what vpmd knows, without reading sysfs; undefined when not loaded. */
  knownKHz(pcpu: number): number | undefined {
    const policy = this.actuator.knownPolicyOf(pcpu);
    return policy === undefined ? undefined : this.actuator.knownKHz(policy);
  }

  /** What a pCPU runs at now (kHz): vpmd's target when it drives the pCPU, else the policy's current frequency. */
  async currentKHz(pcpu: number): Promise<number> {
    const known = this.knownKHz(pcpu);
    if (known !== undefined) return known;
    const policy = await this.actuator.policyOf(pcpu);
    return this.actuator.knownKHz(policy) ?? (await this.host.cpufreq.policy(policy)).scalingCurKHz ?? 0;
  }

  /** The target of one pCPU under the precedence policy. */
  async targetOf(pcpu: number): Promise<number> {
    const l = await this.actuator.ladderFor(pcpu);
    return this.resolveCpu(l, pcpu).kHz;
  }

  private resolveCpu(l: FrequencyLadder, pcpu: number): { kHz: number; asked: boolean } {
    const o = this.overrides.get(pcpu);
    if (o) return { kHz: effectiveKHz(l, o.kHz, NO_BOUNDS, this.world.pcpuBounds(pcpu), o.turbo), asked: true };
    return resolvePcpu(l, this.occupants(pcpu), this.world.pcpuBounds(pcpu), this.world.foreignOn(pcpu));
  }

  /** The ladder of the policy of `pcpu` when loaded (the per-request path never reads sysfs). */
  private knownLadderOf(pcpu: number): FrequencyLadder | undefined {
    const policy = this.actuator.knownPolicyOf(pcpu);
    return policy === undefined ? undefined : this.actuator.knownLadder(policy);
  }

  /** The ladder of the policy of `pcpu`; synchronous once loaded. */
  private ladder(pcpu: number): FrequencyLadder | Promise<FrequencyLadder> {
    return this.knownLadderOf(pcpu) ?? this.actuator.ladderFor(pcpu);
  }

  /**
   * Loads what requests on these pCPUs need (policy, ladder, current frequency, turbo), so that
   * the first request on a channel answers from memory. Called when channels are added and
   * when the vCPU map changes, never on the request path.
   */
  async warm(pcpus: Iterable<number>): Promise<void> {
    for (const p of pcpus) await this.actuator.ladderFor(p);
    if (!this.actuator.turbo) await this.actuator.refreshTurbo();
  }

  /** True when a request on these pCPUs can be answered without reading sysfs. */
  private ready(pcpus: readonly number[], unit: number): boolean {
    for (const p of pcpus) if (!this.knownLadderOf(p) || this.knownKHz(p) === undefined) return false;
    return unit !== Unit.ENABLE_TURBO || this.actuator.turbo !== undefined;
  }

  /** Where a request steps from: the vCPU's own request, else what the pCPU runs at. */
  private baseline(vm: VmRecord, vcpu: number, l: FrequencyLadder, pcpu: number): number {
    const own = vm.requests.get(vcpu);
    if (own !== undefined) return effectiveKHz(l, own, vm.bounds, this.world.pcpuBounds(pcpu), vm.turbo.has(vcpu));
    return snapDown(l, this.knownKHz(pcpu) ?? l.nominalMaxKHz);
  }

  /**
   * Applies a CPU_POWER unit to a vCPU of a VM. Decides at once from memory (warmed when the
   * channel was added) and leaves the write to the actuator in the background, so the reply
   * never waits for sysfs; only a pCPU not loaded yet takes the asynchronous path.
   * @returns ok false with a reason for a NACK; clamped when host bounds moved the request.
   */
  request(vm: VmRecord, vcpu: number, unit: number): RequestOutcome | Promise<RequestOutcome> {
    // The harshest budget actuator: decided first, from memory, before anything is changed.
    if (RAISING_UNITS.has(unit)) {
      const d = this.world.raiseDenial?.(vm);
      if (d) return deniedOutcome(d);
    }
    const pcpus = this.targetsOf(vm, vcpu);
    if (typeof pcpus === 'string') return { ok: false, clamped: false, reason: pcpus };
    if (!this.ready(pcpus, unit)) return this.warm(pcpus).then(() => this.decide(vm, vcpu, unit, pcpus));
    return this.decide(vm, vcpu, unit, pcpus);
  }

  private decide(vm: VmRecord, vcpu: number, unit: number, pcpus: readonly number[]): RequestOutcome {
    const first = pcpus[0] as number;
    const l = this.knownLadderOf(first) as FrequencyLadder;
    const bounds = this.world.pcpuBounds(first);
    const current = this.baseline(vm, vcpu, l, first);
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
        const t = this.actuator.turbo;
        if (!l.hasTurbo || !t?.supported)
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
    // A guest asking again ends an operator override, as the next request does on DPDK's host.
    for (const p of pcpus) this.overrides.delete(p);
    // Clamped means the host's bounds moved the request, not that the ladder ended.
    const bounded = effectiveKHz(l, raw, vm.bounds, bounds, vm.turbo.has(vcpu));
    const free = effectiveKHz(l, raw, NO_BOUNDS, NO_BOUNDS, vm.turbo.has(vcpu));
    const coalesced = this.push(pcpus);
    if (bounded === free) return coalesced ? APPLIED_COALESCED : APPLIED;
    const clampedBy = this.world.clampReason?.(first, vm.bounds, bounded < free ? 'max' : 'min');
    return { ok: true, clamped: true, coalesced, ...(clampedBy !== undefined ? { clampedBy } : {}) };
  }

  /**
   * Resolves these pCPUs' policies and hands their targets to the actuator without waiting.
   * @returns true when a change joined one already waiting for the change limit.
   */
  push(pcpus: readonly number[]): boolean {
    let coalesced = false;
    for (const pcpu of pcpus) {
      const policy = this.actuator.knownPolicyOf(pcpu);
      if (policy === undefined) continue;
      const r = this.resolvePolicy(policy, pcpu);
      if (r === undefined) continue;
      if (!r.asked) {
        void this.actuator.restore(policy).catch(() => undefined);
        continue;
      }
      if (this.actuator.want(policy, r.target) === 'coalesced') coalesced = true;
    }
    return coalesced;
  }

  /** An operator request on a pCPU (`set_cpu_freq`): overrides the guests' until one asks again. */
  async operator(pcpu: number, unit: number): Promise<OperatorOutcome> {
    const l = await this.actuator.ladderFor(pcpu);
    await this.warm([pcpu]);
    const o = this.overrides.get(pcpu);
    const turboOn = o?.turbo ?? false;
    const current = snapDown(l, this.knownKHz(pcpu) ?? l.nominalMaxKHz);
    let asked: number;
    let turbo = turboOn;
    switch (unit) {
      case Unit.SCALE_UP:
        asked = stepUp(l, current, turboOn ? l.maxKHz : l.nominalMaxKHz);
        break;
      case Unit.SCALE_DOWN:
        asked = stepDown(l, current);
        break;
      case Unit.SCALE_MAX:
        asked = turboOn ? l.maxKHz : l.nominalMaxKHz;
        break;
      case Unit.SCALE_MIN:
        asked = l.minKHz;
        break;
      case Unit.ENABLE_TURBO: {
        const t = await this.actuator.refreshTurbo();
        if (!l.hasTurbo || !t.supported) throw new VpmdError('E_VC_SCALE', `pCPU ${pcpu} has no turbo frequencies`);
        if (t.enabled === false) throw new VpmdError('E_VC_SCALE', 'turbo is switched off host-wide');
        turbo = true;
        asked = current >= l.nominalMaxKHz ? l.maxKHz : current;
        break;
      }
      case Unit.DISABLE_TURBO:
        turbo = false;
        asked = Math.min(current, l.nominalMaxKHz);
        break;
      default:
        throw new VpmdError('E_VC_SCALE', `unknown unit ${unit}`);
    }
    this.overrides.set(pcpu, { kHz: asked, turbo });
    await this.reapply([pcpu]);
    const kHz = this.knownKHz(pcpu) ?? asked;
    const b = this.world.pcpuBounds(pcpu);
    const applied = effectiveKHz(l, asked, NO_BOUNDS, b, turbo);
    let note: string | undefined;
    if (applied !== asked) {
      note = `pCPU ${pcpu} bounds (min ${b.minKHz ?? '-'}, max ${b.maxKHz ?? '-'} kHz) hold it at ${applied} kHz instead of ${asked} kHz`;
    } else if (kHz !== asked) {
      note = `pCPU ${pcpu} shares a cpufreq policy with CPUs that need ${kHz} kHz`;
    }
    return { kHz, askedKHz: asked, ...(note ? { note } : {}) };
  }

  /** Drops the operator override of a pCPU (guests' requests apply again). */
  clearOverride(pcpu: number): void {
    this.overrides.delete(pcpu);
  }

  /** Sets a vCPU's request to a level (policies, the JSON interface). */
  async setLevel(vm: VmRecord, vcpu: number, level: Level): Promise<RequestOutcome> {
    const pcpus = this.targetsOf(vm, vcpu);
    if (typeof pcpus === 'string') return { ok: false, clamped: false, reason: pcpus };
    const l = await this.actuator.ladderFor(pcpus[0] as number);
    const raw = level === 'max' ? l.nominalMaxKHz : level === 'min' ? l.minKHz : middleStep(l);
    if (vm.requests.get(vcpu) === raw) return { ok: true, clamped: false };
    const d = this.world.raiseDenial?.(vm);
    if (d && raw > this.baseline(vm, vcpu, l, pcpus[0] as number)) return deniedOutcome(d);
    vm.requests.set(vcpu, raw);
    for (const p of pcpus) this.overrides.delete(p);
    await this.reapply(pcpus);
    const bounded = effectiveKHz(l, raw, vm.bounds, this.world.pcpuBounds(pcpus[0] as number), false);
    return { ok: true, clamped: bounded !== effectiveKHz(l, raw, NO_BOUNDS, NO_BOUNDS, false) };
  }

  /**
   * Recomputes and applies the given pCPUs (default: every pCPU vpmd drives or any VM asks
   * about), and waits for the writes. Policies no request concerns any more are restored.
   */
  async reapply(pcpus?: readonly number[]): Promise<void> {
    const wanted = new Set<number>(pcpus ?? []);
    if (!pcpus) {
      for (const p of this.managed) wanted.add(p);
      for (const p of this.overrides.keys()) wanted.add(p);
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

  /**
   * The target of one cpufreq policy (`pcpu` is one of its CPUs): the highest target of its
   * CPUs; `asked` false when nobody asks about any of them. Undefined when its ladder is not loaded.
   */
  private resolvePolicy(policy: number, pcpu: number): { target: number; asked: boolean } | undefined {
    const l = this.knownLadderOf(pcpu);
    if (!l) return undefined;
    let target = 0;
    let asked = false;
    for (const c of this.actuator.cpusOfPolicy(policy)) {
      if (this.occupants(c).length === 0 && this.world.foreignOn(c) === 0 && !this.overrides.has(c)) continue;
      const r = this.resolveCpu(l, c);
      if (r.asked) {
        asked = true;
        this.managed.add(c);
      }
      if (r.kHz > target) target = r.kHz;
    }
    if (!asked) for (const c of this.actuator.cpusOfPolicy(policy)) this.managed.delete(c);
    return { target, asked };
  }

  /** Resolves one cpufreq policy and applies or restores it, waiting for the write. */
  private async reapplyPolicy(policy: number, pcpu: number): Promise<void> {
    const ladder = this.ladder(pcpu);
    if (ladder instanceof Promise) await ladder;
    const r = this.resolvePolicy(policy, pcpu);
    if (!r) return;
    if (!r.asked) {
      await this.actuator.restore(policy);
      return;
    }
    if (this.actuator.isSettled(policy, r.target)) return;
    const w = await this.actuator.apply(policy, r.target);
    if (w.writes > 0 && this.log.isLevelEnabled('debug'))
      this.log.debug({ policy, kHz: w.kHz, writes: w.writes }, 'pCPU frequency applied');
  }

  /** The raise denial in force on a VM, if any. */
  raiseDenial(vm: VmRecord): RaiseDenial | undefined {
    return this.world.raiseDenial?.(vm);
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
