/**
 * The core's `cpu-limits@1`: claims by owner, their intersection per CPU, and the one writer of
 * `scaling_min_freq`/`scaling_max_freq` for claimed CPUs that no plugin holds. The values found
 * before the first write are saved in the state store (key `cpu-limits.found`) before anything
 * is written, so a restart after a crash still restores them (`restoreLeftovers` at start).
 * Writes are idempotent: a policy already at its wanted window is not written.
 */
import { Type, type Static } from '@sinclair/typebox';
import { VpmdError } from '../errors.js';
import type { HostCpufreq } from '../host/host-model.js';
import type { Logger } from '../logger.js';
import type { StateSpec, StateStore } from '../state/index.js';
import type {
  CpuLimitClaim,
  CpuLimits,
  EffectiveCpuLimit,
  FrequencyLimit,
  RaiseDenial,
} from '../contracts/cpu-limits.js';
import { RaiseDenials } from './raise-denials.js';

const OWNER = /^[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9._@-]+)*$/;

const FoundSchema = Type.Record(
  Type.String({ pattern: '^[0-9]+$' }),
  Type.Object({ minKHz: Type.Integer({ minimum: 0 }), maxKHz: Type.Integer({ minimum: 0 }) }),
);
type Found = Static<typeof FoundSchema>;
const FOUND: StateSpec<Found> = { version: 1, schema: FoundSchema };
const FOUND_KEY = 'cpu-limits.found';

/** What the service needs of the rest of the core. */
export interface CpuLimitsDeps {
  readonly cpufreq: Pick<HostCpufreq, 'policies' | 'setLimits'>;
  readonly state: StateStore;
  readonly log: Logger;
  readonly now?: () => number;
}

function invalid(message: string, details: Readonly<Record<string, string | number | boolean | null>>): VpmdError {
  return new VpmdError('E_CPU_LIMITS_INVALID', message, details);
}

/** The intersection of `claims`: lowest ceiling; highest floor not above that ceiling. */
export function intersect(cpu: number, claims: readonly CpuLimitClaim[], heldBy?: string): EffectiveCpuLimit {
  let maxBy: CpuLimitClaim | undefined;
  for (const c of claims)
    if (c.maxKHz !== undefined && (maxBy === undefined || c.maxKHz < (maxBy.maxKHz ?? Infinity))) maxBy = c;
  let minBy: CpuLimitClaim | undefined;
  for (const c of claims)
    if (c.minKHz !== undefined && (minBy === undefined || c.minKHz > (minBy.minKHz ?? 0))) minBy = c;
  const maxKHz = maxBy?.maxKHz;
  // A ceiling wins over a floor: a floor above it is cut down to it.
  const minKHz = minBy?.minKHz === undefined ? undefined : Math.min(minBy.minKHz, maxKHz ?? Infinity);
  return {
    cpu,
    ...(minKHz !== undefined ? { minKHz } : {}),
    ...(maxKHz !== undefined ? { maxKHz } : {}),
    ...(maxBy !== undefined ? { maxBy } : {}),
    ...(minBy !== undefined ? { minBy } : {}),
    claims,
    ...(heldBy !== undefined ? { heldBy } : {}),
  };
}

/** The core's implementation of {@link CpuLimits}. */
export class CpuLimitsService implements CpuLimits {
  /** cpu → owner → claim. */
  private readonly claims = new Map<number, Map<string, CpuLimitClaim>>();
  private readonly held = new Map<number, string>();
  private readonly listeners = new Set<(cpus: readonly number[]) => void>();
  /** Serialises applies so two claims never interleave their writes. */
  private applying: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  /** The saved windows as on disk, read once and written through (undefined until first needed). */
  private found: Found | undefined;

  private readonly denials: RaiseDenials;

  constructor(private readonly deps: CpuLimitsDeps) {
    this.now = deps.now ?? Date.now;
    this.denials = new RaiseDenials(this.now);
  }

  denyRaise(owner: string, domain: { readonly uuid: string; readonly name: string }, reason: string): void {
    this.denials.deny(owner, domain, reason);
  }

  liftRaise(owner: string, uuid?: string): void {
    this.denials.lift(owner, uuid);
  }

  raiseDenied(uuidOrName: string): RaiseDenial | undefined {
    return this.denials.find(uuidOrName);
  }

  raiseDenials(): readonly RaiseDenial[] {
    return this.denials.all();
  }

  async claim(owner: string, cpus: readonly number[], limit: FrequencyLimit, reason: string): Promise<void> {
    if (!OWNER.test(owner)) throw invalid(`claim owner '${owner}' must look like plugin:what`, { owner });
    const { minKHz, maxKHz } = limit;
    for (const [side, v] of [
      ['minKHz', minKHz],
      ['maxKHz', maxKHz],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
        throw invalid(`${owner}: ${side} ${v} must be a positive whole number of kHz`, { owner, [side]: v });
      }
    }
    if (minKHz !== undefined && maxKHz !== undefined && minKHz > maxKHz) {
      throw invalid(`${owner}: minKHz ${minKHz} is above maxKHz ${maxKHz}`, { owner, minKHz, maxKHz });
    }
    const bad = cpus.filter((c) => !Number.isInteger(c) || c < 0);
    if (bad.length > 0) throw invalid(`${owner}: not CPU numbers: ${bad.join(', ')}`, { owner, cpus: bad.join(',') });
    const since = this.now();
    const changed: number[] = [];
    for (const cpu of cpus) {
      let byOwner = this.claims.get(cpu);
      if (byOwner === undefined) this.claims.set(cpu, (byOwner = new Map<string, CpuLimitClaim>()));
      const prev = byOwner.get(owner);
      if (prev !== undefined && prev.minKHz === minKHz && prev.maxKHz === maxKHz && prev.reason === reason) continue;
      byOwner.set(owner, {
        owner,
        reason,
        since: prev !== undefined && prev.minKHz === minKHz && prev.maxKHz === maxKHz ? prev.since : since,
        ...(minKHz !== undefined ? { minKHz } : {}),
        ...(maxKHz !== undefined ? { maxKHz } : {}),
      });
      changed.push(cpu);
    }
    await this.changed(changed);
  }

  async release(owner: string, cpus?: readonly number[]): Promise<void> {
    const changed: number[] = [];
    for (const [cpu, byOwner] of this.claims) {
      if (cpus !== undefined && !cpus.includes(cpu)) continue;
      if (byOwner.delete(owner)) changed.push(cpu);
      if (byOwner.size === 0) this.claims.delete(cpu);
    }
    await this.changed(changed);
  }

  effective(cpu: number): EffectiveCpuLimit {
    return intersect(cpu, [...(this.claims.get(cpu)?.values() ?? [])], this.held.get(cpu));
  }

  claimed(): readonly EffectiveCpuLimit[] {
    return [...this.claims.keys()].sort((a, b) => a - b).map((c) => this.effective(c));
  }

  hold(holder: string, cpus: readonly number[]): void {
    for (const cpu of cpus) this.held.set(cpu, holder);
  }

  async unhold(holder: string, cpus?: readonly number[]): Promise<void> {
    const back: number[] = [];
    for (const [cpu, h] of this.held) {
      if (h === holder && (cpus === undefined || cpus.includes(cpu))) {
        this.held.delete(cpu);
        back.push(cpu);
      }
    }
    await this.apply(back);
  }

  onChange(listener: (cpus: readonly number[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Puts back windows a previous run saved and did not restore (it crashed or was killed). */
  async restoreLeftovers(): Promise<void> {
    const found = await this.deps.state.read(FOUND_KEY, FOUND);
    if (found === undefined || Object.keys(found).length === 0) return;
    await this.serial(async () => {
      for (const [policy, w] of Object.entries(found)) {
        await this.write(Number(policy), w, 'restoring what a previous run found');
      }
      await this.deps.state.delete(FOUND_KEY);
      this.found = {};
    });
  }

  /**
   * Drops every claim and puts back every window found (agent stop, after the plugins stopped):
   * vpmd leaves the host as it found it.
   */
  async restoreAll(): Promise<void> {
    this.claims.clear();
    this.held.clear();
    await this.restoreLeftovers();
  }

  private async changed(cpus: readonly number[]): Promise<void> {
    if (cpus.length === 0) return;
    await this.apply(cpus);
    for (const l of this.listeners) {
      try {
        l(cpus);
      } catch (err) {
        this.deps.log.warn({ err }, 'a cpu-limits listener threw');
      }
    }
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.applying.then(fn);
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Writes the effective window of every policy governing one of `cpus`, unless held. */
  private apply(cpus: readonly number[]): Promise<void> {
    if (cpus.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const policies = await this.deps.cpufreq.policies();
      const found = (this.found ??= (await this.deps.state.read(FOUND_KEY, FOUND)) ?? {});
      let foundChanged = false;
      for (const p of policies) {
        const members = p.affectedCpus;
        if (!members.some((c) => cpus.includes(c))) continue;
        if (members.some((c) => this.held.has(c))) continue;
        const effs = members.map((c) => this.effective(c));
        const maxes = effs.map((e) => e.maxKHz).filter((v): v is number => v !== undefined);
        const mins = effs.map((e) => e.minKHz).filter((v): v is number => v !== undefined);
        const key = String(p.id);
        const saved = found[key];
        if (maxes.length === 0 && mins.length === 0) {
          if (saved === undefined) continue;
          await this.write(p.id, saved, 'no claim left: restoring what vpmd found');
          delete found[key];
          foundChanged = true;
          continue;
        }
        if (saved === undefined) {
          found[key] = { minKHz: p.scalingMinKHz, maxKHz: p.scalingMaxKHz };
          // Saved before the first write: a crash after it still restores.
          await this.deps.state.write(FOUND_KEY, FOUND, found);
        }
        const base = found[key] ?? { minKHz: p.scalingMinKHz, maxKHz: p.scalingMaxKHz };
        const maxKHz = Math.min(base.maxKHz, ...maxes);
        const minKHz = Math.min(maxKHz, Math.max(base.minKHz, ...mins));
        if (p.scalingMinKHz === minKHz && p.scalingMaxKHz === maxKHz) continue;
        await this.write(p.id, { minKHz, maxKHz }, 'effective limits changed');
      }
      if (foundChanged) {
        if (Object.keys(found).length === 0) await this.deps.state.delete(FOUND_KEY);
        else await this.deps.state.write(FOUND_KEY, FOUND, found);
      }
    });
  }

  private async write(policy: number, w: { minKHz: number; maxKHz: number }, why: string): Promise<void> {
    try {
      const r = await this.deps.cpufreq.setLimits(policy, w);
      this.deps.log.info(
        { policy, minKHz: r.minKHz, maxKHz: r.maxKHz, clamped: r.clamped, why },
        'cpufreq limits written',
      );
    } catch (err) {
      // One policy that refuses costs that policy, never the others or the claimant.
      this.deps.log.warn({ err, policy, ...w, why }, 'cpufreq limits could not be written');
    }
  }
}
