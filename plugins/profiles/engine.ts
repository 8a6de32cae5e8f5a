/**
 * The profiles engine: which pool runs which profile, resolving pools to CPUs (explicit lists,
 * or the pCPUs of the VMs of a latency class through `domains@1`), refusing overlaps and
 * profiles that do not fit the host, and driving the reconciler. Operations run one at a time.
 */
import {
  VpmdError,
  parseCpuList,
  type CpuLimits,
  type Domains,
  type HostModel,
  type Logger,
  type StateStore,
} from 'vpmd';
import type { Profile, ProfilesConfig } from './config.js';
import { readHostFacts } from './host-facts.js';
import { planAssignments, type Assignment } from './plan.js';
import { Reconciler, type ApplyReport, type Drift } from './reconciler.js';
import { isTimeZone, ScheduleFollower } from './schedule.js';

/** What the engine needs. */
export interface EngineDeps {
  readonly host: HostModel;
  readonly state: StateStore;
  readonly limits: CpuLimits | undefined;
  readonly domains: Domains | undefined;
  readonly log: Logger;
  readonly now: () => number;
  readonly config: ProfilesConfig;
  /** Called with drift newly seen. */
  readonly onDrift?: (drift: readonly Drift[]) => void;
  /** Called after each successful apply or reset. */
  readonly onApplied?: (what: { pool?: string; profile?: string; reason: string; report: ApplyReport }) => void;
}

/** One pool as status shows it. */
export interface PoolStatus {
  readonly name: string;
  readonly source: string;
  readonly cpus: readonly number[];
  readonly profile?: string;
  readonly schedule?: string;
}

function invalid(msg: string): VpmdError {
  return new VpmdError('E_PROFILES_INVALID', msg, {});
}

/** Checks the config's cross references; throws one error listing every problem. */
export function checkConfig(c: ProfilesConfig): void {
  const problems: string[] = [];
  const pools = new Set<string>();
  for (const [i, p] of c.pools.entries()) {
    if (pools.has(p.name)) problems.push(`pools[${i}]: pool name '${p.name}' is used twice`);
    pools.add(p.name);
    if ((p.cpus === undefined) === (p.latencyClass === undefined))
      problems.push(`pools[${i}] (${p.name}): give exactly one of cpus or latencyClass`);
    if (p.profile !== undefined && c.profiles[p.profile] === undefined)
      problems.push(
        `pools[${i}] (${p.name}): unknown profile '${p.profile}' (defined: ${Object.keys(c.profiles).join(', ') || 'none'})`,
      );
  }
  for (const [i, s] of c.schedules.entries()) {
    if (!pools.has(s.pool)) problems.push(`schedules[${i}]: unknown pool '${s.pool}'`);
    if (s.timeZone !== undefined && !isTimeZone(s.timeZone))
      problems.push(`schedules[${i}]: unknown time zone '${s.timeZone}' (an IANA name such as Europe/Berlin)`);
    for (const sw of s.switches)
      if (c.profiles[sw.profile] === undefined)
        problems.push(`schedules[${i}] at ${sw.at}: unknown profile '${sw.profile}'`);
    if (c.schedules.findIndex((o) => o.pool === s.pool) !== i)
      problems.push(`schedules[${i}]: pool '${s.pool}' has two schedules`);
  }
  for (const [mode, map] of Object.entries(c.powerModes)) {
    for (const [pool, profile] of Object.entries(map)) {
      if (!pools.has(pool)) problems.push(`powerModes.${mode}: unknown pool '${pool}'`);
      if (c.profiles[profile] === undefined) problems.push(`powerModes.${mode}.${pool}: unknown profile '${profile}'`);
    }
  }
  if (problems.length > 0) throw invalid(`plugins.profiles: ${problems.join('; ')}`);
}

/** Pools, assignments and the reconciler. */
export class ProfileEngine {
  readonly reconciler: Reconciler;
  private readonly assigned = new Map<string, string>();
  private readonly followers = new Map<string, ScheduleFollower>();
  private resolved = new Map<string, readonly number[]>();
  private queue: Promise<unknown> = Promise.resolve();
  lastReport: ApplyReport | undefined;
  lastError: string | undefined;

  constructor(private readonly d: EngineDeps) {
    checkConfig(d.config);
    this.reconciler = new Reconciler({ ...d, backend: d.host.backend });
    for (const s of d.config.schedules) this.followers.set(s.pool, new ScheduleFollower(s));
  }

  get config(): ProfilesConfig {
    return this.d.config;
  }

  /** Loads found values, then applies each pool's configured (or scheduled) profile. */
  async start(): Promise<ApplyReport> {
    await this.reconciler.load();
    const next = new Map<string, string>();
    for (const p of this.d.config.pools) if (p.profile !== undefined) next.set(p.name, p.profile);
    const now = this.d.now();
    for (const [pool, f] of this.followers) {
      const due = f.due(now, undefined);
      if (due !== undefined) {
        next.set(pool, due);
        f.switched(now, 'start');
      }
    }
    return this.serial(() => this.applyMap(next, 'start'));
  }

  /** Operator: run `profile` on `pool`. */
  apply(pool: string, profile: string): Promise<ApplyReport> {
    this.requirePool(pool);
    this.requireProfile(profile);
    return this.serial(async () => {
      const next = new Map(this.assigned).set(pool, profile);
      const r = await this.applyMap(next, `operator: ${pool} -> ${profile}`);
      this.followers.get(pool)?.switched(this.d.now(), 'operator');
      return r;
    });
  }

  /** Runs several pools' profiles in one apply (a power mode); all or nothing. */
  applyMany(assign: Readonly<Record<string, string>>, reason: string): Promise<ApplyReport> {
    for (const [pool, profile] of Object.entries(assign)) {
      this.requirePool(pool);
      this.requireProfile(profile);
    }
    return this.serial(async () => {
      const next = new Map(this.assigned);
      for (const [pool, profile] of Object.entries(assign)) next.set(pool, profile);
      const r = await this.applyMap(next, reason);
      for (const pool of Object.keys(assign)) this.followers.get(pool)?.switched(this.d.now(), 'operator');
      return r;
    });
  }

  /** Re-applies the current assignments (pools re-resolved; e.g. after a VM was re-pinned). */
  reapply(reason: string): Promise<ApplyReport> {
    return this.serial(() => this.applyMap(new Map(this.assigned), reason));
  }

  /** Puts back everything found; pools keep no profile until the next apply. */
  reset(): Promise<ApplyReport> {
    return this.serial(async () => {
      const report = await this.reconciler.reset();
      this.assigned.clear();
      this.lastReport = report;
      this.d.onApplied?.({ reason: 'reset', report });
      return report;
    });
  }

  /** Schedules: switches pools whose scheduled profile changed (call about once a second). */
  async tick(): Promise<void> {
    const now = this.d.now();
    for (const [pool, f] of this.followers) {
      const due = f.due(now, this.assigned.get(pool));
      if (due === undefined) continue;
      try {
        await this.serial(() => this.applyMap(new Map(this.assigned).set(pool, due), `schedule: ${pool} -> ${due}`));
        f.switched(now, 'schedule');
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        this.d.log.warn({ pool, profile: due, err: this.lastError }, 'scheduled profile switch failed');
        f.switched(now, 'schedule'); // do not retry every second; the next boundary tries again
      }
    }
  }

  /** Reads the managed files back; re-applies when configured to correct drift. */
  async checkDrift(): Promise<readonly Drift[]> {
    const fresh = await this.serial(() => this.reconciler.checkDrift());
    if (fresh.length > 0) {
      this.d.onDrift?.(fresh);
      if (this.d.config.correctDrift) await this.reapply('correcting drift');
    }
    return fresh;
  }

  /** The profile each pool runs. */
  assignments(): ReadonlyMap<string, string> {
    return this.assigned;
  }

  /** Pools with their CPUs (as last resolved) and profiles. */
  pools(): PoolStatus[] {
    return this.d.config.pools.map((p) => {
      const profile = this.assigned.get(p.name);
      const sched = this.followers.get(p.name)?.schedule;
      return {
        name: p.name,
        source: p.cpus !== undefined ? `cpus ${p.cpus}` : `latency class ${p.latencyClass ?? ''}`,
        cpus: this.resolved.get(p.name) ?? [],
        ...(profile !== undefined ? { profile } : {}),
        ...(sched !== undefined
          ? { schedule: `${sched.switches.map((s) => `${s.at} ${s.profile}`).join(', ')} (${sched.timeZone ?? 'UTC'})` }
          : {}),
      };
    });
  }

  profile(name: string): Profile {
    return this.requireProfile(name);
  }

  private requirePool(pool: string): void {
    if (!this.d.config.pools.some((p) => p.name === pool))
      throw new VpmdError(
        'E_PROFILES_NOT_FOUND',
        `no pool '${pool}' (pools: ${this.d.config.pools.map((p) => p.name).join(', ') || 'none'})`,
        { pool },
      );
  }

  private requireProfile(name: string): Profile {
    const p = this.d.config.profiles[name];
    if (p === undefined)
      throw new VpmdError(
        'E_PROFILES_NOT_FOUND',
        `no profile '${name}' (profiles: ${Object.keys(this.d.config.profiles).join(', ') || 'none'})`,
        { profile: name },
      );
    return p;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves every pool to CPUs; refuses unknown CPUs and overlaps. */
  private async resolvePools(online: readonly number[]): Promise<Map<string, readonly number[]>> {
    const out = new Map<string, readonly number[]>();
    const owner = new Map<number, string>();
    const domains = this.d.config.pools.some((p) => p.latencyClass !== undefined)
      ? ((await this.d.domains?.list()) ?? undefined)
      : [];
    for (const p of this.d.config.pools) {
      let cpus: number[];
      if (p.cpus !== undefined) {
        cpus = parseCpuList(p.cpus, { source: `plugins.profiles pool ${p.name} cpus`, code: 'E_HOST_INVALID' });
        const offline = cpus.filter((c) => !online.includes(c));
        if (offline.length > 0)
          throw invalid(`pool ${p.name}: CPUs ${offline.join(',')} are not online (online: ${online.join(',')})`);
      } else {
        if (domains === undefined)
          throw invalid(`pool ${p.name}: latencyClass needs domains@1 (enable libvirt-domains)`);
        const vms = domains.filter((vm) => vm.metadata.latencyClass === p.latencyClass);
        cpus = [...new Set(vms.flatMap((vm) => vm.vcpus.flatMap((v) => v.pins)))].sort((a, b) => a - b);
      }
      for (const c of cpus) {
        const other = owner.get(c);
        if (other !== undefined)
          throw new VpmdError(
            'E_PROFILES_OVERLAP',
            `pools ${other} and ${p.name} both contain CPU ${c}: pools may not overlap`,
            { cpu: c },
          );
        owner.set(c, p.name);
      }
      out.set(p.name, cpus);
    }
    return out;
  }

  private async applyMap(next: ReadonlyMap<string, string>, reason: string): Promise<ApplyReport> {
    const facts = await readHostFacts(this.d.host);
    const resolved = await this.resolvePools(facts.online);
    const assignments: Assignment[] = [];
    for (const [pool, profileName] of next) {
      assignments.push({
        pool,
        cpus: resolved.get(pool) ?? [],
        profileName,
        profile: this.requireProfile(profileName),
      });
    }
    const plan = planAssignments(assignments, facts);
    if (plan.problems.length > 0) throw invalid(`refused, nothing changed: ${plan.problems.join('; ')}`);
    const report = await this.reconciler.apply(plan);
    this.resolved = resolved;
    this.assigned.clear();
    for (const [k, v] of next) this.assigned.set(k, v);
    this.lastReport = report;
    this.lastError = undefined;
    this.d.log.info({ reason, written: report.written, failures: report.failures.length }, 'profiles applied');
    this.d.onApplied?.({ reason, report });
    return report;
  }
}
