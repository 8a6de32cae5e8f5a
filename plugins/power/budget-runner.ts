/**
 * Runs the budget law for every budget once per period: finds the VM (domains@1), its pCPUs and
 * whether they are exclusive, measures its power from energy@1's joule counter, and moves the
 * actuators in order of gentleness: the frequency ceiling of its exclusive pCPUs (cpu-limits@1,
 * owner `power:budget:<vm>`), then its vCPU quota through libvirt, then a denial of its guests'
 * requests to raise their frequency (cpu-limits@1 `denyRaise`, same owner; guest channels NACK
 * them with the reason). Values found before the first quota write are kept in `knobs` and put
 * back when the budget goes or the controller pauses.
 */
import type { CpuLimits, Domains, DomainInfo, EnergyAccounting, HostModel, PowerBudgetStatus } from 'vpmd';
import { nextActuators, type ActuatorMemory } from './budget-law.js';
import type { Knobs, Memory, Policy } from './policy-state.js';
import type { QuotaActuator } from './quota.js';

export type Budget = Policy['budgets'][number];

export interface BudgetDeps {
  readonly host: HostModel;
  readonly cpuLimits: CpuLimits;
  readonly domains: Domains | undefined;
  readonly energy: EnergyAccounting | undefined;
  readonly quota: QuotaActuator | undefined;
  readonly quotaPeriodUs: number;
  readonly saveKnobs: (mutate: (k: Knobs) => void) => Promise<void>;
}

/** One thing a budget step did. */
export interface BudgetAction {
  readonly vm: string;
  readonly what: string;
  readonly cause: string;
  /** Set when the budget became exhausted (first throttle) or recovered (last knob released). */
  readonly transition?: 'exhausted' | 'recovered';
}

interface Sample {
  readonly t: number;
  readonly joules: number;
}

/** Claim owner of a budget's ceiling. */
export function ownerOf(vm: string): string {
  return `power:budget:${vm.replace(/[^A-Za-z0-9._@-]/g, '_')}`;
}

export class BudgetRunner {
  private readonly samples = new Map<string, Sample[]>();
  private readonly status = new Map<string, PowerBudgetStatus>();
  /** VMs whose quota libvirt refused (reported once until it works again). */
  private readonly quotaFailed = new Map<string, boolean>();

  constructor(private readonly deps: BudgetDeps) {}

  statuses(budgets: readonly Budget[]): PowerBudgetStatus[] {
    return budgets.map(
      (b) =>
        this.status.get(b.vm) ?? {
          ...b,
          averageWatts: null,
          effectiveWatts: b.watts ?? null,
          state: 'no-reading',
          actuators: [],
        },
    );
  }

  private exclusiveCpus(
    vm: DomainInfo,
    all: readonly DomainInfo[],
    cpuCount: number,
  ): { cpus: number[]; exclusive: boolean } {
    const mine = new Set(vm.vcpus.flatMap((v) => v.pins));
    const others = new Set(
      all.filter((d) => d.uuid !== vm.uuid).flatMap((d) => [...d.vcpus.flatMap((v) => v.pins), ...d.emulator.pins]),
    );
    const cpus = [...mine].sort((a, b) => a - b);
    const exclusive = cpus.length > 0 && cpus.length < cpuCount && cpus.every((c) => !others.has(c));
    return { cpus, exclusive };
  }

  /** Watts over the last `windowMs` from the sample ring (joules difference over time). */
  private average(key: string, now: number, windowMs: number): number | null {
    const ring = this.samples.get(key) ?? [];
    const last = ring[ring.length - 1];
    const first = ring.find((s) => s.t >= now - windowMs) ?? ring[0];
    if (last === undefined || first === undefined || last.t <= first.t) return null;
    return (last.joules - first.joules) / ((last.t - first.t) / 1000);
  }

  /** One period for one budget; `scale` is the facility's tightening for its priority class. */
  async step(
    b: Budget,
    scale: number,
    now: number,
    mem: Memory,
    knobs: Knobs,
    paused: boolean,
  ): Promise<BudgetAction[]> {
    const { domains, energy } = this.deps;
    const vm = domains === undefined ? undefined : await domains.get(b.vm);
    const set = (s: Partial<PowerBudgetStatus> & Pick<PowerBudgetStatus, 'state'>): void =>
      void this.status.set(b.vm, {
        ...b,
        averageWatts: null,
        effectiveWatts: null,
        actuators: describe(mem.actuators[b.vm]),
        ...s,
      });
    if (vm === undefined) {
      const actions = await this.release(b.vm, mem, knobs, 'the VM is not running');
      set({ state: 'vm-not-running', actuators: [] });
      return actions;
    }
    const e = energy?.vm(vm.uuid);
    const ring = this.samples.get(b.vm) ?? [];
    if (e !== undefined && (ring.length === 0 || now > (ring[ring.length - 1]?.t ?? 0))) {
      ring.push({ t: now, joules: e.rapl.joules });
      const keepMs = Math.max(b.windowS * 1000, 60_000) + 5_000;
      while (ring.length > 2 && (ring[0]?.t ?? now) < now - keepMs) ring.shift();
      this.samples.set(b.vm, ring);
    }
    const last = ring[ring.length - 1];
    const prev = ring[ring.length - 2];
    const periodW =
      last !== undefined && prev !== undefined && last.t > prev.t
        ? (last.joules - prev.joules) / ((last.t - prev.t) / 1000)
        : (e?.rapl.watts ?? null);
    const averageW = this.average(b.vm, now, b.windowS * 1000);
    const target = this.target(b, scale, now) ?? 0;
    if (paused) {
      set({ state: 'paused', averageWatts: averageW, effectiveWatts: target, actuators: [] });
      return [];
    }
    if (periodW === null) {
      set({ state: 'no-reading', averageWatts: averageW, effectiveWatts: target });
      return [];
    }
    const policies = await this.deps.host.cpufreq.policies();
    const topo = await this.deps.host.topology();
    const cpuCount = topo.cpus.length;
    const { cpus, exclusive } = this.exclusiveCpus(vm, (await domains?.list()) ?? [], cpuCount);
    const mine = policies.filter((p) => p.affectedCpus.some((c) => cpus.includes(c)));
    const runKHz = mine.reduce((s, p) => s + (p.scalingCurKHz ?? p.scalingMaxKHz), 0) / Math.max(1, mine.length);
    const minKHz = Math.max(...mine.map((p) => p.cpuinfoMinKHz), 0);
    const maxKHz = Math.min(...mine.map((p) => p.cpuinfoMaxKHz), Infinity);
    const cur: ActuatorMemory = { ...mem.actuators[b.vm] };
    const quotaAvailable = this.deps.quota !== undefined && this.quotaFailed.get(b.vm) === undefined;
    const next = nextActuators(cur, {
      measuredW: periodW,
      targetW: target,
      exclusive,
      runKHz,
      minKHz,
      maxKHz,
      quotaAvailable,
    });
    const actions = await this.move(
      { name: b.vm, uuid: vm.uuid },
      exclusive ? cpus : [],
      cur,
      next,
      mem,
      knobs,
      periodW,
      target,
    );
    const engaged = mem.actuators[b.vm] !== undefined;
    set({ state: engaged ? 'throttled' : 'within', averageWatts: averageW, effectiveWatts: target });
    return actions;
  }

  /** The budget in watts for this period: the rolling budget, or what is left of the joules. */
  private target(b: Budget, scale: number, now: number): number | null {
    if (b.watts !== undefined) return b.watts * scale;
    if (b.joules === undefined) return null;
    const windowMs = b.windowS * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const ring = this.samples.get(b.vm) ?? [];
    const at = ring.find((s) => s.t >= start);
    const used = at === undefined ? 0 : (ring[ring.length - 1]?.joules ?? at.joules) - at.joules;
    const left = Math.max(0, b.joules * scale - used);
    return left / Math.max(1, (start + windowMs - now) / 1000);
  }

  private async move(
    domain: { readonly name: string; readonly uuid: string },
    cpus: number[],
    cur: ActuatorMemory,
    next: ActuatorMemory,
    mem: Memory,
    knobs: Knobs,
    measured: number,
    target: number,
  ): Promise<BudgetAction[]> {
    const { name: vmName, uuid } = domain;
    const actions: BudgetAction[] = [];
    const cause = `${vmName} drew ${measured.toFixed(1)} W against ${target.toFixed(1)} W`;
    const wasEngaged = cur.ceilingKHz !== undefined || cur.quota !== undefined || cur.deny === true;
    const owner = ownerOf(vmName);
    if (next.ceilingKHz !== cur.ceilingKHz) {
      if (next.ceilingKHz === undefined) {
        await this.deps.cpuLimits.release(owner);
        actions.push({ vm: vmName, what: `released the frequency ceiling of CPUs ${cpus.join(',')}`, cause });
      } else {
        await this.deps.cpuLimits.claim(
          owner,
          cpus,
          { maxKHz: next.ceilingKHz },
          `VM ${vmName} over its ${target.toFixed(1)} W budget`,
        );
        actions.push({ vm: vmName, what: `frequency ceiling ${next.ceilingKHz} kHz on CPUs ${cpus.join(',')}`, cause });
      }
    }
    if (next.quota !== cur.quota && this.deps.quota !== undefined) {
      try {
        actions.push(await this.setQuota(vmName, uuid, next.quota, knobs, cause));
      } catch (e) {
        // The quota is unavailable (libvirt refused): keep the other actuators, say why once.
        if (this.quotaFailed.get(vmName) === undefined)
          actions.push({
            vm: vmName,
            what: `vCPU quota unavailable (${e instanceof Error ? e.message : String(e)})`,
            cause,
          });
        this.quotaFailed.set(vmName, true);
        next = { ...next, quota: cur.quota };
      }
    } else if (next.quota !== undefined && this.deps.quota === undefined) {
      next = { ...next, quota: undefined };
    }
    if ((next.deny === true) !== (cur.deny === true)) {
      if (next.deny === true) {
        this.deps.cpuLimits.denyRaise(owner, domain, denialReason(vmName, target));
        actions.push({ vm: vmName, what: 'guest requests to raise the frequency denied', cause });
      } else {
        this.deps.cpuLimits.liftRaise(owner, uuid);
        actions.push({ vm: vmName, what: 'guest requests to raise the frequency allowed again', cause });
      }
    }
    const engaged = next.ceilingKHz !== undefined || next.quota !== undefined || next.deny === true;
    if (engaged) mem.actuators[vmName] = { uuid, cpus, ...next };
    else delete mem.actuators[vmName];
    if (actions.length > 0 && engaged !== wasEngaged) {
      const first = actions[0];
      if (first !== undefined) actions[0] = { ...first, transition: engaged ? 'exhausted' : 'recovered' };
    }
    return actions;
  }

  private async setQuota(
    vm: string,
    uuid: string,
    share: number | undefined,
    knobs: Knobs,
    cause: string,
  ): Promise<BudgetAction> {
    const quota = this.deps.quota;
    if (quota === undefined) throw new Error('no quota actuator');
    const period = this.deps.quotaPeriodUs;
    if (knobs.quota[uuid] === undefined) {
      const found = await quota.get(uuid);
      await this.deps.saveKnobs((k) => void (k.quota[uuid] = found));
    }
    const found = knobs.quota[uuid] ?? { quotaUs: -1, periodUs: period };
    const want = share === undefined ? found : { quotaUs: Math.round(share * period), periodUs: period };
    await quota.set(uuid, want);
    if (share === undefined) await this.deps.saveKnobs((k) => void delete k.quota[uuid]);
    this.quotaFailed.delete(vm);
    return {
      vm,
      what: share === undefined ? 'vCPU quota back to its own value' : `vCPU quota ${want.quotaUs}/${want.periodUs} µs`,
      cause,
    };
  }

  /** Puts back every knob of one budget (removed, VM gone, or pause). */
  async release(vm: string, mem: Memory, knobs: Knobs, cause: string): Promise<BudgetAction[]> {
    const a = mem.actuators[vm];
    if (a === undefined) return [];
    const actions: BudgetAction[] = [];
    if (a.ceilingKHz !== undefined) {
      await this.deps.cpuLimits.release(ownerOf(vm));
      actions.push({ vm, what: `released the frequency ceiling of CPUs ${a.cpus.join(',')}`, cause });
    }
    const found = knobs.quota[a.uuid];
    if (a.quota !== undefined && found !== undefined && this.deps.quota !== undefined) {
      try {
        await this.deps.quota.set(a.uuid, found);
        actions.push({ vm, what: `vCPU quota back to ${found.quotaUs}/${found.periodUs} µs`, cause });
      } catch (e) {
        actions.push({
          vm,
          what: `vCPU quota could not be put back (${e instanceof Error ? e.message : String(e)})`,
          cause,
        });
      }
      await this.deps.saveKnobs((k) => void delete k.quota[a.uuid]);
    }
    if (a.deny === true) {
      this.deps.cpuLimits.liftRaise(ownerOf(vm), a.uuid);
      actions.push({ vm, what: 'guest requests to raise the frequency allowed again', cause });
    }
    delete mem.actuators[vm];
    const first = actions[0];
    if (first !== undefined) actions[0] = { ...first, transition: 'recovered' };
    return actions;
  }

  /** Re-claims the ceilings remembered from before a restart (the core forgot its claims). */
  async resume(mem: Memory): Promise<void> {
    for (const [vm, a] of Object.entries(mem.actuators)) {
      if (a.ceilingKHz !== undefined && a.cpus.length > 0)
        await this.deps.cpuLimits.claim(
          ownerOf(vm),
          a.cpus,
          { maxKHz: a.ceilingKHz },
          `VM ${vm} over its budget (resumed)`,
        );
      if (a.deny === true)
        this.deps.cpuLimits.denyRaise(ownerOf(vm), { uuid: a.uuid, name: vm }, `${denialReason(vm)} (resumed)`);
    }
  }

  forget(vm: string): void {
    this.samples.delete(vm);
    this.status.delete(vm);
  }
}

/** What a guest is told when its request to raise the frequency is denied. */
function denialReason(vm: string, targetW?: number): string {
  const budget = targetW === undefined ? 'its power budget' : `its ${Number(targetW.toPrecision(3))} W power budget`;
  return `VM ${vm} is over ${budget} with its frequency ceiling and CPU quota spent`;
}

function describe(a: Memory['actuators'][string] | undefined): string[] {
  if (a === undefined) return [];
  return [
    ...(a.ceilingKHz === undefined ? [] : [`frequency-ceiling ${a.ceilingKHz} kHz`]),
    ...(a.quota === undefined ? [] : [`cpu-quota ${(a.quota * 100).toFixed(0)} %`]),
    ...(a.deny === true ? ['guest-raise-denied'] : []),
  ];
}
