/**
 * The host precedence policy: what frequency a pCPU runs at given the guests' requests.
 *
 * - A guest's request is clamped into its VM's bounds and the pCPU's bounds (host bounds always
 *   win), then snapped to a ladder step; turbo steps only when the guest enabled turbo there.
 * - A pCPU shared by several VMs runs at the highest of their effective requests, so no VM can
 *   slow another down. A VM (or a libvirt domain vpmd does not manage) that shares the pCPU
 *   without having asked counts as asking for the nominal maximum: DPDK forces such a core to
 *   max; here the guests that did ask still get up to turbo if they enabled it.
 */
import { snapDown, snapUp, type FrequencyLadder } from './frequency-ladder.js';

/** Optional lower and upper bounds in kHz. */
export interface Bounds {
  readonly minKHz?: number;
  readonly maxKHz?: number;
}

/** One VM's stake in a pCPU. */
export interface PcpuClaim {
  readonly vm: string;
  /** The guest's raw request in kHz; undefined when it has not asked (counts as nominal max). */
  readonly requestKHz?: number;
  readonly bounds: Bounds;
  readonly turbo: boolean;
  /** True when some vCPU of the VM on this pCPU asked (even if another did not). */
  readonly asked?: boolean;
}

/** A request after the precedence policy. */
export interface EffectiveRequest {
  readonly kHz: number;
  /** True when bounds or the ladder moved the request. */
  readonly clamped: boolean;
}

/** The allowed window of one VM on one pCPU. */
export function window(l: FrequencyLadder, vm: Bounds, pcpu: Bounds, turbo: boolean): { lo: number; hi: number } {
  const ceiling = turbo ? l.maxKHz : l.nominalMaxKHz;
  const hi = Math.min(ceiling, vm.maxKHz ?? Infinity, pcpu.maxKHz ?? Infinity);
  const lo = Math.max(l.minKHz, vm.minKHz ?? 0, pcpu.minKHz ?? 0);
  // Conflicting bounds: the upper one wins (it protects power and thermal budgets).
  return { lo: Math.min(lo, hi), hi };
}

/** Clamps and snaps one request. */
export function effectiveRequest(l: FrequencyLadder, rawKHz: number, vm: Bounds, pcpu: Bounds, turbo: boolean): EffectiveRequest {
  const { lo, hi } = window(l, vm, pcpu, turbo);
  let kHz = snapDown(l, Math.min(Math.max(rawKHz, lo), hi));
  if (kHz < lo) {
    const up = snapUp(l, lo);
    if (up <= hi) kHz = up;
  }
  return { kHz, clamped: kHz !== rawKHz };
}

/**
 * The frequency a pCPU runs at: the highest effective request of the VMs on it, where VMs
 * that did not ask and `foreign` domains count as the nominal maximum (within the pCPU bounds).
 */
export function resolvePcpu(l: FrequencyLadder, claims: readonly PcpuClaim[], pcpu: Bounds, foreign: number): number {
  const nominal = effectiveRequest(l, l.nominalMaxKHz, {}, pcpu, false).kHz;
  let target = foreign > 0 ? nominal : 0;
  for (const c of claims) {
    const kHz = c.requestKHz === undefined ? nominal : effectiveRequest(l, c.requestKHz, c.bounds, pcpu, c.turbo).kHz;
    target = Math.max(target, kHz);
  }
  return target === 0 ? nominal : target;
}
