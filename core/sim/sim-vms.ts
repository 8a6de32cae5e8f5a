/**
 * Simulated VMs on the simulated host: each VM is a QEMU process whose vCPU threads (and one
 * emulator thread) burn simulated CPU on the host CPUs they are pinned to. The simulator
 * schedules them (a thread's demand spreads evenly over its pins; an over-committed CPU shares
 * fairly), drives the CPUs' load (hence frequency and power) from them, serves what the kernel
 * would show (`/proc/stat`, `/proc/<pid>/task/<tid>/{stat,schedstat,comm}`), a libvirt-like description
 * of the running domains (`run/vpmd-sim/domains.json`, which the simulated `domains@1` source
 * reads), and accumulates each VM's TRUE energy per RAPL zone from the power physics
 * (`sim-power-model.ts`): the busy power its threads drew above the idle power of the CPUs
 * they ran on, plus the uncore power their activity added.
 */
import { VpmdError } from '../errors.js';
import { raplZones, type SimRaplZone } from './build-platform-tree.js';
import type { SimPower } from './sim-physics.js';
import { aboveFloorW } from './sim-power-model.js';
import { cpuCount, placement, type SimProfile } from './sim-profile.js';
import { renderProcFile, listProcDir, DOMAINS_FILE } from './sim-vm-files.js';
import type { SimLoad, SimThread, SimThreadSpec, SimVm, SimVmSpec, SimVmState } from './sim-vm-types.js';

export type {
  SimLoad,
  SimLoadPattern,
  SimThread,
  SimThreadSpec,
  SimVm,
  SimVmSpec,
  SimVmState,
} from './sim-vm-types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An empty VM state for a profile. */
export function emptyVmState(p: SimProfile): SimVmState {
  const n = cpuCount(p);
  return {
    vms: [],
    hostLoads: new Array<number>(n).fill(0),
    cpuBusyUs: new Array<number>(n).fill(0),
    cpuIdleUs: new Array<number>(n).fill(0),
    nextPid: 4000,
    trueJ: {},
    hostTrueJ: {},
  };
}

function zoneKey(z: SimRaplZone): string {
  return z.kind === 'package' ? z.name : `package-${z.package}/${z.name}`;
}

/** The load a thread demands at `nowMs`. */
export function loadAt(load: SimLoad, nowMs: number): number {
  if (typeof load === 'number') return load;
  const v = load.mean + load.amplitude * Math.sin((2 * Math.PI * nowMs) / 1000 / load.periodS);
  return Math.min(1, Math.max(0, v));
}

function invalid(message: string, details: Record<string, string | number> = {}): VpmdError {
  return new VpmdError('E_HOST_INVALID', message, details);
}

/** One thread's share of each CPU during the current step. */
interface Placement {
  readonly thread: SimThread;
  readonly vm: SimVm | undefined;
  readonly rates: ReadonlyArray<readonly [cpu: number, rate: number]>;
}

/** The VM layer of a simulated kernel. Mutations go through the kernel (see `SimulatedKernel.vms`). */
export class SimVmLayer {
  private placements: Placement[] = [];
  private hostRates: number[] = [];
  private readonly zones: SimRaplZone[];

  constructor(
    private readonly p: SimProfile,
    readonly state: SimVmState,
  ) {
    this.zones = raplZones(p);
  }

  /** True when VMs or host loads drive the CPUs' load (otherwise `setLoad` does). */
  get active(): boolean {
    return this.state.vms.length > 0 || this.state.hostLoads.some((l) => l > 0);
  }

  /** Validates and adds a VM; returns it. */
  add(spec: SimVmSpec, nowMs: number): SimVm {
    const uuid = spec.uuid.toLowerCase();
    if (!UUID.test(uuid)) throw invalid(`simulated VM ${spec.name}: '${spec.uuid}' is not a UUID`, { uuid: spec.uuid });
    if (this.state.vms.some((v) => v.uuid === uuid || v.name === spec.name))
      throw invalid(`simulated VM ${spec.name} (${uuid}) is already running`, { uuid });
    if (spec.vcpus.length === 0) throw invalid(`simulated VM ${spec.name} needs at least one vCPU`, { uuid });
    const first = spec.vcpus[0] as SimThreadSpec;
    const emulatorSpec = spec.emulator ?? { pins: first.pins, load: 0.01 };
    for (const t of [...spec.vcpus, emulatorSpec]) this.checkThread(spec.name, t);
    const pid = this.state.nextPid;
    this.state.nextPid += spec.vcpus.length + 8;
    const thread = (t: SimThreadSpec, tid: number): SimThread => ({
      tid,
      pins: [...t.pins].sort((a, b) => a - b),
      load: t.load,
      cpuUs: 0,
      lastCpu: t.pins[0] ?? 0,
    });
    const vm: SimVm = {
      uuid,
      name: spec.name,
      pid,
      startedAtMs: nowMs,
      emulator: thread(emulatorSpec, pid),
      vcpus: spec.vcpus.map((t, i) => thread(t, pid + 2 + i)),
      ...(spec.novaProjectId === undefined ? {} : { novaProjectId: spec.novaProjectId }),
    };
    this.state.vms.push(vm);
    this.state.trueJ[uuid] ??= {};
    return vm;
  }

  /** Removes a running VM (its true energy is kept). */
  remove(uuidOrName: string): void {
    const vm = this.find(uuidOrName);
    this.state.vms = this.state.vms.filter((v) => v !== vm);
  }

  /** A running VM by UUID or name; throws when none. */
  find(uuidOrName: string): SimVm {
    const key = uuidOrName.toLowerCase();
    const vm = this.state.vms.find((v) => v.uuid === key || v.name === uuidOrName);
    if (vm === undefined) throw invalid(`no simulated VM '${uuidOrName}' runs`, { vm: uuidOrName });
    return vm;
  }

  /** The threads `what` names: one vCPU, the emulator, or every vCPU. */
  threads(vm: SimVm, what: number | 'emulator' | 'vcpus'): SimThread[] {
    if (what === 'emulator') return [vm.emulator];
    if (what === 'vcpus') return vm.vcpus;
    const t = vm.vcpus[what];
    if (t === undefined) throw invalid(`simulated VM ${vm.name} has no vCPU ${what}`, { vm: vm.uuid });
    return [t];
  }

  checkThread(name: string, t: SimThreadSpec): void {
    const n = cpuCount(this.p);
    if (t.pins.length === 0 || t.pins.some((c) => !Number.isInteger(c) || c < 0 || c >= n))
      throw invalid(`simulated VM ${name}: pins must be CPUs in 0-${n - 1}, got [${t.pins.join(',')}]`, { vm: name });
    const loads =
      typeof t.load === 'number' ? [t.load] : [t.load.mean - t.load.amplitude, t.load.mean + t.load.amplitude];
    if (loads.some((l) => !(l >= -1 && l <= 2)) || (typeof t.load !== 'number' && !(t.load.periodS > 0)))
      throw invalid(`simulated VM ${name}: a load is a fraction 0..1 or {mean, amplitude, periodS > 0}`, { vm: name });
  }

  /** Schedules the threads for a step starting at `nowMs` and writes the CPUs' loads; false when inactive. */
  applyLoads(nowMs: number, loads: number[]): boolean {
    if (!this.active) return false;
    const n = loads.length;
    const demand = this.state.hostLoads.slice(0, n);
    const wanted: Array<{ thread: SimThread; vm: SimVm | undefined; perCpu: number }> = [];
    for (const vm of this.state.vms) {
      for (const thread of [...vm.vcpus, vm.emulator]) {
        const perCpu = loadAt(thread.load, nowMs) / thread.pins.length;
        for (const c of thread.pins) demand[c] = (demand[c] ?? 0) + perCpu;
        wanted.push({ thread, vm, perCpu });
      }
    }
    // An over-committed CPU shares fairly: every demand on it shrinks by the same factor.
    const scale = demand.map((d) => (d > 1 ? 1 / d : 1));
    this.placements = wanted.map(({ thread, vm, perCpu }) => ({
      thread,
      vm,
      rates: thread.pins.map((c) => [c, perCpu * (scale[c] ?? 1)] as const),
    }));
    this.hostRates = this.state.hostLoads.map((l, c) => l * (scale[c] ?? 1));
    for (let c = 0; c < n; c++) loads[c] = Math.min(1, demand[c] ?? 0);
    return true;
  }

  /** Integrates CPU times, `/proc/stat` and true energies over `dtMs` at `power` and `loads`. */
  advance(dtMs: number, power: SimPower, loads: readonly number[]): void {
    const dtS = dtMs / 1000;
    for (let c = 0; c < loads.length; c++) {
      const l = loads[c] ?? 0;
      this.state.cpuBusyUs[c] = (this.state.cpuBusyUs[c] ?? 0) + l * dtMs * 1000;
      this.state.cpuIdleUs[c] = (this.state.cpuIdleUs[c] ?? 0) + (1 - l) * dtMs * 1000;
    }
    if (!this.active) return;
    const perPackage = this.p.coresPerPackage * this.p.threadsPerCore;
    const dramPerCpuW = ((this.p.power.dramMaxW ?? 0) - (this.p.power.dramIdleW ?? 0)) / perPackage;
    const credit = (into: Record<string, number>, cpu: number, rate: number): void => {
      const terms = power.cpuTerms[cpu];
      if (terms === undefined || rate <= 0) return;
      const load = loads[cpu] ?? 0;
      if (load <= 0) return;
      const pkg = placement(this.p, cpu).package;
      // The thread's share (rate / load) of all the CPU draws above its floor.
      const marginal = aboveFloorW(this.p, terms, load) / load;
      for (const z of this.zones) {
        if (z.package !== pkg) continue;
        // dram follows activity; the core plane is 85 % of the package's load-dependent power.
        const w = z.kind === 'package' ? marginal : z.kind === 'dram' ? dramPerCpuW : 0.85 * marginal;
        const key = zoneKey(z);
        into[key] = (into[key] ?? 0) + rate * w * dtS;
      }
    };
    for (const { thread, vm, rates } of this.placements) {
      let best = -1;
      for (const [cpu, rate] of rates) {
        thread.cpuUs += rate * dtMs * 1000;
        if (rate > best) {
          best = rate;
          thread.lastCpu = cpu;
        }
        if (vm !== undefined) credit((this.state.trueJ[vm.uuid] ??= {}), cpu, rate);
      }
    }
    this.hostRates.forEach((rate, cpu) => credit(this.state.hostTrueJ, cpu, rate));
  }

  /** Content of a VM file (`proc/stat`, `proc/<pid>/...`, the domains description); undefined otherwise. */
  read(path: string, nowMs: number): string | undefined {
    return renderProcFile(path, this.state, nowMs);
  }

  /** Entries of a VM directory (`proc/<pid>`, `proc/<pid>/task`, ...); undefined otherwise. */
  list(path: string): string[] | undefined {
    return listProcDir(path, this.state);
  }

  /** The description file's path. */
  static readonly domainsFile = DOMAINS_FILE;
}
