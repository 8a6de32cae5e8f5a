/**
 * The host cap actuator: the effective cap split evenly over the RAPL packages (PL1 with the
 * correction time as its time window, PL2 when `shortTerm` is configured), re-applied whenever a
 * read-back differs (an outside write is undone and reported), and the same cap, plus headroom,
 * handed to the host's BMC when one is configured. Values found before the first write are
 * saved first (`knobs`), so `restore` puts every knob back.
 */
import type { BmcPowerLimit, Bmcs, HostModel, PowerCapHealth, Principal } from 'vpmd';
import type { PowerConfig } from './config.js';
import type { Knobs } from './policy-state.js';
import { RaplCap, sameLimit, type PackageLimits, type PackageZone } from './rapl-cap.js';

/** What one apply did, for the controller's audit and events. */
export interface CapReport {
  readonly health: PowerCapHealth;
  readonly detail?: string;
  /** Actions taken, with their cause. */
  readonly actions: readonly { readonly kind: 'applied' | 'reapplied' | 'released'; readonly what: string }[];
}

const CONTROLLER: Principal = { name: 'power-controller', role: 'Administrator', origin: 'internal' };

/** Package power bounds when the hardware does not say, W per package. */
const DEFAULT_MAX_W = 1_000;

export class HostCap {
  private readonly rapl: RaplCap;
  private zones: PackageZone[] | undefined;
  /** What was applied last per zone: a read-back that differs from it is an outside write. */
  private readonly applied = new Map<string, PackageLimits>();
  private bmcApplied: number | null | undefined;

  constructor(
    host: HostModel,
    private readonly config: PowerConfig,
    private readonly saveKnobs: (mutate: (k: Knobs) => void) => Promise<void>,
    private readonly bmcs: Bmcs | undefined,
  ) {
    this.rapl = new RaplCap(host);
  }

  async packages(): Promise<PackageZone[]> {
    this.zones ??= await this.rapl.packages();
    return this.zones;
  }

  /** AllowableMin/Max, W, summed over packages. */
  async bounds(): Promise<{ min: number; max: number }> {
    const zones = await this.packages();
    const max = zones.reduce((s, z) => s + (z.maxUw !== undefined ? z.maxUw / 1e6 : DEFAULT_MAX_W), 0);
    return { min: Math.ceil(max * 0.1), max: Math.floor(max) };
  }

  private want(watts: number, correctionMs: number, count: number): PackageLimits {
    const longUw = Math.round((watts * 1e6) / count);
    const st = this.config.shortTerm;
    return {
      longUw,
      longWindowUs: correctionMs * 1000,
      ...(st === undefined ? {} : { shortUw: Math.round(longUw * st.ratio), shortWindowUs: st.windowMs * 1000 }),
    };
  }

  /** Brings every package (and the BMC) to `watts`; idempotent. */
  async apply(watts: number, correctionMs: number, knobs: Knobs): Promise<CapReport> {
    const zones = await this.packages();
    if (zones.length === 0 && this.config.bmc === undefined)
      return {
        health: 'unavailable',
        detail: 'the host has no RAPL package zone and no BMC is configured',
        actions: [],
      };
    const actions: { kind: 'applied' | 'reapplied'; what: string }[] = [];
    let health: PowerCapHealth = 'ok';
    let detail: string | undefined;
    for (const z of zones) {
      const want = this.want(watts, correctionMs, zones.length);
      if (knobs.rapl[z.zone] === undefined) {
        const found = await this.rapl.read(z);
        await this.saveKnobs((k) => void (k.rapl[z.zone] = found));
      }
      const before = this.applied.get(z.zone);
      const current = before === undefined ? undefined : await this.rapl.read(z);
      const outcome = await this.rapl.apply(z, want);
      this.applied.set(z.zone, want);
      if (outcome.health !== 'ok') {
        health = outcome.health;
        detail = outcome.detail;
      }
      if (outcome.wrote.length === 0) continue;
      const outside = before !== undefined && sameAll(before, want) && current !== undefined;
      actions.push(
        outside
          ? {
              kind: 'reapplied',
              what: `${z.zone}: PL1 ${current.longUw} µW / ${current.longWindowUs} µs written by someone else, put back to ${want.longUw} µW / ${want.longWindowUs} µs`,
            }
          : { kind: 'applied', what: `${z.zone}: PL1 ${want.longUw} µW, window ${want.longWindowUs} µs` },
      );
    }
    const bmc = await this.applyBmc(watts, correctionMs, knobs);
    if (bmc.what !== undefined) actions.push({ kind: 'applied', what: bmc.what });
    if (bmc.error !== undefined && health === 'ok') {
      health = zones.length === 0 ? 'unavailable' : 'ok';
      detail = bmc.error;
    }
    return { health, ...(detail === undefined ? {} : { detail }), actions };
  }

  private async applyBmc(
    watts: number | null,
    correctionMs: number,
    knobs: Knobs,
  ): Promise<{ what?: string; error?: string }> {
    const cfg = this.config.bmc;
    if (cfg === undefined || this.bmcs === undefined) return {};
    const wall = watts === null ? null : Math.round(watts + cfg.headroomWatts);
    try {
      if (this.bmcApplied === wall) {
        const now = await this.bmcs.powerLimit(cfg.target);
        if (sameBmc(now, wall)) return {};
      }
      if (knobs.bmc[cfg.target] === undefined) {
        const found = await this.bmcs.powerLimit(cfg.target);
        await this.saveKnobs(
          (k) =>
            void (k.bmc[cfg.target] = {
              watts: found?.active === true ? found.watts : null,
              ...(found?.correctionMs === undefined ? {} : { correctionMs: found.correctionMs }),
            }),
        );
      }
      await this.bmcs.setPowerLimit(cfg.target, { watts: wall, correctionMs }, CONTROLLER);
      this.bmcApplied = wall;
      return { what: `BMC ${cfg.target}: power limit ${wall === null ? 'off' : `${wall} W`}` };
    } catch (e) {
      return { error: `BMC ${cfg.target}: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** Puts back every knob found in `knobs` (RAPL, BMC) and forgets what was applied. */
  async restore(knobs: Knobs): Promise<string[]> {
    const done: string[] = [];
    for (const z of await this.packages()) {
      const found = knobs.rapl[z.zone];
      if (found === undefined) continue;
      await this.rapl.apply(z, found);
      this.applied.delete(z.zone);
      done.push(`${z.zone}: PL1 back to ${found.longUw} µW / ${found.longWindowUs} µs`);
    }
    const cfg = this.config.bmc;
    const found = cfg === undefined ? undefined : knobs.bmc[cfg.target];
    if (cfg !== undefined && found !== undefined && this.bmcs !== undefined) {
      try {
        await this.bmcs.setPowerLimit(
          cfg.target,
          { watts: found.watts, ...(found.correctionMs === undefined ? {} : { correctionMs: found.correctionMs }) },
          CONTROLLER,
        );
        done.push(`BMC ${cfg.target}: power limit back to ${found.watts === null ? 'off' : `${found.watts} W`}`);
      } catch (e) {
        done.push(`BMC ${cfg.target}: could not put back (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    this.bmcApplied = undefined;
    return done;
  }
}

function sameAll(a: PackageLimits, b: PackageLimits): boolean {
  return (
    sameLimit(a.longUw, b.longUw, 'power') &&
    sameLimit(a.longWindowUs, b.longWindowUs, 'window') &&
    sameLimit(a.shortUw, b.shortUw, 'power')
  );
}

function sameBmc(now: BmcPowerLimit | null, wall: number | null): boolean {
  if (wall === null) return now === null || !now.active;
  return now !== null && now.active && Math.abs(now.watts - wall) < 1;
}
