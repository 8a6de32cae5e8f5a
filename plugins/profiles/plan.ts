/**
 * From "pool P runs profile X" to the desired state: the files to write (governor, EPP, PM QoS,
 * idle-state disables, uncore, turbo) and the frequency claims for `cpu-limits@1`. Every profile
 * is checked against the host's ranges first; any problem refuses the whole plan, naming what is
 * allowed, so a bad profile changes nothing.
 *
 * Shared hardware: a cpufreq policy spanning two pools must get the same governor and EPP from
 * both (else refused); an uncore domain (a package) shared by pools takes the highest floor and
 * the highest ceiling any of them asks for, so a bulk pool never slows a latency pool's uncore;
 * turbo is host-wide: it is switched on when an active profile says `turbo: true`, while
 * `turbo: false` caps only its own pool at the nominal frequency.
 */
import type { FrequencyLimit } from 'vpmd';
import type { Profile } from './config.js';
import { CPU_DIR, qosPath, type HostFacts } from './host-facts.js';

/** A pool resolved to CPUs, with the profile it should run. */
export interface Assignment {
  readonly pool: string;
  readonly cpus: readonly number[];
  readonly profileName: string;
  readonly profile: Profile;
}

/** One file and the value the plan wants in it. */
export interface DesiredFile {
  readonly path: string;
  readonly value: string;
  /** What it is, for status and drift reports (`governor policy2`). */
  readonly what: string;
  /** Pools that want it. */
  readonly pools: readonly string[];
}

/** A claim for `cpu-limits@1`. */
export interface PlannedClaim {
  readonly owner: string;
  readonly cpus: readonly number[];
  readonly limit: FrequencyLimit;
  readonly reason: string;
}

/** The desired state, or why there is none. */
export interface Plan {
  readonly files: readonly DesiredFile[];
  readonly claims: readonly PlannedClaim[];
  readonly problems: readonly string[];
}

/** Write order: the governor before EPP (EPP is EBUSY under `performance`), floors before ceilings are settled by the reconciler. */
export function fileRank(path: string): number {
  if (path.endsWith('/scaling_governor')) return 0;
  if (path.endsWith('/energy_performance_preference')) return 1;
  return 2;
}

/** Checks one profile against the host; returns problems naming the allowed values. */
export function checkProfile(name: string, p: Profile, cpus: readonly number[], f: HostFacts): string[] {
  const out: string[] = [];
  const where = `profile ${name}`;
  const policies = [...new Set(cpus.map((c) => f.policyOfCpu.get(c)).filter((x) => x !== undefined))];
  const hwMin = Math.max(0, ...policies.map((x) => x.cpuinfoMinKHz));
  const hwMax = Math.min(...policies.map((x) => x.cpuinfoMaxKHz));
  if ((p.minKHz !== undefined || p.maxKHz !== undefined || p.governor !== undefined) && policies.length === 0)
    out.push(`${where}: the pool's CPUs have no cpufreq policy (nothing to set frequency or governor on)`);
  for (const [side, v] of [
    ['minKHz', p.minKHz],
    ['maxKHz', p.maxKHz],
  ] as const) {
    if (v !== undefined && policies.length > 0 && (v < hwMin || v > hwMax))
      out.push(`${where}: ${side} ${v} is outside the host's range ${hwMin}-${hwMax} kHz`);
  }
  if (p.minKHz !== undefined && p.maxKHz !== undefined && p.minKHz > p.maxKHz)
    out.push(`${where}: minKHz ${p.minKHz} is above maxKHz ${p.maxKHz}`);
  if (p.turbo === false && p.minKHz !== undefined && f.nominalKHz !== undefined && p.minKHz > f.nominalKHz)
    out.push(`${where}: minKHz ${p.minKHz} is above the nominal ${f.nominalKHz} kHz while turbo is false`);
  for (const pol of policies) {
    if (p.governor !== undefined && !pol.availableGovernors.includes(p.governor))
      out.push(
        `${where}: governor '${p.governor}' is not offered by policy${pol.id} (allowed: ${pol.availableGovernors.join(', ')})`,
      );
    if (p.epp !== undefined) {
      const allowed = pol.availableEpp;
      if (allowed === undefined) out.push(`${where}: policy${pol.id} (${pol.driver}) has no EPP`);
      else if (
        !allowed.includes(p.epp) &&
        !(/^\d+$/.test(p.epp) && Number(p.epp) <= 255 && pol.driver === 'intel_pstate')
      )
        out.push(`${where}: epp '${p.epp}' is not offered by policy${pol.id} (allowed: ${allowed.join(', ')})`);
      if ((p.governor ?? pol.governor) === 'performance' && p.epp !== 'performance')
        out.push(`${where}: epp '${p.epp}' needs a governor other than performance (the kernel refuses it, EBUSY)`);
    }
  }
  if (p.turbo === true && !f.turbo.supported) out.push(`${where}: turbo: true, but this host has no turbo switch`);
  if (p.resumeLatencyUs !== undefined) {
    const missing = cpus.filter((c) => !f.qosCpus.has(c));
    if (missing.length > 0) out.push(`${where}: CPUs ${missing.join(',')} have no pm_qos_resume_latency_us`);
  }
  if (p.uncore !== undefined) {
    const domains = f.uncore.filter((d) => d.cpus.some((c) => cpus.includes(c)));
    if (domains.length === 0) out.push(`${where}: uncore is set, but this host has no intel_uncore_frequency domain`);
    for (const d of domains) {
      for (const [side, v] of [
        ['uncore.minKHz', p.uncore.minKHz],
        ['uncore.maxKHz', p.uncore.maxKHz],
      ] as const) {
        if (v !== undefined && (v < d.initialMinKHz || v > d.initialMaxKHz))
          out.push(`${where}: ${side} ${v} is outside ${d.dir}'s range ${d.initialMinKHz}-${d.initialMaxKHz} kHz`);
      }
    }
    if (p.uncore.minKHz !== undefined && p.uncore.maxKHz !== undefined && p.uncore.minKHz > p.uncore.maxKHz)
      out.push(`${where}: uncore.minKHz ${p.uncore.minKHz} is above uncore.maxKHz ${p.uncore.maxKHz}`);
  }
  return out;
}

/** Builds the desired state of every assignment. */
export function planAssignments(assignments: readonly Assignment[], f: HostFacts): Plan {
  const problems: string[] = [];
  const files = new Map<string, DesiredFile>();
  const want = (path: string, value: string, what: string, pool: string): void => {
    const had = files.get(path);
    if (had !== undefined && had.value !== value) {
      problems.push(
        `${what} is shared by pools ${had.pools.join(', ')} and ${pool}, which want '${had.value}' and '${value}'`,
      );
      return;
    }
    files.set(path, { path, value, what, pools: [...(had?.pools ?? []), pool] });
  };
  const claims: PlannedClaim[] = [];
  const uncore = new Map<string, { min?: number; max?: number; pools: string[] }>();
  let turboOn: string[] = [];
  for (const a of assignments) {
    problems.push(...checkProfile(a.profileName, a.profile, a.cpus, f));
    const p = a.profile;
    const policies = [...new Set(a.cpus.map((c) => f.policyOfCpu.get(c)).filter((x) => x !== undefined))];
    for (const pol of policies) {
      const dir = `${CPU_DIR}/cpufreq/policy${pol.id}`;
      if (p.governor !== undefined) want(`${dir}/scaling_governor`, p.governor, `governor of policy${pol.id}`, a.pool);
      if (p.epp !== undefined) want(`${dir}/energy_performance_preference`, p.epp, `EPP of policy${pol.id}`, a.pool);
    }
    if (p.resumeLatencyUs !== undefined) {
      const bound = p.resumeLatencyUs;
      for (const cpu of a.cpus) {
        // The kernel reads 0 as "no constraint"; a zero bound is written as n/a.
        want(qosPath(cpu), bound === 0 ? 'n/a' : String(bound), `resume latency of cpu${cpu}`, a.pool);
        for (const s of f.idleStates.get(cpu) ?? []) {
          if (s.latencyUs > bound)
            want(
              `${CPU_DIR}/cpu${cpu}/cpuidle/state${s.index}/disable`,
              '1',
              `${s.name} (state${s.index}) of cpu${cpu}`,
              a.pool,
            );
        }
      }
    }
    if (p.uncore !== undefined) {
      for (const d of f.uncore.filter((u) => u.cpus.some((c) => a.cpus.includes(c)))) {
        const u = uncore.get(d.dir) ?? { pools: [] };
        if (p.uncore.minKHz !== undefined) u.min = Math.max(u.min ?? 0, p.uncore.minKHz);
        if (p.uncore.maxKHz !== undefined) u.max = Math.max(u.max ?? 0, p.uncore.maxKHz);
        u.pools.push(a.pool);
        uncore.set(d.dir, u);
      }
    }
    if (p.turbo === true) turboOn = [...turboOn, a.pool];
    const ceiling =
      p.turbo === false && f.nominalKHz !== undefined ? Math.min(p.maxKHz ?? Infinity, f.nominalKHz) : p.maxKHz;
    const same = claims.findIndex((c) => c.owner === `profiles:${a.profileName}`);
    if (same !== -1) {
      // Two pools on one profile: one owner, one claim over both pools' CPUs.
      const c = claims[same] as PlannedClaim;
      claims[same] = { ...c, cpus: [...c.cpus, ...a.cpus], reason: `${c.reason}, ${a.pool}` };
    } else if (p.minKHz !== undefined || ceiling !== undefined) {
      claims.push({
        owner: `profiles:${a.profileName}`,
        cpus: a.cpus,
        limit: {
          ...(p.minKHz !== undefined ? { minKHz: p.minKHz } : {}),
          ...(ceiling !== undefined ? { maxKHz: ceiling } : {}),
        },
        reason: `profile ${a.profileName} of pools ${a.pool}`,
      });
    }
  }
  for (const [dir, u] of uncore) {
    const max = u.max;
    const min = u.min !== undefined && max !== undefined ? Math.min(u.min, max) : u.min;
    if (min !== undefined)
      files.set(`${dir}/min_freq_khz`, {
        path: `${dir}/min_freq_khz`,
        value: String(min),
        what: `uncore floor of ${dir.split('/').pop()}`,
        pools: u.pools,
      });
    if (max !== undefined)
      files.set(`${dir}/max_freq_khz`, {
        path: `${dir}/max_freq_khz`,
        value: String(max),
        what: `uncore ceiling of ${dir.split('/').pop()}`,
        pools: u.pools,
      });
  }
  if (turboOn.length > 0 && f.turbo.supported && f.turbo.file !== undefined) {
    const value = f.turbo.mechanism === 'intel_pstate-no_turbo' ? '0' : '1';
    files.set(f.turbo.file, { path: f.turbo.file, value, what: 'turbo (host-wide)', pools: turboOn });
  }
  const ordered = [...files.values()].sort((x, y) => fileRank(x.path) - fileRank(y.path));
  return { files: ordered, claims, problems };
}
