/**
 * The core's frequency limits (`cpu-limits@1`: power profiles, budgets, thermal limits) as pCPU
 * bounds of the precedence policy. Guests' requests stay inside them: each pCPU's bounds are the
 * operator's `set_pcpu_bounds` intersected with the CPU's effective limit (a ceiling wins over a
 * floor), and a clamped request is attributed to the claim that set the side it hit.
 *
 * The request path never waits: `effective()` is an in-memory lookup, and the merged bounds are
 * cached per pCPU until the limits or the operator's bounds change. Policies the actuator drives
 * are *held*, so the core leaves them to vpmd's channel code, which keeps them inside the limits.
 */
import type { CpuLimits, Logger } from 'vpmd';
import type { Bounds } from './precedence.js';

const HOLDER = 'virtio-channels';
const NO_BOUNDS: Bounds = Object.freeze({});

/** Operator bounds merged with the core's limits. */
export class HostLimits {
  private readonly merged = new Map<number, Bounds>();
  private readonly held = new Set<number>();
  /** Clamped requests by the reason of the claim (or bound) that moved them. */
  readonly clampsByReason = new Map<string, number>();

  constructor(
    private readonly limits: CpuLimits | undefined,
    private readonly operator: (pcpu: number) => Bounds | undefined,
    private readonly log: Logger,
  ) {}

  /** The pCPU's bounds for the precedence policy (cached; see {@link invalidate}). */
  bounds(pcpu: number): Bounds {
    let b = this.merged.get(pcpu);
    if (b === undefined) {
      b = this.merge(pcpu);
      this.merged.set(pcpu, b);
    }
    return b;
  }

  /** Forgets cached bounds (limits or operator bounds changed). */
  invalidate(): void {
    this.merged.clear();
  }

  /** Subscribes to the core's limit changes; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    if (this.limits === undefined) return () => undefined;
    return this.limits.onChange(() => {
      this.invalidate();
      fn();
    });
  }

  /** Who moved a request on `pcpu` that hit its `side` bound; counts it. */
  clampReason(pcpu: number, vmBounds: Bounds, side: 'min' | 'max'): string {
    const merged = this.bounds(pcpu);
    const hit = side === 'max' ? merged.maxKHz : merged.minKHz;
    const vmSide = side === 'max' ? vmBounds.maxKHz : vmBounds.minKHz;
    let reason: string;
    if (vmSide !== undefined && (hit === undefined || (side === 'max' ? vmSide <= hit : vmSide >= hit)))
      reason = 'the VM bounds (set_vm_bounds)';
    else {
      const eff = this.limits?.effective(pcpu);
      const by = side === 'max' ? eff?.maxBy : eff?.minBy;
      const limit = side === 'max' ? eff?.maxKHz : eff?.minKHz;
      reason = by !== undefined && limit === hit ? `${by.owner}: ${by.reason}` : 'the pCPU bounds (set_pcpu_bounds)';
    }
    this.clampsByReason.set(reason, (this.clampsByReason.get(reason) ?? 0) + 1);
    return reason;
  }

  /** Holds exactly `cpus` (the CPUs of the policies the actuator drives); gives back the others. */
  syncHolds(cpus: ReadonlySet<number>): void {
    const limits = this.limits;
    if (limits === undefined) return;
    const add = [...cpus].filter((c) => !this.held.has(c));
    const drop = [...this.held].filter((c) => !cpus.has(c));
    if (add.length > 0) limits.hold(HOLDER, add);
    for (const c of add) this.held.add(c);
    if (drop.length > 0) {
      for (const c of drop) this.held.delete(c);
      limits.unhold(HOLDER, drop).catch((err: unknown) => this.log.warn({ err, cpus: drop }, 'unhold failed'));
    }
  }

  /** Gives back every held CPU (plugin stop, after the actuator restored its policies). */
  async release(): Promise<void> {
    if (this.limits === undefined || this.held.size === 0) return;
    this.held.clear();
    await this.limits.unhold(HOLDER);
  }

  private merge(pcpu: number): Bounds {
    const op = this.operator(pcpu) ?? NO_BOUNDS;
    const eff = this.limits?.effective(pcpu);
    if (eff === undefined || (eff.minKHz === undefined && eff.maxKHz === undefined)) return op;
    const maxes = [op.maxKHz, eff.maxKHz].filter((v): v is number => v !== undefined);
    const mins = [op.minKHz, eff.minKHz].filter((v): v is number => v !== undefined);
    const maxKHz = maxes.length > 0 ? Math.min(...maxes) : undefined;
    // A ceiling wins over a floor (it protects power and thermal budgets).
    const minKHz = mins.length > 0 ? Math.min(Math.max(...mins), maxKHz ?? Infinity) : undefined;
    return Object.freeze({
      ...(minKHz !== undefined ? { minKHz } : {}),
      ...(maxKHz !== undefined ? { maxKHz } : {}),
    });
  }
}
