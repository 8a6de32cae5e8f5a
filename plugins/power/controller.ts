/**
 * The power controller: one loop per host (docs/power-control.md). Each period it
 * 1. measures package power (RAPL counters) and lets the facility governor move its level;
 * 2. applies the effective host cap (operator's cap ∩ facility cap) to RAPL and the BMC,
 *    undoing outside writes;
 * 3. runs every budget's law (ceiling, then quota) with the facility's scale for its class.
 * It is idempotent (a period that finds everything in place writes nothing), persists the
 * policy, the knobs it found and its actuators' positions, audits every action with its cause,
 * and `pause()` puts back every knob it touched.
 */
import { VpmdError, type PowerCapStatus, type PowerControlStatus, type Principal } from 'vpmd';
import { BudgetRunner, type BudgetAction, type BudgetDeps } from './budget-runner.js';
import type { PowerConfig } from './config.js';
import type { PowerBudgetEvent, PowerCapEvent, PowerFacilityEvent } from './errors.js';
import { Facility, classScale, emptyFacility, type LatestReading } from './facility.js';
import { HostCap } from './host-cap.js';
import { emptyKnobs, KNOBS, MEMORY, POLICY, type Knobs, type Memory, type Policy } from './policy-state.js';
import type { Bmcs, StateStore } from 'vpmd';

/** Where the controller's effects go. */
export interface ControllerSinks {
  audit(by: Principal, action: string, outcome: 'ok' | 'failed', detail: string): void;
  budgetEvent(e: PowerBudgetEvent): void;
  capEvent(e: PowerCapEvent): void;
  facilityEvent(e: PowerFacilityEvent): void;
}

export interface ControllerDeps extends Omit<BudgetDeps, 'saveKnobs' | 'quotaPeriodUs'> {
  readonly config: PowerConfig;
  readonly state: Pick<StateStore, 'read' | 'write'>;
  readonly bmcs: Bmcs | undefined;
  readonly latest: LatestReading;
  readonly sinks: ControllerSinks;
  readonly now: () => number;
}

export const CONTROLLER: Principal = { name: 'power-controller', role: 'Administrator', origin: 'internal' };
const MAX_ACTIONS = 50;

export class PowerController {
  policy: Policy;
  private knobs: Knobs = emptyKnobs();
  private mem: Memory = { actuators: {}, facility: emptyFacility(), actions: [] };
  private readonly cap: HostCap;
  private readonly budgets: BudgetRunner;
  private readonly facility: Facility;
  private capHealth: Pick<PowerCapStatus, 'health' | 'detail'> = { health: 'uncapped' };
  private readingW: number | null = null;
  private counters = new Map<string, { uj: number; t: number; range: number }>();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ControllerDeps) {
    const c = deps.config;
    this.policy = {
      cap: { watts: c.cap?.watts ?? null, correctionMs: c.cap?.correctionMs ?? 1_000 },
      budgets: c.budgets.map((b) => ({ ...b })),
      paused: false,
    };
    const saveKnobs = (mutate: (k: Knobs) => void): Promise<void> => {
      mutate(this.knobs);
      return deps.state.write('knobs', KNOBS, this.knobs);
    };
    this.cap = new HostCap(deps.host, c, saveKnobs, deps.bmcs);
    this.budgets = new BudgetRunner({ ...deps, saveKnobs, quotaPeriodUs: c.quotaPeriodUs });
    this.facility = new Facility(c.facility, c.periodMs, deps.latest);
  }

  /** Loads the persisted policy, knobs and memory, and re-claims remembered ceilings. */
  async open(): Promise<void> {
    this.policy = (await this.deps.state.read('policy', POLICY)) ?? this.policy;
    this.knobs = (await this.deps.state.read('knobs', KNOBS)) ?? emptyKnobs();
    this.mem = (await this.deps.state.read('controller', MEMORY)) ?? this.mem;
    if (!this.policy.paused) await this.budgets.resume(this.mem);
  }

  /** Runs `fn` after every earlier step or change (one at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.running.then(fn);
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** One control period. */
  step(): Promise<void> {
    return this.serial(() => this.period());
  }

  private record(action: string, cause: string): void {
    const now = this.deps.now();
    this.mem.actions.push({ timestamp: now, action, cause });
    if (this.mem.actions.length > MAX_ACTIONS) this.mem.actions.splice(0, this.mem.actions.length - MAX_ACTIONS);
    this.deps.sinks.audit(CONTROLLER, 'power control', 'ok', `${action} (cause: ${cause})`);
  }

  private async measure(now: number): Promise<void> {
    const zones = await this.cap.packages();
    if (zones.length === 0) return;
    const domains = await this.deps.host.rapl.domains();
    let watts = 0;
    let known = true;
    for (const z of zones) {
      const d = domains.find((x) => x.id === z.zone);
      if (d?.energyUj === undefined) {
        known = false;
        continue;
      }
      const prev = this.counters.get(z.zone);
      this.counters.set(z.zone, { uj: d.energyUj, t: now, range: d.maxEnergyRangeUj });
      if (prev === undefined || now <= prev.t) {
        known = false;
        continue;
      }
      const delta = d.energyUj >= prev.uj ? d.energyUj - prev.uj : d.energyUj + prev.range - prev.uj;
      watts += delta / 1e6 / ((now - prev.t) / 1000);
    }
    if (known) this.readingW = watts;
  }

  /** Budget priority classes, ascending. */
  private classes(): number[] {
    return [...new Set(this.policy.budgets.map((b) => b.priority))].sort((a, b) => a - b);
  }

  /** The facility's cap, W, at the current level (null below the host-cap levels). */
  private facilityCap(): number | null {
    const f = this.mem.facility;
    const over = f.level - this.classes().length;
    if (over <= 0 || f.hostWattsAtCap === null) return null;
    return f.hostWattsAtCap * this.deps.config.facility.tightenFactor ** over;
  }

  effectiveCap(): number | null {
    const a = this.policy.cap.watts;
    const b = this.facilityCap();
    if (a === null) return b;
    return b === null ? a : Math.min(a, b);
  }

  private async period(): Promise<void> {
    const now = this.deps.now();
    const before = JSON.stringify(this.mem.actuators) + JSON.stringify(this.mem.facility);
    await this.measure(now);
    const { config } = this.deps;
    if (this.facility.configured) {
      const classes = this.classes().length;
      const change = this.facility.step(now, this.mem.facility, classes + 3);
      if (change !== undefined) {
        if (change.kind === 'tighten' && change.level === classes + 1) this.mem.facility.hostWattsAtCap = this.readingW;
        this.record(`facility ${change.kind} to level ${change.level}`, change.cause);
        this.deps.sinks.facilityEvent({ ...change, timestamp: now });
      }
    }
    if (!this.policy.paused) {
      const cap = this.effectiveCap();
      if (cap !== null) {
        const report = await this.cap.apply(cap, this.policy.cap.correctionMs, this.knobs);
        for (const a of report.actions) {
          this.record(
            a.what,
            a.kind === 'reapplied' ? 'an outside write changed the RAPL limit' : `host cap ${cap.toFixed(1)} W`,
          );
          this.deps.sinks.capEvent({ kind: a.kind, watts: cap, detail: a.what, timestamp: now });
        }
        if (report.health !== 'ok' && report.health !== this.capHealth.health)
          this.deps.sinks.capEvent({
            kind: report.health === 'locked' ? 'locked' : 'not-sticking',
            watts: cap,
            detail: report.detail ?? '',
            timestamp: now,
          });
        this.capHealth = { health: report.health, ...(report.detail === undefined ? {} : { detail: report.detail }) };
      } else {
        await this.releaseCap('no cap is set');
        this.capHealth = { health: 'uncapped' };
      }
    }
    const classes = this.classes();
    for (const b of this.policy.budgets) {
      const scale = classScale(this.mem.facility.level, classes.indexOf(b.priority), config.facility.tightenFactor);
      try {
        this.report(await this.budgets.step(b, scale, now, this.mem, this.knobs, this.policy.paused));
      } catch (e) {
        this.deps.sinks.audit(CONTROLLER, `power budget ${b.vm}`, 'failed', e instanceof Error ? e.message : String(e));
      }
    }
    const after = JSON.stringify(this.mem.actuators) + JSON.stringify(this.mem.facility);
    if (after !== before) await this.deps.state.write('controller', MEMORY, this.mem);
  }

  private report(actions: readonly BudgetAction[]): void {
    for (const a of actions) {
      this.record(`${a.vm}: ${a.what}`, a.cause);
      if (a.transition === undefined) continue;
      const b = this.policy.budgets.find((x) => x.vm === a.vm);
      const s = this.budgets.statuses(b === undefined ? [] : [b])[0];
      this.deps.sinks.budgetEvent({
        vm: a.vm,
        uuid: this.mem.actuators[a.vm]?.uuid ?? s?.uuid ?? '',
        kind: a.transition,
        averageWatts: s?.averageWatts ?? null,
        budgetWatts: b?.watts ?? s?.effectiveWatts ?? 0,
        actuator: a.what,
        reason: a.cause,
        timestamp: this.deps.now(),
      });
    }
  }

  private async releaseCap(cause: string): Promise<void> {
    if (Object.keys(this.knobs.rapl).length === 0 && Object.keys(this.knobs.bmc).length === 0) return;
    for (const what of await this.cap.restore(this.knobs)) {
      this.record(what, cause);
      this.deps.sinks.capEvent({ kind: 'released', watts: null, detail: what, timestamp: this.deps.now() });
    }
    this.knobs.rapl = {};
    this.knobs.bmc = {};
    await this.deps.state.write('knobs', KNOBS, this.knobs);
  }

  /** The kill switch: every knob back to the value found before vpmd touched it. */
  pause(by: Principal): Promise<void> {
    return this.serial(async () => {
      this.policy = { ...this.policy, paused: true };
      await this.deps.state.write('policy', POLICY, this.policy);
      await this.releaseCap(`paused by ${by.name}`);
      for (const vm of Object.keys(this.mem.actuators))
        this.report(await this.budgets.release(vm, this.mem, this.knobs, `paused by ${by.name}`));
      this.capHealth = { health: 'paused' };
      await this.deps.state.write('controller', MEMORY, this.mem);
      this.deps.sinks.audit(by, 'power policy pause', 'ok', 'every knob put back');
    });
  }

  resume(by: Principal): Promise<void> {
    return this.serial(async () => {
      this.policy = { ...this.policy, paused: false };
      await this.deps.state.write('policy', POLICY, this.policy);
      this.deps.sinks.audit(by, 'power policy resume', 'ok', 'the controller acts again');
    }).then(() => this.step());
  }

  /** Replaces the policy (validated by the caller), persists it and applies it at once. */
  change(by: Principal, action: string, mutate: (p: Policy) => Policy, removed?: string): Promise<void> {
    return this.serial(async () => {
      this.policy = mutate(this.policy);
      await this.deps.state.write('policy', POLICY, this.policy);
      if (removed !== undefined) {
        this.report(await this.budgets.release(removed, this.mem, this.knobs, `budget removed by ${by.name}`));
        this.budgets.forget(removed);
        await this.deps.state.write('controller', MEMORY, this.mem);
      }
      this.deps.sinks.audit(by, action, 'ok', JSON.stringify(this.policy.cap));
    }).then(() => this.step());
  }

  async capStatus(): Promise<PowerCapStatus> {
    const bounds = await this.cap.bounds();
    const bmc = this.deps.config.bmc?.target;
    return {
      watts: this.policy.cap.watts,
      effectiveWatts: this.policy.paused ? null : this.effectiveCap(),
      correctionMs: this.policy.cap.correctionMs,
      allowableMin: bounds.min,
      allowableMax: bounds.max,
      mode: this.policy.paused || this.effectiveCap() === null ? 'Disabled' : 'Automatic',
      health: this.policy.paused ? 'paused' : this.capHealth.health,
      ...(this.capHealth.detail === undefined || this.policy.paused ? {} : { detail: this.capHealth.detail }),
      readingWatts: this.readingW === null ? null : Math.round(this.readingW * 10) / 10,
      ...(bmc === undefined ? {} : { bmc }),
    };
  }

  async status(): Promise<PowerControlStatus> {
    return {
      paused: this.policy.paused,
      periodMs: this.deps.config.periodMs,
      cap: await this.capStatus(),
      budgets: this.budgets.statuses(this.policy.budgets),
      facility: { level: this.mem.facility.level, constraints: this.facility.status() },
      lastActions: this.mem.actions.slice(-10),
    };
  }

  /** @throws E_POWER_INVALID naming the bound. */
  async checkCap(watts: number | null, correctionMs: number | undefined): Promise<void> {
    if (watts !== null) {
      const { min, max } = await this.cap.bounds();
      if (!(Number.isFinite(watts) && watts >= min && watts <= max))
        throw new VpmdError('E_POWER_INVALID', `host cap ${watts} W is outside the allowed ${min}..${max} W`, {
          watts,
          min,
          max,
        });
    }
    if (correctionMs !== undefined && !(Number.isInteger(correctionMs) && correctionMs >= 1 && correctionMs <= 600_000))
      throw new VpmdError('E_POWER_INVALID', `correction time ${correctionMs} ms must be an integer in 1..600000`, {
        correctionMs,
      });
  }
}
