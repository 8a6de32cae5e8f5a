/**
 * Builds the cpufreq part of a simulated host: one policy per CPU for the current driver mode,
 * the `cpuN/cpufreq` links, the turbo switch and the intel_pstate / amd_pstate directories.
 * The simulated kernel calls {@link buildPolicies} again when a `status` write re-registers the
 * driver, which is how every policy setting returns to its default.
 */
import { formatCpuList } from '../host/cpu-ranges.js';
import { allCpus, type SimCpufreqMode, type SimProfile } from './sim-profile.js';
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import type { SimTree } from './sim-tree.js';

/** Root-relative cpufreq directory. */
export const SIM_CPUFREQ_DIR = `${SIM_CPU_DIR}/cpufreq`;

/** EPP names offered by HWP and amd-pstate-epp. */
export const SIM_EPP_CHOICES = ['default', 'performance', 'balance_performance', 'balance_power', 'power'] as const;

/** The EPP a policy starts with (and `default` selects). */
export const SIM_EPP_DEFAULT = 'balance_performance';

/** What `setspeed` reads outside the userspace governor. */
export const SETSPEED_UNSUPPORTED = '<unsupported>';

/** The cpufreq mode a profile is in, by status name; null when the driver is off. */
export function cpufreqMode(p: SimProfile, status: string): SimCpufreqMode | null {
  return p.cpufreq.modes[status] ?? null;
}

/** Root-relative policy directory. */
export function simPolicyDir(id: number): string {
  return `${SIM_CPUFREQ_DIR}/policy${id}`;
}

/** Removes every policy and `cpuN/cpufreq` link. */
export function removePolicies(t: SimTree, p: SimProfile): void {
  for (const cpu of allCpus(p)) {
    t.remove(simPolicyDir(cpu));
    t.remove(`${SIM_CPU_DIR}/cpu${cpu}/cpufreq`);
  }
}

/** Creates one policy per CPU with the mode's defaults (limits at the hardware range). */
export function buildPolicies(t: SimTree, p: SimProfile, mode: SimCpufreqMode | null): void {
  if (mode === null) return;
  const f = p.cpufreq;
  for (const cpu of allCpus(p)) {
    const dir = simPolicyDir(cpu);
    t.filesIn(dir, {
      affected_cpus: formatCpuList([cpu]),
      related_cpus: formatCpuList([cpu]),
      cpuinfo_min_freq: f.minKHz,
      cpuinfo_max_freq: f.maxKHz,
      cpuinfo_transition_latency: f.latencyNs,
      scaling_driver: mode.driver,
      scaling_available_governors: mode.governors.join(' '),
      scaling_governor: mode.defaultGovernor,
      scaling_min_freq: f.minKHz,
      scaling_max_freq: f.maxKHz,
      scaling_cur_freq: f.minKHz,
      scaling_setspeed: SETSPEED_UNSUPPORTED,
    });
    if (f.table !== undefined) t.file(`${dir}/scaling_available_frequencies`, f.table.join(' '));
    if (mode.epp) {
      t.file(`${dir}/energy_performance_available_preferences`, SIM_EPP_CHOICES.join(' '));
      t.file(
        `${dir}/energy_performance_preference`,
        mode.defaultGovernor === 'performance' ? 'performance' : SIM_EPP_DEFAULT,
      );
    }
    if (mode.baseFrequency && f.baseKHz !== undefined) t.file(`${dir}/base_frequency`, f.baseKHz);
    if (mode.driver.startsWith('amd-pstate')) {
      t.filesIn(dir, { amd_pstate_max_freq: f.maxKHz, amd_pstate_lowest_nonlinear_freq: Math.round(f.nominalKHz / 2) });
    }
    t.link(`${SIM_CPU_DIR}/cpu${cpu}/cpufreq`, dir);
  }
}

/** Adds the whole cpufreq part of a profile, in its initial mode, to a tree. */
export function buildCpufreqTree(t: SimTree, p: SimProfile): void {
  const f = p.cpufreq;
  t.dir(SIM_CPUFREQ_DIR);
  buildPolicies(t, p, cpufreqMode(p, f.initialMode));
  if (f.turbo === 'boost') t.file(`${SIM_CPUFREQ_DIR}/boost`, 1);
  if (f.statusDriver === 'intel_pstate') {
    t.filesIn(`${SIM_CPU_DIR}/intel_pstate`, {
      status: f.initialMode,
      no_turbo: 0,
      max_perf_pct: 100,
      min_perf_pct: Math.round((f.minKHz / f.maxKHz) * 100),
      num_pstates: Math.round((f.maxKHz - f.minKHz) / 100_000) + 1,
      turbo_pct: Math.round(((f.maxKHz - f.nominalKHz) / (f.maxKHz - f.minKHz)) * 100),
    });
  }
  if (f.statusDriver === 'amd_pstate') t.file(`${SIM_CPU_DIR}/amd_pstate/status`, f.initialMode);
}
