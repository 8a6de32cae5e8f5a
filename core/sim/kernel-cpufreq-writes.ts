/**
 * How the simulated kernel handles writes to cpufreq files. Reproduced behaviours:
 * - `scaling_governor`: EINVAL for a governor not in `scaling_available_governors`; switching to
 *   `userspace` starts `scaling_setspeed` at the current frequency; switching to `performance`
 *   pins EPP to `performance` and switching back restores the previous EPP (intel_pstate HWP);
 * - `scaling_min_freq` / `scaling_max_freq`: EINVAL for non-numbers; any number is kept as a
 *   request and the effective value is clamped into the cpuinfo range with min <= max; a later
 *   change of the other limit re-evaluates the request (kernel frequency QoS);
 * - `scaling_setspeed`: reads `<unsupported>` outside `userspace` and writes then give EINVAL;
 *   under `userspace` the target is clamped to [min, max] and resolved to the frequency table
 *   (lowest entry at or above the target);
 * - `energy_performance_preference`: names from the available list, `default`, or 0-255 on HWP
 *   (names only on amd-pstate-epp), EINVAL otherwise; EBUSY for a non-performance value under
 *   the `performance` governor;
 * - `cpufreq/boost`, `intel_pstate/no_turbo`: 0 or 1; `max_perf_pct` / `min_perf_pct`: 0-100;
 * - `intel_pstate/status`, `amd_pstate/status`: re-registers the driver in the new mode, which
 *   resets every policy (governor, limits, EPP) to its defaults; `off` / `disable` removes them.
 */
import {
  buildPolicies,
  cpufreqMode,
  removePolicies,
  SETSPEED_UNSUPPORTED,
  SIM_CPUFREQ_DIR,
  SIM_EPP_DEFAULT,
  simPolicyDir,
} from './build-cpufreq-tree.js';
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import { parseBool01, parseUnsigned, words, type WriteContext, type WriteRule } from './kernel-write-context.js';
import { currentMode, policyFrequencyKHz, resolveToTable } from './sim-physics.js';
import { allCpus } from './sim-profile.js';

const EPP_NAMES: Readonly<Record<number, string>> = {
  0: 'performance',
  128: 'balance_performance',
  192: 'balance_power',
  255: 'power',
};

function intOf(ctx: WriteContext, path: string): number {
  return Number(ctx.tree.files.get(path) ?? '0');
}

function writeGovernor(ctx: WriteContext, id: number, value: string): void {
  const dir = simPolicyDir(id);
  const governor = value.trim();
  const available = words(ctx.tree.files.get(`${dir}/scaling_available_governors`));
  if (!available.includes(governor)) ctx.reject('EINVAL', `governor not offered; available: ${available.join(' ')}`);
  const old = ctx.tree.files.get(`${dir}/scaling_governor`);
  if (old === governor) return;
  const current = policyFrequencyKHz(ctx.tree, ctx.profile, ctx.state, id);
  ctx.set(`${dir}/scaling_governor`, governor);
  if (governor === 'userspace')
    ctx.set(`${dir}/scaling_setspeed`, String(current ?? intOf(ctx, `${dir}/scaling_min_freq`)));
  else if (old === 'userspace') ctx.set(`${dir}/scaling_setspeed`, SETSPEED_UNSUPPORTED);
  const eppFile = `${dir}/energy_performance_preference`;
  const epp = ctx.tree.files.get(eppFile);
  if (epp === undefined) return;
  if (governor === 'performance') {
    ctx.state.eppSaved[String(id)] = epp;
    ctx.set(eppFile, 'performance');
  } else if (old === 'performance') {
    ctx.set(eppFile, ctx.state.eppSaved[String(id)] ?? SIM_EPP_DEFAULT);
    delete ctx.state.eppSaved[String(id)];
  }
}

function writeLimit(ctx: WriteContext, id: number, which: 'min' | 'max', value: string): void {
  const dir = simPolicyDir(id);
  const requested = parseUnsigned(ctx, value, 'a frequency in kHz');
  const hwMin = intOf(ctx, `${dir}/cpuinfo_min_freq`);
  const hwMax = intOf(ctx, `${dir}/cpuinfo_max_freq`);
  const prev = ctx.state.freqRequests[String(id)] ?? { minKHz: hwMin, maxKHz: hwMax };
  const req = which === 'min' ? { ...prev, minKHz: requested } : { ...prev, maxKHz: requested };
  ctx.state.freqRequests[String(id)] = req;
  const max = Math.min(hwMax, Math.max(hwMin, req.maxKHz));
  const min = Math.min(max, Math.min(hwMax, Math.max(hwMin, req.minKHz)));
  ctx.set(`${dir}/scaling_max_freq`, String(max));
  ctx.set(`${dir}/scaling_min_freq`, String(min));
  // The userspace governor re-targets its speed into the new limits.
  if (ctx.tree.files.get(`${dir}/scaling_governor`) === 'userspace') {
    const speed = Math.min(max, Math.max(min, intOf(ctx, `${dir}/scaling_setspeed`)));
    ctx.set(`${dir}/scaling_setspeed`, String(resolveToTable(ctx.profile.cpufreq.table, speed, min, max)));
  }
}

function writeSetspeed(ctx: WriteContext, id: number, value: string): void {
  const dir = simPolicyDir(id);
  const governor = ctx.tree.files.get(`${dir}/scaling_governor`);
  if (governor !== 'userspace')
    ctx.reject(
      'EINVAL',
      `scaling_setspeed is writable only under the userspace governor (current: ${governor ?? 'none'})`,
    );
  const target = parseUnsigned(ctx, value, 'a frequency in kHz');
  const min = intOf(ctx, `${dir}/scaling_min_freq`);
  const max = intOf(ctx, `${dir}/scaling_max_freq`);
  const clamped = Math.min(max, Math.max(min, target));
  ctx.set(`${dir}/scaling_setspeed`, String(resolveToTable(ctx.profile.cpufreq.table, clamped, min, max)));
}

function writeEpp(ctx: WriteContext, id: number, value: string): void {
  const dir = simPolicyDir(id);
  const v = value.trim();
  const mode = currentMode(ctx.tree, ctx.profile);
  const choices = words(ctx.tree.files.get(`${dir}/energy_performance_available_preferences`));
  let resolved: string;
  if (/^\d+$/.test(v)) {
    if (mode?.numericEpp !== true) ctx.reject('EINVAL', `this driver accepts only names: ${choices.join(' ')}`);
    const n = Number(v);
    if (n > 255) ctx.reject('EINVAL', 'a numeric EPP must be 0-255');
    resolved = EPP_NAMES[n] ?? String(n);
  } else {
    if (!choices.includes(v))
      ctx.reject('EINVAL', `expected one of ${choices.join(' ')}${mode?.numericEpp === true ? ' or 0-255' : ''}`);
    resolved = v === 'default' ? SIM_EPP_DEFAULT : v;
  }
  if (ctx.tree.files.get(`${dir}/scaling_governor`) === 'performance' && resolved !== 'performance') {
    ctx.reject('EBUSY', 'the performance governor pins EPP to performance: set the governor to powersave first');
  }
  ctx.set(`${dir}/energy_performance_preference`, resolved);
}

function writeStatus(ctx: WriteContext, value: string): void {
  const p = ctx.profile;
  const driver = p.cpufreq.statusDriver ?? 'intel_pstate';
  const status = value.trim();
  const accepted = Object.keys(p.cpufreq.modes);
  if (!accepted.includes(status)) ctx.reject('EINVAL', `accepted: ${accepted.join(' ')}`);
  const file = `${SIM_CPU_DIR}/${driver}/status`;
  if (ctx.tree.files.get(file) === status) return;
  removePolicies(ctx.tree, p);
  buildPolicies(ctx.tree, p, cpufreqMode(p, status));
  ctx.state.freqRequests = {};
  ctx.state.eppSaved = {};
  ctx.set(file, status);
  ctx.restructure(allCpus(p).flatMap((cpu) => [simPolicyDir(cpu), `${SIM_CPU_DIR}/cpu${cpu}/cpufreq`]));
}

function writePerfPct(ctx: WriteContext, which: 'min' | 'max', value: string): void {
  const pct = parseUnsigned(ctx, value, 'a percentage');
  if (pct > 100) ctx.reject('EINVAL', 'expected a percentage 0-100');
  const dir = `${SIM_CPU_DIR}/intel_pstate`;
  if (which === 'max') {
    ctx.set(`${dir}/max_perf_pct`, String(pct));
    if (intOf(ctx, `${dir}/min_perf_pct`) > pct) ctx.set(`${dir}/min_perf_pct`, String(pct));
  } else {
    ctx.set(`${dir}/min_perf_pct`, String(Math.min(pct, intOf(ctx, `${dir}/max_perf_pct`))));
  }
}

/** Write rules for cpufreq, turbo and P-state driver files. */
export const CPUFREQ_WRITE_RULES: readonly WriteRule[] = [
  {
    pattern: new RegExp(`^${SIM_CPUFREQ_DIR}/policy(\\d+)/(\\w+)$`),
    apply(ctx, m, value) {
      const id = Number(m[1]);
      switch (m[2]) {
        case 'scaling_governor':
          return writeGovernor(ctx, id, value);
        case 'scaling_min_freq':
          return writeLimit(ctx, id, 'min', value);
        case 'scaling_max_freq':
          return writeLimit(ctx, id, 'max', value);
        case 'scaling_setspeed':
          return writeSetspeed(ctx, id, value);
        case 'energy_performance_preference':
          return writeEpp(ctx, id, value);
        default:
          return ctx.reject('EACCES', `${m[2] ?? 'this attribute'} is read-only`);
      }
    },
  },
  {
    pattern: new RegExp(`^${SIM_CPUFREQ_DIR}/boost$`),
    apply: (ctx, m, value) => ctx.set(m[0], parseBool01(ctx, value)),
  },
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/intel_pstate/(no_turbo|max_perf_pct|min_perf_pct|status)$`),
    apply(ctx, m, value) {
      if (m[1] === 'no_turbo') ctx.set(m[0], parseBool01(ctx, value));
      else if (m[1] === 'status') writeStatus(ctx, value);
      else writePerfPct(ctx, m[1] === 'max_perf_pct' ? 'max' : 'min', value);
    },
  },
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/amd_pstate/status$`),
    apply: (ctx, _m, value) => writeStatus(ctx, value),
  },
];
