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

/** What the precedence policy reads of a VM (a `VmRecord` fits). */
export interface Claimant {
  /** The guest's raw requests per vCPU (kHz); a vCPU without one has not asked. */
  readonly requests: ReadonlyMap<number, number>;
  /** vCPUs whose guest enabled turbo. */
  readonly turbo: ReadonlySet<number>;
  readonly bounds: Bounds;
}

/** One VM's stake in a pCPU: the VM and its vCPUs that may run there. */
export interface PcpuOccupant {
  readonly vm: Claimant;
  readonly vcpus: readonly number[];
}

/** What a pCPU runs at under the precedence policy. */
export interface PcpuResolution {
  readonly kHz: number;
  /** True when some VM on the pCPU has asked (else nobody needs vpmd to drive it). */
  readonly asked: boolean;
}

/** A request after the precedence policy. */
export interface EffectiveRequest {
  readonly kHz: number;
  /** True when bounds or the ladder moved the request. */
  readonly clamped: boolean;
}

/** The top of the window a VM may ask for on a pCPU. */
function windowHigh(l: FrequencyLadder, vm: Bounds, pcpu: Bounds, turbo: boolean): number {
  return Math.min(turbo ? l.maxKHz : l.nominalMaxKHz, vm.maxKHz ?? Infinity, pcpu.maxKHz ?? Infinity);
}

/** The bottom of that window. */
function windowLow(l: FrequencyLadder, vm: Bounds, pcpu: Bounds, hi: number): number {
  // Conflicting bounds: the upper one wins (it protects power and thermal budgets).
  return Math.min(Math.max(l.minKHz, vm.minKHz ?? 0, pcpu.minKHz ?? 0), hi);
}

/** Clamps and snaps one request; returns the step in kHz (runs per request: no allocation). */
export function effectiveKHz(l: FrequencyLadder, rawKHz: number, vm: Bounds, pcpu: Bounds, turbo: boolean): number {
  const hi = windowHigh(l, vm, pcpu, turbo);
  const lo = windowLow(l, vm, pcpu, hi);
  const kHz = snapDown(l, Math.min(Math.max(rawKHz, lo), hi));
  if (kHz < lo) {
    const up = snapUp(l, lo);
    if (up <= hi) return up;
  }
  return kHz;
}

/** Clamps and snaps one request. */
export function effectiveRequest(
  l: FrequencyLadder,
  rawKHz: number,
  vm: Bounds,
  pcpu: Bounds,
  turbo: boolean,
): EffectiveRequest {
  const kHz = effectiveKHz(l, rawKHz, vm, pcpu, turbo);
  return { kHz, clamped: kHz !== rawKHz };
}

const NO_BOUNDS: Bounds = Object.freeze({});

/**
 * The frequency a pCPU runs at: the highest effective request of the VMs on it. A VM counts as
 * asking for the nominal maximum (within the pCPU bounds) until every one of its vCPUs there
 * has asked, and so do `foreign` domains. Runs on every guest request, so it loops instead of
 * building claim lists.
 */
export function resolvePcpu(
  l: FrequencyLadder,
  occupants: readonly PcpuOccupant[],
  pcpu: Bounds,
  foreign: number,
): PcpuResolution {
  const nominal = effectiveKHz(l, l.nominalMaxKHz, NO_BOUNDS, pcpu, false);
  let target = foreign > 0 ? nominal : 0;
  let asked = false;
  for (const { vm, vcpus } of occupants) {
    let request = 0;
    let everyVcpuAsked = true;
    // Most VMs never enable turbo: then there is no set to look each vCPU up in.
    const anyTurbo = vm.turbo.size > 0;
    let turbo = false;
    for (const v of vcpus) {
      const r = vm.requests.get(v);
      if (r === undefined) everyVcpuAsked = false;
      else {
        asked = true;
        if (r > request) request = r;
      }
      if (anyTurbo && vm.turbo.has(v)) turbo = true;
    }
    const kHz = everyVcpuAsked && vcpus.length > 0 ? effectiveKHz(l, request, vm.bounds, pcpu, turbo) : nominal;
    if (kHz > target) target = kHz;
  }
  return { kHz: target === 0 ? nominal : target, asked };
}
