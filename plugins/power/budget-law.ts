/**
 * The per-VM budget law, free of I/O so it can be reasoned about (docs/power-control.md):
 * dynamic power goes with f² at a fixed load and with the CPU share at a fixed frequency, so
 * - ceiling (exclusive pCPUs): f' = f_run · √(target / measured), clamped to the CPUs' range;
 * - quota (shared pCPUs, or the ceiling already at its floor): q' = q · √(target / measured),
 *   clamped to [QUOTA_FLOOR, 1]: power grows with the share faster than linearly when the
 *   governor follows load (f rises with it), so the square root keeps the step stable for
 *   P ∝ qⁿ up to n = 4 at the price of a few more periods when n = 1.
 * The target is aimed a little under the budget (AIM) so that the noise of one period does not
 * overshoot it, and changes under DEADBAND are not written (the loop stays quiet at rest).
 * Anti-windup: neither actuator is pushed past its range: a ceiling clamped at the floor hands
 * over to the quota instead of winding lower, and a ceiling at the top or a quota at 1 is
 * released rather than held.
 * - denial (the last rung): when the gentler actuators have been spent for a period (the quota
 *   at QUOTA_FLOOR, or, without a quota actuator, the ceiling at the CPUs' lowest frequency or no
 *   ceiling possible on shared pCPUs) and the VM still draws more than its budget, its guests' requests to raise
 *   their frequency are denied. The denial holds while the actuators stay spent and lifts as soon
 *   as the law moves one of them back up (the VM fell under its budget), or on release.
 */

/** What the law remembers about one budget's actuators. */
export interface ActuatorMemory {
  /** The frequency ceiling claimed on its exclusive pCPUs, kHz; absent = none. */
  ceilingKHz?: number;
  /** The CPU share (0..1] set through the quota; absent = unlimited. */
  quota?: number;
  /** Guest requests to raise the frequency are denied (the last rung); absent = not denied. */
  deny?: boolean;
}

/** The inputs of one decision. */
export interface LawInput {
  readonly measuredW: number;
  readonly targetW: number;
  /** Whether the VM's vCPUs run on pCPUs no other VM uses (the ceiling is then safe). */
  readonly exclusive: boolean;
  /** Mean current frequency of its pCPUs, kHz. */
  readonly runKHz: number;
  readonly minKHz: number;
  readonly maxKHz: number;
  /** Whether the quota actuator can be used (libvirt answers); default true. */
  readonly quotaAvailable?: boolean;
}

export const AIM = 0.985;
export const DEADBAND = 0.02;
export const QUOTA_FLOOR = 0.05;

/** The actuators' next values, the denial included (the memory is not changed). */
export function nextActuators(mem: Readonly<ActuatorMemory>, x: LawInput): ActuatorMemory {
  const quotaAvailable = x.quotaAvailable !== false;
  const { deny: _denied, ...gentle } = mem;
  let next = gentleActuators(gentle, x);
  if (!quotaAvailable && next.quota !== undefined) {
    const { quota: _dropped, ...rest } = next;
    next = rest;
  }
  // Without a quota, shared pCPUs leave nothing gentler (no ceiling may slow the neighbours).
  const spentAt = (a: ActuatorMemory): boolean =>
    quotaAvailable
      ? a.quota !== undefined && a.quota <= QUOTA_FLOOR
      : !x.exclusive || (a.ceilingKHz !== undefined && a.ceilingKHz <= x.minKHz);
  // Spent for a whole period already: the gentler rungs had their chance to work.
  const spent = spentAt(gentle) && spentAt(next);
  const over = x.measuredW > x.targetW;
  // Hold while still spent (the deadband keeps the quota in place); lift once a rung moves up.
  const deny = spent && (over || (mem.deny === true && x.measuredW > x.targetW * AIM * (1 - DEADBAND)));
  return deny ? { ...next, deny: true } : next;
}

/** The ceiling and quota: the gentler actuators. */
function gentleActuators(mem: Readonly<ActuatorMemory>, x: LawInput): ActuatorMemory {
  const engaged = mem.ceilingKHz !== undefined || mem.quota !== undefined;
  if (x.measuredW <= 0) return { ...mem };
  const ratio = (x.targetW * AIM) / x.measuredW;
  if (!engaged && x.measuredW <= x.targetW) return {};
  if (engaged && Math.abs(ratio - 1) < DEADBAND) return { ...mem };
  // The quota is the outer actuator: while it is on, it moves first (in both directions).
  if (mem.quota !== undefined) {
    const q = mem.quota * Math.sqrt(ratio);
    if (q >= 1) {
      // Released; the ceiling (if any) takes over from where it is.
      return mem.ceilingKHz === undefined ? {} : { ceilingKHz: mem.ceilingKHz };
    }
    return { ...mem, quota: Math.max(QUOTA_FLOOR, q) };
  }
  if (!x.exclusive) return { quota: Math.max(QUOTA_FLOOR, Math.min(1, Math.sqrt(ratio))) };
  const base = Math.min(mem.ceilingKHz ?? x.maxKHz, x.runKHz > 0 ? x.runKHz : x.maxKHz);
  const f = Math.round((base * Math.sqrt(ratio)) / 1000) * 1000;
  if (f >= x.maxKHz) return {};
  if (f <= x.minKHz) {
    // At the floor: hold it there and let the quota take the rest.
    const q = ratio / Math.max((x.minKHz / base) ** 2, 1e-3);
    return q >= 1 ? { ceilingKHz: x.minKHz } : { ceilingKHz: x.minKHz, quota: Math.max(QUOTA_FLOOR, q) };
  }
  return { ceilingKHz: f };
}
