/**
 * The simulated RAPL limiter: a package never draws more than the lowest enabled, non-zero
 * power limit of its zone (`constraint_K_power_limit_uw`, long_term = PL1 and short_term = PL2).
 * Like the hardware, it gets there by lowering the frequency of the package's CPUs: the dynamic
 * part of the power (idle floor excluded) is scaled by k and every CPU's frequency by √k, which is
 * exactly what the power model (`sim-physics.ts`, P ∝ f²) needs to land on the limit.
 *
 * Simplification: the hardware holds the *average over the time window* at PL1 and may burst
 * to PL2 inside it; the simulator clips at once, which keeps every window's average at or
 * under PL1 (the time window is stored and read back, not otherwise modelled).
 */
import { SIM_POWERCAP_DIR, raplZones } from './build-platform-tree.js';
import type { SimPower } from './sim-physics.js';
import { placement, type SimProfile } from './sim-profile.js';
import type { SimTree } from './sim-tree.js';

function limitW(tree: SimTree, zoneDir: string): number {
  if (tree.files.get(`${zoneDir}/enabled`) === '0') return Infinity;
  let lowest = Infinity;
  for (let k = 0; k < 3; k++) {
    const text = tree.files.get(`${zoneDir}/constraint_${k}_power_limit_uw`);
    if (text === undefined) continue;
    const uw = Number(text);
    if (Number.isFinite(uw) && uw > 0) lowest = Math.min(lowest, uw / 1e6);
  }
  return lowest;
}

/** `power` with every package clipped to its RAPL limits (the input when none binds). */
export function applyRaplLimits(tree: SimTree, p: SimProfile, power: SimPower): SimPower {
  const zones = raplZones(p).filter((z) => z.kind === 'package');
  if (zones.length === 0 || tree.files.get(`${SIM_POWERCAP_DIR}/${p.platform.rapl?.prefix ?? ''}/enabled`) === '0')
    return power;
  const idleW = p.power.packageIdleW;
  const scale = power.packageW.map(() => 1);
  let binds = false;
  for (const zone of zones) {
    const demand = power.packageW[zone.package] ?? 0;
    const limit = limitW(tree, `${SIM_POWERCAP_DIR}/${zone.id}`);
    if (demand <= limit) continue;
    binds = true;
    scale[zone.package] = demand > idleW ? Math.max(0, (limit - idleW) / (demand - idleW)) : 1;
  }
  if (!binds) return power;
  const packageW = power.packageW.map((w, pkg) => idleW + (w - idleW) * (scale[pkg] ?? 1));
  const cpuKHz = power.cpuKHz.map((f, cpu) => Math.round(f * Math.sqrt(scale[placement(p, cpu).package] ?? 1)));
  const coreW = packageW.map((w) => 0.85 * (w - idleW) + 0.1 * idleW);
  // The per-CPU terms (energy attribution's ground truth) follow the same throttle, above each
  // CPU's floor: an approximation of the model's f·V² under a binding limit, exact when none binds.
  const cpuTerms = power.cpuTerms.map((t, cpu) => {
    const k = scale[placement(p, cpu).package] ?? 1;
    return { busyW: t.busyW * k, idleW: t.floorW + (t.idleW - t.floorW) * k, floorW: t.floorW };
  });
  return { packageW, dramW: power.dramW, coreW, cpuKHz, cpuTerms };
}
