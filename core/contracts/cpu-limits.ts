/**
 * Frequency limits on host CPUs, claimed by several owners at once (`cpu-limits@1`, provided by
 * the core). Power profiles (a pool's min/max), per-VM budgets (a ceiling on a VM's exclusive
 * pCPUs), facility and thermal limits each claim limits under their own owner name; none
 * overwrites another. The effective limit of a CPU is the intersection of every claim on it,
 * and a ceiling wins over a floor when they cross (a power or thermal limit is a safety limit; a
 * floor is a wish). The core writes the effective limits to each CPU's cpufreq policy
 * (`scaling_min_freq`/`scaling_max_freq`; a policy spanning several CPUs takes the strictest of
 * them) and, when the last claim goes, puts back the values it found, which it keeps in the
 * state store so a crash does not lose them. A plugin that drives a policy itself (virtio-channels
 * under the userspace governor) *holds* its CPUs: the core then leaves those policies alone and
 * the holder keeps its own writes inside {@link CpuLimits.effective}, re-applying on
 * {@link CpuLimits.onChange}, and tells the guest when a request was clamped and by whom.
 * Besides limits on CPUs, an owner may deny a domain's guests any request to raise their
 * frequency ({@link RaiseDenial}): per domain, not per CPU, so a VM sharing CPUs with others is
 * denied without slowing its neighbours.
 */
import { defineCapability } from '../kernel/capabilities.js';

/** A frequency window in kHz; an absent side is unbounded. */
export interface FrequencyLimit {
  readonly minKHz?: number;
  readonly maxKHz?: number;
}

/** One owner's claim on one CPU. */
export interface CpuLimitClaim extends FrequencyLimit {
  /** Who claims it: `<plugin>:<what>`, e.g. `profiles:latency-critical`, `power:budget:web-1`. */
  readonly owner: string;
  /** Why, in words an operator reads in `vpmctl` and in guest replies. */
  readonly reason: string;
  readonly since: number;
}

/** A CPU's effective limit and where each side comes from. */
export interface EffectiveCpuLimit extends FrequencyLimit {
  readonly cpu: number;
  /** The claim that sets the ceiling (the lowest max), when any. */
  readonly maxBy?: CpuLimitClaim;
  /** The claim that sets the floor (the highest min, below the ceiling), when any. */
  readonly minBy?: CpuLimitClaim;
  readonly claims: readonly CpuLimitClaim[];
  /** The plugin holding the CPU's policy, when one does. */
  readonly heldBy?: string;
}

/**
 * A ban on a domain's guest requests to raise the frequency of its CPUs: the harshest actuator of
 * a per-VM budget (after the frequency ceiling and the CPU quota). Guest channels refuse the
 * raising requests of a denied domain (DPDK's SCALE_UP, SCALE_MAX, ENABLE_TURBO, a WORKLOAD
 * policy or a JSON instruction asking for more than it runs at) with a NACK, which is all DPDK's
 * binary protocol can say, and give the reason where their protocol carries one (vpmd's JSON
 * reply) and in their counters and log. Requests to lower the frequency are always served.
 */
export interface RaiseDenial {
  /** Who denies: `<plugin>:<what>`, e.g. `power:budget:web-1`. */
  readonly owner: string;
  /** The domain's UUID (lower case). */
  readonly uuid: string;
  /** The domain's name when the denial was made (guest channels know VMs by name). */
  readonly name: string;
  /** Why, in words an operator reads in `vpmctl` and a guest in a JSON reply. */
  readonly reason: string;
  readonly since: number;
}

/** The limits capability. */
export interface CpuLimits {
  /**
   * Sets `owner`'s claim on each CPU in `cpus` (replacing its earlier claim there) and applies
   * the result before resolving. @throws E_CPU_LIMITS_INVALID (min above max, unknown CPU, bad owner).
   */
  claim(owner: string, cpus: readonly number[], limit: FrequencyLimit, reason: string): Promise<void>;
  /** Drops `owner`'s claims (on `cpus`, or everywhere) and applies the result. */
  release(owner: string, cpus?: readonly number[]): Promise<void>;
  /** A CPU's effective limit (unbounded when nothing is claimed). */
  effective(cpu: number): EffectiveCpuLimit;
  /** Every CPU with at least one claim, by CPU number. */
  claimed(): readonly EffectiveCpuLimit[];
  /** `holder` drives these CPUs' policies itself: the core stops writing them (see the module doc). */
  hold(holder: string, cpus: readonly number[]): void;
  /** Gives back held CPUs (all of `holder`'s when `cpus` is absent); the core applies its limits to them again. */
  unhold(holder: string, cpus?: readonly number[]): Promise<void>;
  /** Called with the CPUs whose effective limit changed; returns the unsubscribe function. */
  onChange(listener: (cpus: readonly number[]) => void): () => void;
  /**
   * Denies a domain's guest requests to raise its CPUs' frequency ({@link RaiseDenial}),
   * replacing `owner`'s earlier denial of that domain. Kept in memory only: the owner re-denies
   * after a restart, as it re-claims its limits.
   * @throws E_CPU_LIMITS_INVALID (bad owner, a UUID that is not one, an empty reason)
   */
  denyRaise(owner: string, domain: { readonly uuid: string; readonly name: string }, reason: string): void;
  /** Lifts `owner`'s denial of the domain `uuid`, or all of `owner`'s denials. */
  liftRaise(owner: string, uuid?: string): void;
  /**
   * The denial in force on a domain, by UUID (any case) or name; the oldest when several owners
   * deny. Read from memory: guest channels call it on the request path.
   */
  raiseDenied(uuidOrName: string): RaiseDenial | undefined;
  /** Every denial in force, oldest first. */
  raiseDenials(): readonly RaiseDenial[];
}

/** Token of {@link CpuLimits}: provided by the core; any plugin may get it. */
export const CPU_LIMITS = defineCapability<CpuLimits>('cpu-limits@1');
