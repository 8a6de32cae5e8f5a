/**
 * Drives cpufreq policies through the core host model, and only through it: the `userspace`
 * governor and `scaling_setspeed`, or a min = max window under `performance`. The first touch of
 * a policy saves its governor and limits; `restore` puts them back (on stop and when no VM uses
 * the policy any more). Writes are idempotent: a policy already in the wanted state is not
 * written again.
 *
 * Changes are rate-limited per policy (a token bucket of `changesPerSecond` and `burst`): this is
 * what protects the hardware from a guest that flips frequencies as fast as it can (the
 * "power-draining" attack). Wanted frequencies are coalesced: while a change waits for the limit
 * or a write is in flight, only the latest wanted frequency is kept, and it is written next.
 * {@link Actuator.want} never waits, so a guest's reply never waits for sysfs either.
 */
import { VpmdError, type HostModel, type Logger } from 'vpmd';
import { ladderOf, type FrequencyLadder } from './frequency-ladder.js';

/** A policy's settings before vpmd touched it. */
export interface SavedPolicy {
  readonly policy: number;
  readonly governor: string;
  readonly minKHz: number;
  readonly maxKHz: number;
}

interface Applied {
  readonly governor: string;
  /** The ladder step asked for. */
  readonly target: number;
  /** What the kernel settled on (kHz). */
  readonly kHz: number;
}

/** Pending and in-flight writes of one policy, and its change budget. */
interface Slot {
  want?: number;
  running?: Promise<void>;
  /** Why the last write failed (cleared by the next success). */
  error?: unknown;
  tokens: number;
  refilledAt: number;
}

/** How often a policy may change frequency. */
export interface ChangeLimit {
  readonly changesPerSecond: number;
  readonly burst: number;
}

/** What {@link Actuator.want} did with a wanted frequency. */
export type WantResult = 'settled' | 'applying' | 'coalesced';

/** Host-wide turbo, as last read. */
export interface TurboState {
  readonly supported: boolean;
  readonly enabled: boolean | undefined;
}

/** Outcome of {@link Actuator.apply}. */
export interface ApplyResult {
  /** Frequency in effect (kHz). */
  readonly kHz: number;
  /** Number of sysfs writes made (0 when the policy was already there). */
  readonly writes: number;
}

/** Applies pCPU frequencies; one instance per plugin. */
export class Actuator {
  private readonly ladders = new Map<number, FrequencyLadder>();
  private readonly policyOfCpu = new Map<number, number>();
  private readonly cpusOf = new Map<number, number[]>();
  private readonly applied = new Map<number, Applied>();
  private readonly saved = new Map<number, SavedPolicy>();
  private readonly slots = new Map<number, Slot>();
  /** What each policy ran at when last read (for policies vpmd does not drive). */
  private readonly observed = new Map<number, number>();
  private turboState: TurboState | undefined;
  private lastWriteWarn = 0;
  /** Total sysfs writes made, for stats and the idempotence test. */
  writes = 0;
  /** Changes actually written (one per frequency change). */
  changes = 0;

  constructor(
    private readonly host: HostModel,
    private readonly log: Logger,
    private readonly onSaved: (saved: readonly SavedPolicy[]) => Promise<void>,
    private readonly limit: ChangeLimit = { changesPerSecond: Infinity, burst: 1 },
  ) {}

  /** Host-wide turbo as last read by {@link refreshTurbo}; undefined before the first read. */
  get turbo(): TurboState | undefined {
    return this.turboState;
  }

  /** Reads host-wide turbo (off the request path: at start, on warm-up and every policy tick). */
  async refreshTurbo(): Promise<TurboState> {
    const t = await this.host.cpufreq.turbo();
    this.turboState = { supported: t.supported, enabled: t.enabled };
    return this.turboState;
  }

  /** Re-reads what the policies vpmd does not drive run at (off the request path). */
  async refreshObserved(): Promise<void> {
    for (const id of this.ladders.keys()) {
      if (this.applied.has(id)) continue;
      const p = await this.host.cpufreq.policy(id).catch(() => undefined);
      if (p?.scalingCurKHz !== undefined) this.observed.set(id, p.scalingCurKHz);
    }
  }

  /**
   * The frequency a policy runs at or is about to: the wanted one while a change is pending,
   * else the one applied, else the last one read. Synchronous (queries answer from it).
   */
  knownKHz(policy: number): number | undefined {
    return this.slots.get(policy)?.want ?? this.applied.get(policy)?.kHz ?? this.observed.get(policy);
  }

  /** Originals restored from state after a crash: they stay the originals. */
  adoptSaved(list: readonly SavedPolicy[]): void {
    for (const s of list) this.saved.set(s.policy, s);
  }

  /** Policies currently held (saved originals). */
  savedPolicies(): SavedPolicy[] {
    return [...this.saved.values()];
  }

  /** The policy id governing `cpu` (cached: the topology does not change at run time). */
  async policyOf(cpu: number): Promise<number> {
    const known = this.policyOfCpu.get(cpu);
    if (known !== undefined) return known;
    const p = await this.host.cpufreq.policyForCpu(cpu);
    for (const c of p.relatedCpus) this.policyOfCpu.set(c, p.id);
    this.cpusOf.set(
      p.id,
      [...this.policyOfCpu].filter(([, id]) => id === p.id).map(([c]) => c),
    );
    return p.id;
  }

  /** The policy of `cpu` when already known (no await on the per-request path). */
  knownPolicyOf(cpu: number): number | undefined {
    return this.policyOfCpu.get(cpu);
  }

  /** The ladder of a policy when already loaded. */
  knownLadder(policy: number): FrequencyLadder | undefined {
    return this.ladders.get(policy);
  }

  /** The ladder of the policy governing `cpu`. @throws VpmdError from the host model, or E_HOST_UNSUPPORTED. */
  async ladderFor(cpu: number): Promise<FrequencyLadder> {
    const id = await this.policyOf(cpu);
    const known = this.ladders.get(id);
    if (known) return known;
    const p = await this.host.cpufreq.policy(id);
    const l = ladderOf(p);
    if ('error' in l) throw new VpmdError('E_HOST_UNSUPPORTED', l.error, { policy: id });
    if (p.scalingCurKHz !== undefined) this.observed.set(id, p.scalingCurKHz);
    this.ladders.set(id, l);
    return l;
  }

  /** CPUs sharing a policy (related_cpus), once {@link policyOf} has seen it. */
  cpusOfPolicy(policy: number): readonly number[] {
    return this.cpusOf.get(policy) ?? [];
  }

  /** The frequency last applied to a policy, if vpmd drives it. */
  appliedKHz(policy: number): number | undefined {
    return this.applied.get(policy)?.kHz;
  }

  /** True when the policy is at `kHz` already and no write is pending: nothing to do. */
  isSettled(policy: number, kHz: number): boolean {
    const slot = this.slots.get(policy);
    return this.applied.get(policy)?.target === kHz && slot?.running === undefined && slot?.want === undefined;
  }

  private slot(policy: number): Slot {
    let slot = this.slots.get(policy);
    if (!slot) {
      slot = { tokens: this.limit.burst, refilledAt: performance.now() };
      this.slots.set(policy, slot);
    }
    return slot;
  }

  /**
   * Asks for a policy to run at `kHz` (a ladder step) and returns at once: the write happens in
   * the background, within the change limit. `coalesced` when an earlier wanted frequency was
   * still waiting and is replaced by this one.
   */
  want(policy: number, kHz: number): WantResult {
    if (this.isSettled(policy, kHz)) return 'settled';
    const slot = this.slot(policy);
    const waiting = slot.want !== undefined;
    slot.want = kHz;
    slot.running ??= this.drain(policy, slot).finally(() => {
      slot.running = undefined;
    });
    return waiting ? 'coalesced' : 'applying';
  }

  /** Like {@link want}, then waits until the policy is settled (operator and admin paths). */
  async apply(policy: number, kHz: number): Promise<ApplyResult> {
    const before = this.writes;
    const slot = this.slot(policy);
    slot.error = undefined;
    this.want(policy, kHz);
    while (slot.running) await slot.running;
    if (slot.error !== undefined && this.applied.get(policy)?.target !== kHz)
      throw slot.error instanceof Error ? slot.error : new Error('the cpufreq write failed');
    return { kHz: this.applied.get(policy)?.kHz ?? kHz, writes: this.writes - before };
  }

  /** Waits until every pending change is written (tests, stop). */
  async settle(): Promise<void> {
    for (const slot of this.slots.values()) while (slot.running) await slot.running;
  }

  /** Milliseconds until the policy may change again (0: now); takes the token when it may. */
  private takeChange(slot: Slot): number {
    const now = performance.now();
    const rate = this.limit.changesPerSecond;
    slot.tokens = Math.min(this.limit.burst, slot.tokens + ((now - slot.refilledAt) / 1000) * rate);
    slot.refilledAt = now;
    if (slot.tokens >= 1) {
      slot.tokens -= 1;
      return 0;
    }
    return ((1 - slot.tokens) * 1000) / rate;
  }

  private async drain(policy: number, slot: Slot): Promise<void> {
    while (slot.want !== undefined) {
      if (this.applied.get(policy)?.target !== slot.want) {
        const wait = this.takeChange(slot);
        if (wait > 0) {
          // Requests arriving meanwhile replace `want`: the latest one is written.
          await new Promise((r) => setTimeout(r, Math.ceil(wait)));
          continue;
        }
      }
      const kHz = slot.want;
      if (kHz === undefined) break;
      slot.want = undefined;
      try {
        await this.write(policy, kHz);
        slot.error = undefined;
      } catch (e) {
        slot.error = e;
        const now = Date.now();
        if (now - this.lastWriteWarn >= 10_000) {
          this.lastWriteWarn = now;
          this.log.warn(
            { policy, kHz, err: e instanceof Error ? e.message : String(e) },
            'cannot apply a guest frequency (logged at most every 10 s)',
          );
        }
      }
    }
  }

  private async write(policy: number, kHz: number): Promise<void> {
    const l = this.ladders.get(policy);
    if (!l) throw new Error(`internal: ladder of policy${policy} not loaded`);
    const governor = l.mode === 'setspeed' ? 'userspace' : 'performance';
    const prev = this.applied.get(policy);
    if (prev && prev.governor === governor && prev.target === kHz) return;
    if (prev && l.mode === 'setspeed' && (await this.retarget(policy, kHz))) return;
    const current = await this.host.cpufreq.policy(policy);
    if (!this.saved.has(policy)) {
      this.saved.set(policy, {
        policy,
        governor: current.governor,
        minKHz: current.scalingMinKHz,
        maxKHz: current.scalingMaxKHz,
      });
      await this.onSaved(this.savedPolicies());
    }
    if (current.governor !== governor) {
      await this.host.cpufreq.setGovernor(policy, governor);
      this.writes++;
    }
    let effective: number;
    if (l.mode === 'setspeed') {
      // The whole hardware range, so that setspeed is not clamped by limits someone else set.
      if (current.scalingMinKHz !== current.cpuinfoMinKHz || current.scalingMaxKHz !== current.cpuinfoMaxKHz) {
        await this.host.cpufreq.setLimits(policy, { minKHz: current.cpuinfoMinKHz, maxKHz: current.cpuinfoMaxKHz });
        this.writes++;
      }
      effective = (await this.host.cpufreq.setSpeed(policy, kHz)).kHz;
    } else {
      effective = (await this.host.cpufreq.setLimits(policy, { minKHz: kHz, maxKHz: kHz })).maxKHz;
    }
    this.writes++;
    this.changes++;
    this.applied.set(policy, { governor, target: kHz, kHz: effective });
  }

  /**
   * The per-request write on a policy vpmd already drives with `userspace`: setspeed alone,
   * without re-reading the policy first (setSpeed checks the governor itself). False when
   * someone else changed the policy (governor switched, limits narrowed): the caller then takes
   * the full path, which puts the governor and the limits back.
   */
  private async retarget(policy: number, kHz: number): Promise<boolean> {
    let effective: number;
    try {
      effective = (await this.host.cpufreq.setSpeed(policy, kHz)).kHz;
    } catch (e) {
      if (e instanceof VpmdError && (e.code === 'E_HOST_INVALID' || e.code === 'E_HOST_VERIFY')) return false;
      throw e;
    }
    this.writes++;
    if (effective !== kHz) return false;
    this.changes++;
    this.applied.set(policy, { governor: 'userspace', target: kHz, kHz: effective });
    return true;
  }

  /** Restores a policy's saved governor and limits; forgets it. */
  async restore(policy: number): Promise<void> {
    const slot = this.slots.get(policy);
    if (slot) slot.want = undefined;
    await slot?.running?.catch(() => undefined);
    const s = this.saved.get(policy);
    this.applied.delete(policy);
    if (!s) return;
    try {
      const current = await this.host.cpufreq.policy(policy);
      if (current.governor !== s.governor) await this.host.cpufreq.setGovernor(policy, s.governor);
      if (current.scalingMinKHz !== s.minKHz || current.scalingMaxKHz !== s.maxKHz) {
        await this.host.cpufreq.setLimits(policy, { minKHz: s.minKHz, maxKHz: s.maxKHz });
      }
      this.saved.delete(policy);
      await this.onSaved(this.savedPolicies());
    } catch (e) {
      this.log.warn(
        { policy, err: e instanceof Error ? e.message : String(e) },
        'cannot restore the original cpufreq settings',
      );
      throw e;
    }
  }

  /** Restores every saved policy; reports failures but tries them all. */
  async restoreAll(): Promise<number> {
    let failed = 0;
    for (const id of [...this.saved.keys()]) await this.restore(id).catch(() => failed++);
    return failed;
  }
}
