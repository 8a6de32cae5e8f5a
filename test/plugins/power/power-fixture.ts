/**
 * A power controller on a simulated host with a simulated clock: the real cpu-limits service,
 * in-memory domains whose vCPUs are the simulator's CPU loads, an energy@1 stand-in that
 * integrates each VM's share of the simulator's package power, and a quota actuator that caps
 * the simulator's load of a VM's CPUs (what the cgroup CPU bandwidth does to a busy guest).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnergyAccounting, VmEnergy } from '../../../core/contracts/energy.js';
import type { Principal } from '../../../core/access/privileges.js';
import { CpuLimitsService } from '../../../core/cpu-limits/cpu-limits-service.js';
import { createLogger } from '../../../core/logger.js';
import { StateStore } from '../../../core/state/index.js';
import { InMemoryDomains } from '../../../testkit/in-memory-domains.js';
import { Value } from '@sinclair/typebox/value';
import { PowerConfigSchema, type PowerConfig } from '../../../plugins/power/config.js';
import { PowerController, type ControllerSinks } from '../../../plugins/power/controller.js';
import type { CpuQuota, QuotaActuator } from '../../../plugins/power/quota.js';
import { simHost, type SimFixture } from '../../core/sim/sim-fixture.js';
import type { SimProfileName } from '../../../core/sim/index.js';

export const ADMIN: Principal = { name: 'root', role: 'Administrator', origin: 'control-socket' };

/** A VM on the simulated host: its CPUs and how busy its guest wants to be. */
interface SimVm {
  readonly uuid: string;
  readonly name: string;
  readonly cpus: readonly number[];
  demand: number;
  quota: CpuQuota;
  joules: number;
}

export class SimVms implements EnergyAccounting, QuotaActuator {
  readonly guests = new Map<string, SimVm>();
  private lastMs: number;
  quotaWrites = 0;

  constructor(private readonly sim: SimFixture) {
    this.lastMs = sim.kernel.nowMs();
  }

  /** Dynamic power of a set of CPUs now (the simulator's model, per CPU), W. */
  cpuWatts(cpus: readonly number[]): number {
    const p = this.sim.kernel.profile;
    const power = this.sim.kernel.power();
    const loads = this.sim.kernel.loads();
    const perCpu = (p.power.packageMaxW - p.power.packageIdleW) / (p.coresPerPackage * p.threadsPerCore);
    return cpus.reduce((s, c) => s + (loads[c] ?? 0) * ((power.cpuKHz[c] ?? 0) / p.cpufreq.maxKHz) ** 2 * perCpu, 0);
  }

  /** Work done per second by a set of CPUs: load × frequency (GHz). */
  throughput(cpus: readonly number[]): number {
    const power = this.sim.kernel.power();
    const loads = this.sim.kernel.loads();
    return cpus.reduce((s, c) => s + (loads[c] ?? 0) * ((power.cpuKHz[c] ?? 0) / 1e6), 0);
  }

  /** Brings every VM's energy counter up to the simulator's now. */
  integrate(): void {
    const now = this.sim.kernel.nowMs();
    const dt = (now - this.lastMs) / 1000;
    if (dt > 0) for (const vm of this.guests.values()) vm.joules += this.cpuWatts(vm.cpus) * dt;
    this.lastMs = now;
  }

  add(uuid: string, name: string, cpus: readonly number[], demand = 1): void {
    this.guests.set(uuid, { uuid, name, cpus, demand, quota: { quotaUs: -1, periodUs: 100_000 }, joules: 0 });
    this.apply(uuid);
  }

  setDemand(uuid: string, demand: number): void {
    this.integrate();
    const vm = this.guests.get(uuid);
    if (vm !== undefined) vm.demand = demand;
    this.apply(uuid);
  }

  private apply(uuid: string): void {
    const vm = this.guests.get(uuid);
    if (vm === undefined) return;
    const share = vm.quota.quotaUs < 0 ? 1 : vm.quota.quotaUs / vm.quota.periodUs;
    this.sim.kernel.setLoad([...vm.cpus], Math.min(vm.demand, share));
  }

  // energy@1
  vms(): readonly VmEnergy[] {
    return [...this.guests.keys()].map((u) => this.vm(u)).filter((v): v is VmEnergy => v !== undefined);
  }
  vm(uuidOrName: string): VmEnergy | undefined {
    this.integrate();
    const vm = this.guests.get(uuidOrName) ?? [...this.guests.values()].find((v) => v.name === uuidOrName);
    if (vm === undefined) return undefined;
    const fig = {
      joules: vm.joules,
      watts: this.cpuWatts(vm.cpus),
      source: 'rapl' as const,
      model: 'sim',
      origin: 'sim',
    };
    return { uuid: vm.uuid, name: vm.name, running: true, rapl: fig, zones: {} };
  }
  host(): ReturnType<EnergyAccounting['host']> {
    return { zones: [], idleFloor: {}, sampledAt: this.sim.kernel.nowMs(), intervalMs: 1000 };
  }
  history(): ReturnType<EnergyAccounting['history']> {
    return [];
  }

  // the quota actuator
  get(uuid: string): Promise<CpuQuota> {
    return Promise.resolve(this.guests.get(uuid)?.quota ?? { quotaUs: -1, periodUs: 100_000 });
  }
  set(uuid: string, quota: CpuQuota): Promise<void> {
    this.integrate();
    const vm = this.guests.get(uuid);
    if (vm !== undefined) vm.quota = quota;
    this.quotaWrites += 1;
    this.apply(uuid);
    return Promise.resolve();
  }
}

export interface PowerRig {
  readonly sim: SimFixture;
  readonly vms: SimVms;
  readonly domains: InMemoryDomains;
  readonly limits: CpuLimitsService;
  readonly audit: string[];
  readonly events: { type: string; payload: unknown }[];
  readonly readings: Map<string, { value: number | null; timestamp: number }>;
  readonly stateDir: string;
  controller: PowerController;
  /** A controller on the same state (a restart). */
  reopen(config?: Partial<PowerConfig>): Promise<PowerController>;
  /** Advances the clock one period and steps the controller. */
  tick(ms?: number): Promise<void>;
  /** Package power summed, W. */
  hostWatts(): number;
  dispose(): Promise<void>;
}

export async function powerRig(
  config: Partial<PowerConfig> = {},
  profile: SimProfileName = 'intel-pstate-hwp-32',
): Promise<PowerRig> {
  const sim = await simHost(profile);
  const stateDir = await mkdtemp(join(tmpdir(), 'vpmd-power-'));
  const store = new StateStore(stateDir);
  const log = createLogger({ level: 'silent' });
  const limits = new CpuLimitsService({ cpufreq: sim.host.cpufreq, state: store, log, now: () => sim.kernel.nowMs() });
  const vms = new SimVms(sim);
  const domains = new InMemoryDomains(() => sim.kernel.nowMs());
  const audit: string[] = [];
  const events: { type: string; payload: unknown }[] = [];
  const readings = new Map<string, { value: number | null; timestamp: number }>();
  const sinks: ControllerSinks = {
    audit: (by, action, outcome, detail) => void audit.push(`${by.name} ${action} ${outcome}: ${detail}`),
    budgetEvent: (e) => void events.push({ type: 'power.budget.v1', payload: e }),
    capEvent: (e) => void events.push({ type: 'power.cap.v1', payload: e }),
    facilityEvent: (e) => void events.push({ type: 'power.facility.v1', payload: e }),
  };
  const make = async (over: Partial<PowerConfig>): Promise<PowerController> => {
    const cfg = Value.Default(PowerConfigSchema, structuredClone({ ...config, ...over })) as PowerConfig;
    const c = new PowerController({
      config: cfg,
      host: sim.host,
      cpuLimits: limits,
      domains,
      energy: vms,
      quota: vms,
      bmcs: undefined,
      state: store.scope('power'),
      latest: (id) => readings.get(id),
      sinks,
      now: () => sim.kernel.nowMs(),
    });
    await c.open();
    return c;
  };
  const rig: PowerRig = {
    sim,
    vms,
    domains,
    limits,
    audit,
    events,
    readings,
    stateDir,
    controller: await make({}),
    async reopen(over = {}) {
      rig.controller = await make(over);
      return rig.controller;
    },
    async tick(ms = 1000) {
      sim.kernel.advance(ms);
      await rig.controller.step();
    },
    hostWatts: () => sim.kernel.power().packageW.reduce((a, b) => a + b, 0),
    async dispose() {
      await sim.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Starts a VM pinned to `cpus` (vCPU i on cpus[i], emulator on the same CPUs), fully loaded. */
export function startVm(rig: PowerRig, uuid: string, name: string, cpus: readonly number[], demand = 1): void {
  rig.domains.start({ uuid, name, vcpus: cpus.map((c) => ({ pins: [c] })), emulator: { pins: [...cpus] } });
  rig.vms.add(uuid, name, cpus, demand);
}
