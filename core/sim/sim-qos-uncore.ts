/**
 * PM QoS resume latency and Intel uncore frequency on the simulated host (the knobs power
 * profiles set). Kernel behaviour reproduced:
 * - `cpuN/power/pm_qos_resume_latency_us`: reads `0` (no constraint), `n/a` (no latency
 *   allowed) or a bound in µs; a write takes a non-negative integer (`0` = no constraint) or
 *   `n/a`, EINVAL otherwise. Idle states whose exit latency exceeds the bound are skipped, as
 *   the menu and teo governors do: they are never entered and draw no idle time.
 * - `intel_uncore_frequency/package_PP_die_DD/{min,max}_freq_khz` (Intel profiles only): a kHz
 *   value inside `initial_{min,max}_freq_khz`, min not above max, EINVAL otherwise.
 *   `current_freq_khz` follows `max_freq_khz` (the simulated uncore runs at its ceiling, as
 *   with efficiency latency control off).
 * - Power: uncore power is a share of each package's idle power at the initial ceiling and
 *   scales with (f / f_initial)², so lowering the ceiling lowers package power even when idle.
 */
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import { parseUnsigned, type WriteContext, type WriteRule } from './kernel-write-context.js';
import { allCpus, type SimProfile } from './sim-profile.js';
import type { SimTree } from './sim-tree.js';

/** Root-relative uncore directory. */
export const SIM_UNCORE_DIR = `${SIM_CPU_DIR}/intel_uncore_frequency`;
/** Initial uncore window of the simulated Intel parts, kHz. */
export const SIM_UNCORE_MIN_KHZ = 800_000;
export const SIM_UNCORE_MAX_KHZ = 2_400_000;
/** Share of a package's idle power drawn by the uncore at its initial ceiling (Intel credits up to 40 %). */
export const SIM_UNCORE_IDLE_SHARE = 0.3;

/** `package_PP_die_00` directory of a package. */
export function uncoreDir(pkg: number): string {
  return `${SIM_UNCORE_DIR}/package_${String(pkg).padStart(2, '0')}_die_00`;
}

const qosPathCache: string[] = [];

/** `cpuN/power/pm_qos_resume_latency_us`. */
export function qosFile(cpu: number): string {
  return (qosPathCache[cpu] ??= `${SIM_CPU_DIR}/cpu${cpu}/power/pm_qos_resume_latency_us`);
}

/** Adds the PM QoS files and (on Intel profiles) the uncore tree. */
export function buildQosUncoreTree(t: SimTree, p: SimProfile): void {
  for (const cpu of allCpus(p)) t.file(qosFile(cpu), '0');
  if (p.identity.vendor !== 'GenuineIntel') return;
  for (let pkg = 0; pkg < p.packages; pkg++) {
    t.filesIn(uncoreDir(pkg), {
      initial_min_freq_khz: SIM_UNCORE_MIN_KHZ,
      initial_max_freq_khz: SIM_UNCORE_MAX_KHZ,
      min_freq_khz: SIM_UNCORE_MIN_KHZ,
      max_freq_khz: SIM_UNCORE_MAX_KHZ,
      current_freq_khz: SIM_UNCORE_MAX_KHZ,
    });
  }
}

/** True when PM QoS lets `cpu` enter an idle state of `latencyUs` exit latency. */
export function qosAllows(tree: SimTree, cpu: number, latencyUs: number): boolean {
  const v = tree.files.get(qosFile(cpu));
  if (v === undefined || v === '0') return true;
  if (v === 'n/a') return latencyUs === 0;
  return latencyUs <= Number(v);
}

/** Package power change (W) from the uncore window, relative to its initial ceiling (0 without uncore). */
export function uncoreDeltaW(tree: SimTree, p: SimProfile, pkg: number): number {
  const dir = uncoreDir(pkg);
  const f = Number(tree.files.get(`${dir}/current_freq_khz`));
  const f0 = Number(tree.files.get(`${dir}/initial_max_freq_khz`));
  if (!(f > 0 && f0 > 0)) return 0;
  return SIM_UNCORE_IDLE_SHARE * p.power.packageIdleW * ((f / f0) ** 2 - 1);
}

function writeUncore(ctx: WriteContext, m: RegExpExecArray, value: string): void {
  const dir = m[1] as string;
  const side = m[2] as 'min' | 'max';
  const kHz = parseUnsigned(ctx, value, 'a frequency in kHz');
  const num = (name: string): number => Number(ctx.tree.files.get(`${dir}/${name}`));
  const lo = num('initial_min_freq_khz');
  const hi = num('initial_max_freq_khz');
  if (kHz < lo || kHz > hi) ctx.reject('EINVAL', `uncore frequency must be within ${lo}-${hi} kHz`);
  if (side === 'min' && kHz > num('max_freq_khz'))
    ctx.reject('EINVAL', `min above max_freq_khz ${num('max_freq_khz')}`);
  if (side === 'max' && kHz < num('min_freq_khz'))
    ctx.reject('EINVAL', `max below min_freq_khz ${num('min_freq_khz')}`);
  ctx.set(m[0], String(kHz));
  if (side === 'max') ctx.set(`${dir}/current_freq_khz`, String(kHz));
}

/** Write rules for PM QoS and uncore files. */
export const QOS_UNCORE_WRITE_RULES: readonly WriteRule[] = [
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/cpu\\d+/power/pm_qos_resume_latency_us$`),
    apply(ctx, m, value) {
      const v = value.trim();
      if (v === 'n/a') return ctx.set(m[0], 'n/a');
      if (!/^\d+$/.test(v) || Number(v) > 2 ** 31 - 1)
        ctx.reject('EINVAL', 'expected a latency in µs (0 = no constraint) or n/a');
      ctx.set(m[0], String(Number(v)));
    },
  },
  {
    pattern: new RegExp(`^(${SIM_UNCORE_DIR}/package_\\d+_die_\\d+)/(min|max)_freq_khz$`),
    apply: writeUncore,
  },
];
