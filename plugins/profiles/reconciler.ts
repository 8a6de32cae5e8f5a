/**
 * Desired state against actual state. An apply reads every file the plan names (and every file
 * vpmd changed before that no profile names any more, whose target is the value found), writes
 * only the differences, and moves the `cpu-limits@1` claims. The value of each file is saved in
 * the state store (key `found`) before vpmd first writes it, so `reset`, a stop and a restart
 * after a crash all put back what was there before vpmd. A drift check reads the files back and
 * reports those something else changed.
 */
import { Type, type CpuLimits, type Logger, type StateSpec, type StateStore, type SysfsBackend } from 'vpmd';
import { fileRank, type DesiredFile, type Plan, type PlannedClaim } from './plan.js';

const FoundSchema = Type.Record(Type.String(), Type.String());
const FOUND: StateSpec<Record<string, string>> = { version: 1, schema: FoundSchema };
const FOUND_KEY = 'found';

/** A file that failed to take its value. */
export interface FileFailure {
  readonly path: string;
  readonly value: string;
  readonly error: string;
}

/** What an apply or reset did. */
export interface ApplyReport {
  /** Files written. */
  readonly written: number;
  /** Files already at their value. */
  readonly unchanged: number;
  readonly failures: readonly FileFailure[];
}

/** A knob that no longer holds the value vpmd set. */
export interface Drift {
  readonly path: string;
  readonly what: string;
  readonly desired: string;
  readonly actual: string;
  readonly since: number;
}

export interface ReconcilerDeps {
  readonly backend: SysfsBackend;
  readonly state: StateStore;
  readonly limits: CpuLimits | undefined;
  readonly log: Logger;
  readonly now: () => number;
}

interface Target {
  readonly path: string;
  readonly value: string;
  readonly what: string;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Applies plans idempotently and restores what it found. */
export class Reconciler {
  private found: Record<string, string> = {};
  private readonly desired = new Map<string, Target>();
  private readonly claimed = new Map<string, readonly number[]>();
  private readonly drifts = new Map<string, Drift>();
  /** Files written since start (for status and tests). */
  writes = 0;

  constructor(private readonly d: ReconcilerDeps) {}

  /** Loads values found by an earlier run (kept until reset, so they stay the originals). */
  async load(): Promise<void> {
    this.found = { ...((await this.d.state.read(FOUND_KEY, FOUND)) ?? {}) };
  }

  /** Values found before vpmd first wrote each file. */
  foundValues(): Readonly<Record<string, string>> {
    return this.found;
  }

  /** The desired value of every file vpmd manages now. */
  desiredFiles(): readonly Target[] {
    return [...this.desired.values()];
  }

  /** Current drift, by file. */
  drift(): readonly Drift[] {
    return [...this.drifts.values()];
  }

  /** Makes the host match `plan` (refused plans never reach here). */
  async apply(plan: Plan): Promise<ApplyReport> {
    const targets = new Map<string, Target>();
    for (const f of plan.files) targets.set(f.path, { path: f.path, value: f.value, what: f.what });
    // Files vpmd changed that no profile wants any more go back to what was found.
    for (const [path, value] of Object.entries(this.found))
      if (!targets.has(path)) targets.set(path, { path, value, what: `${path} (as found)` });
    const report = await this.converge([...targets.values()]);
    this.desired.clear();
    for (const t of targets.values()) this.desired.set(t.path, t);
    this.drifts.clear();
    await this.moveClaims(plan.claims);
    return report;
  }

  /** Puts back every value found, drops every claim and forgets the found values. */
  async reset(): Promise<ApplyReport> {
    const targets = Object.entries(this.found).map(([path, value]) => ({ path, value, what: path }));
    const report = await this.converge(targets);
    await this.moveClaims([]);
    this.desired.clear();
    this.drifts.clear();
    if (report.failures.length === 0) {
      this.found = {};
      await this.d.state.delete(FOUND_KEY);
    }
    return report;
  }

  /** Reads the managed files back; returns drift newly seen in this check. */
  async checkDrift(): Promise<Drift[]> {
    const fresh: Drift[] = [];
    for (const t of this.desired.values()) {
      const actual = await this.d.backend.read(t.path).catch((e: unknown) => `<unreadable: ${message(e)}>`);
      if (actual.trim() === t.value) {
        this.drifts.delete(t.path);
        continue;
      }
      const had = this.drifts.get(t.path);
      if (had?.actual === actual.trim()) continue;
      const drift = { path: t.path, what: t.what, desired: t.value, actual: actual.trim(), since: this.d.now() };
      this.drifts.set(t.path, drift);
      fresh.push(drift);
    }
    return fresh;
  }

  /** Writes the targets that differ; records found values before the first write of each file. */
  private async converge(targets: readonly Target[]): Promise<ApplyReport> {
    const differing: Array<Target & { actual: string }> = [];
    let unchanged = 0;
    const failures: FileFailure[] = [];
    for (const t of targets) {
      let actual: string;
      try {
        actual = (await this.d.backend.read(t.path)).trim();
      } catch (e) {
        failures.push({ path: t.path, value: t.value, error: message(e) });
        continue;
      }
      if (actual === t.value) unchanged++;
      else differing.push({ ...t, actual });
    }
    const fresh = differing.filter((t) => !(t.path in this.found));
    if (fresh.length > 0) {
      for (const t of fresh) this.found[t.path] = t.actual;
      // Saved before the first write: a crash after it still restores.
      await this.d.state.write(FOUND_KEY, FOUND, this.found);
    }
    differing.sort((x, y) => fileRank(x.path) - fileRank(y.path));
    let written = 0;
    // A pair such as uncore min/max may need the other side moved first: retry refused writes once.
    const retry: Array<Target & { error: string }> = [];
    for (const t of differing) {
      try {
        await this.d.backend.write(t.path, t.value);
        written++;
      } catch (e) {
        retry.push({ ...t, error: message(e) });
      }
    }
    for (const t of retry) {
      try {
        await this.d.backend.write(t.path, t.value);
        written++;
      } catch (e) {
        failures.push({ path: t.path, value: t.value, error: message(e) });
        this.d.log.warn({ path: t.path, value: t.value, err: message(e) }, 'profile value could not be written');
      }
    }
    this.writes += written;
    return { written, unchanged, failures };
  }

  private async moveClaims(claims: readonly PlannedClaim[]): Promise<void> {
    const limits = this.d.limits;
    if (limits === undefined) return;
    const wanted = new Map(claims.map((c) => [c.owner, c] as const));
    for (const [owner, cpus] of this.claimed) {
      const next = wanted.get(owner);
      const gone = next === undefined ? cpus : cpus.filter((c) => !next.cpus.includes(c));
      if (gone.length > 0) await limits.release(owner, gone);
      if (next === undefined) this.claimed.delete(owner);
    }
    for (const c of claims) {
      await limits.claim(c.owner, c.cpus, c.limit, c.reason);
      this.claimed.set(c.owner, c.cpus);
    }
  }
}

export type { DesiredFile };
