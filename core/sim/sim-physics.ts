/**
 * The simulated host's dynamics: which frequency each policy runs at, how much power each RAPL
 * domain draws, and how energy counters, temperatures and idle statistics evolve over time.
 *
 * Model (deliberately simple, but with the shapes a power manager reacts to):
 * - frequency follows the governor: performance → max, powersave → min (load-driven with EPP
 *   for setpolicy drivers), userspace → setspeed, ondemand/schedutil/conservative →
 *   min + load·(max − min), resolved to the frequency table when there is one; turbo off caps
 *   at the nominal frequency;
 * - package power: see `sim-power-model.ts` (per-CPU f·V² dynamic power and leakage, idle
 *   states drawing a fraction of busy power, static and load-dependent uncore power);
 * - temperature is a first-order lag toward ambient + R·P with time constant τ (exact
 *   exponential step, so any step size gives the same result);
 * - RAPL counters advance by P·dt and wrap at max_energy_range_uj.
 */
import { SIM_MAX_ENERGY_RANGE_UJ, raplZones } from './build-platform-tree.js';
import { cpufreqMode, simPolicyDir, SIM_CPUFREQ_DIR } from './build-cpufreq-tree.js';
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import { cpuCount, placement, type SimCpufreqMode, type SimProfile } from './sim-profile.js';
import type { SimState } from './sim-state.js';
import type { SimTree } from './sim-tree.js';
import { qosAllows, uncoreDeltaW } from './sim-qos-uncore.js';
import { cpuPowerTerms, packagePowerW, type CpuPowerTerms } from './sim-power-model.js';

/** Power of every domain at one instant, W, and each CPU's frequency, kHz. */
export interface SimPower {
  readonly packageW: readonly number[];
  readonly dramW: readonly number[];
  readonly coreW: readonly number[];
  readonly cpuKHz: readonly number[];
  /** Each CPU's busy and idle power at its frequency (the ground truth of energy attribution). */
  readonly cpuTerms: readonly CpuPowerTerms[];
}

// The dynamics run on every simulated write and dynamic read: paths are built once per policy
// and CPU, and the loops below allocate nothing but their results.

/** Files of one policy the dynamics read. */
interface PolicyFiles {
  readonly governor: string;
  readonly min: string;
  readonly max: string;
  readonly setspeed: string;
  readonly epp: string;
}

const policyFileCache = new Map<number, PolicyFiles>();

function policyFiles(id: number): PolicyFiles {
  let f = policyFileCache.get(id);
  if (f === undefined) {
    const dir = simPolicyDir(id);
    f = {
      governor: `${dir}/scaling_governor`,
      min: `${dir}/scaling_min_freq`,
      max: `${dir}/scaling_max_freq`,
      setspeed: `${dir}/scaling_setspeed`,
      epp: `${dir}/energy_performance_preference`,
    };
    policyFileCache.set(id, f);
  }
  return f;
}

const idleDisableCache = new Map<number, string[]>();

/** `cpuN/cpuidle/stateK/disable`, built once per CPU and state. */
function idleDisableFile(cpu: number, state: number): string {
  let files = idleDisableCache.get(cpu);
  if (files === undefined) {
    files = [];
    idleDisableCache.set(cpu, files);
  }
  return (files[state] ??= `${SIM_CPU_DIR}/cpu${cpu}/cpuidle/state${state}/disable`);
}

const zoneCache = new WeakMap<SimProfile, ReturnType<typeof raplZones>>();

/** Load curve exponent per EPP: lower ramps up faster. */
const EPP_RAMP: Readonly<Record<string, number>> = {
  performance: 0.5,
  balance_performance: 1,
  balance_power: 1.5,
  power: 2.5,
};

function intFile(tree: SimTree, path: string): number | undefined {
  const v = tree.files.get(path);
  return v === undefined || !/^\d+$/.test(v.trim()) ? undefined : Number(v);
}

/** The current cpufreq mode (from the status file, else the profile's initial mode). */
export function currentMode(tree: SimTree, p: SimProfile): SimCpufreqMode | null {
  const driver = p.cpufreq.statusDriver;
  const status = driver === undefined ? undefined : tree.files.get(`${SIM_CPU_DIR}/${driver}/status`);
  return cpufreqMode(p, status ?? p.cpufreq.initialMode);
}

/** True when turbo frequencies are allowed. */
export function turboEnabled(tree: SimTree, p: SimProfile): boolean {
  if (p.cpufreq.turbo === 'boost') return tree.files.get(`${SIM_CPUFREQ_DIR}/boost`) === '1';
  if (p.cpufreq.turbo === 'no_turbo') return tree.files.get(`${SIM_CPU_DIR}/intel_pstate/no_turbo`) === '0';
  return false;
}

/** Kernel RELATION_L: the lowest table entry at or above `target` within [lo, hi]. */
export function resolveToTable(table: readonly number[] | undefined, target: number, lo: number, hi: number): number {
  let lowestAbove = Infinity;
  let highest = -Infinity;
  for (const f of table ?? []) {
    if (f < lo || f > hi) continue;
    if (f >= target && f < lowestAbove) lowestAbove = f;
    if (f > highest) highest = f;
  }
  if (highest === -Infinity) return target;
  return lowestAbove !== Infinity ? lowestAbove : highest;
}

/** The frequency (kHz) a policy runs at now; undefined when the policy does not exist. */
export function policyFrequencyKHz(
  tree: SimTree,
  p: SimProfile,
  state: SimState,
  id: number,
  mode = currentMode(tree, p),
): number | undefined {
  const files = policyFiles(id);
  const governor = tree.files.get(files.governor);
  const min = intFile(tree, files.min);
  const max = intFile(tree, files.max);
  if (mode === null || governor === undefined || min === undefined || max === undefined) return undefined;
  const hi = turboEnabled(tree, p) ? max : Math.min(max, p.cpufreq.nominalKHz);
  const lo = Math.min(min, hi);
  const load = state.loads[id] ?? 0;
  let f: number;
  if (governor === 'performance') f = hi;
  else if (governor === 'powersave') {
    const ramp = EPP_RAMP[tree.files.get(files.epp) ?? 'balance_performance'] ?? 1;
    f = mode.setpolicy ? lo + (hi - lo) * load ** ramp : lo;
  } else if (governor === 'userspace') f = Math.min(hi, Math.max(lo, intFile(tree, files.setspeed) ?? lo));
  else f = lo + (hi - lo) * load;
  return resolveToTable(p.cpufreq.table, Math.round(f), lo, hi);
}

/** Idle power fraction of a CPU: that of its deepest enabled idle state (1 = it polls). */
export function idlePowerOf(tree: SimTree, p: SimProfile, cpu: number): number {
  let factor = 1;
  const states = p.cpuidle.states;
  for (let k = 0; k < states.length; k++) {
    const s = states[k] as { idlePower: number; latencyUs: number };
    // PM QoS: a state slower to leave than the CPU's resume-latency bound is never entered.
    if (tree.files.get(idleDisableFile(cpu, k)) === '0' && qosAllows(tree, cpu, s.latencyUs)) factor = s.idlePower;
  }
  return factor;
}

/** Computes every domain's power from the current settings and loads. */
export function computePower(tree: SimTree, p: SimProfile, state: SimState): SimPower {
  const mode = currentMode(tree, p);
  const pw = p.power;
  const perPackage = p.coresPerPackage * p.threadsPerCore;
  const load = new Array<number>(p.packages).fill(0);
  const cpus = cpuCount(p);
  const cpuKHz = new Array<number>(cpus);
  const cpuTerms = new Array<CpuPowerTerms>(cpus);
  const packageCpus: number[][] = Array.from({ length: p.packages }, () => []);
  // The frequency each CPU would idle at: its idle power then is the floor the truth counts from.
  const idleState: SimState = { ...state, loads: new Array<number>(cpus).fill(0) };
  for (let cpu = 0; cpu < cpus; cpu++) {
    const f = policyFrequencyKHz(tree, p, state, cpu, mode) ?? p.cpufreq.nominalKHz;
    const f0 = policyFrequencyKHz(tree, p, idleState, cpu, mode) ?? p.cpufreq.nominalKHz;
    const pkg = placement(p, cpu).package;
    load[pkg] = (load[pkg] ?? 0) + (state.loads[cpu] ?? 0);
    cpuKHz[cpu] = f;
    cpuTerms[cpu] = cpuPowerTerms(p, f, f0, idlePowerOf(tree, p, cpu));
    packageCpus[pkg]?.push(cpu);
  }
  // The uncore window adds to (or, lowered, takes from) each package's idle power.
  const packageW = packageCpus.map(
    (list, pkg) => packagePowerW(p, list, cpuTerms, state.loads) + uncoreDeltaW(tree, p, pkg),
  );
  const dramW = load.map((l) => (pw.dramIdleW ?? 0) + ((pw.dramMaxW ?? 0) - (pw.dramIdleW ?? 0)) * (l / perPackage));
  const coreW = packageW.map((w) => 0.85 * (w - pw.packageIdleW) + 0.1 * pw.packageIdleW);
  return { packageW, dramW, coreW, cpuKHz, cpuTerms };
}

/** Temperature after `dtS` seconds at constant power (exact first-order step). */
export function lagTemperature(p: SimProfile, tempC: number, powerW: number, dtS: number): number {
  const target = p.power.ambientC + p.power.thermalResistance * powerW;
  return target + (tempC - target) * Math.exp(-dtS / p.power.thermalTimeConstantS);
}

/**
 * Advances energy counters, temperatures and idle statistics by `dtMs` at constant `power`.
 * Idle time goes 80 % to the deepest enabled state and 20 % to the shallowest non-polling one.
 */
export function advanceDynamics(tree: SimTree, p: SimProfile, state: SimState, power: SimPower, dtMs: number): void {
  if (dtMs <= 0) return;
  const dtS = dtMs / 1000;
  let zones = zoneCache.get(p);
  if (zones === undefined) {
    zones = raplZones(p);
    zoneCache.set(p, zones);
  }
  for (const zone of zones) {
    const watts =
      (zone.kind === 'package' ? power.packageW : zone.kind === 'dram' ? power.dramW : power.coreW)[zone.package] ?? 0;
    state.energyUj[zone.id] = ((state.energyUj[zone.id] ?? 0) + watts * dtS * 1e6) % SIM_MAX_ENERGY_RANGE_UJ;
  }
  const temps = state.packageTempC;
  for (let pkg = 0; pkg < temps.length; pkg++)
    temps[pkg] = lagTemperature(p, temps[pkg] as number, power.packageW[pkg] ?? 0, dtS);
  const states = p.cpuidle.states;
  const cpus = cpuCount(p);
  for (let cpu = 0; cpu < cpus; cpu++) {
    // The deepest enabled state, and the shallowest enabled one that does not poll.
    let deepest = -1;
    let shallow = -1;
    for (let k = 0; k < states.length; k++) {
      if (tree.files.get(idleDisableFile(cpu, k)) !== '0' || !qosAllows(tree, cpu, states[k]?.latencyUs ?? 0)) continue;
      deepest = k;
      if (shallow === -1 && (states[k]?.idlePower ?? 1) < 1) shallow = k;
    }
    if (deepest === -1) continue;
    if (shallow === -1) shallow = deepest;
    const usage = state.idleUsage[cpu];
    const time = state.idleTimeUs[cpu];
    if (usage === undefined || time === undefined) continue;
    const idleS = (1 - (state.loads[cpu] ?? 0)) * dtS;
    const credit = (k: number, share: number, entriesPerS: number): void => {
      usage[k] = (usage[k] ?? 0) + idleS * share * entriesPerS;
      time[k] = (time[k] ?? 0) + idleS * share * 1e6;
    };
    if (shallow === deepest) credit(deepest, 1, 150);
    else {
      credit(deepest, 0.8, 100);
      credit(shallow, 0.2, 2000);
    }
  }
}
