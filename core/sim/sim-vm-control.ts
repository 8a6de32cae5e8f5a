/**
 * What tests and the demo drive on the simulated VMs (`SimulatedKernel.vms`): start, stop,
 * change load, repin, host background load, and read the ground truth. Every change first
 * integrates the simulation up to now at the old loads, then reschedules.
 */
import { VpmdError } from '../errors.js';
import type { SimVmLayer } from './sim-vms.js';
import type { SimLoad, SimThreadSpec, SimVm, SimVmSpec } from './sim-vm-types.js';

/** Hooks into the kernel that owns the layer. */
export interface SimVmHooks {
  /** Integrates up to now at the current loads. */
  readonly before: () => void;
  /** Reschedules and invalidates cached power after a change. */
  readonly after: () => void;
  readonly now: () => number;
}

/** A running VM as the controls report it. */
export interface SimVmInfo {
  readonly uuid: string;
  readonly name: string;
  readonly pid: number;
  readonly vcpuThreads: readonly number[];
  readonly emulatorThread: number;
}

function info(vm: SimVm): SimVmInfo {
  return {
    uuid: vm.uuid,
    name: vm.name,
    pid: vm.pid,
    vcpuThreads: vm.vcpus.map((t) => t.tid),
    emulatorThread: vm.emulator.tid,
  };
}

/** Controls of the simulated VMs. */
export class SimVms {
  constructor(
    private readonly layer: SimVmLayer,
    private readonly hooks: SimVmHooks,
  ) {}

  private change<T>(fn: () => T): T {
    this.hooks.before();
    const out = fn();
    this.hooks.after();
    return out;
  }

  /** Starts a VM; its CPU times count from zero (a restart of the same UUID starts over, as QEMU does). */
  start(spec: SimVmSpec): SimVmInfo {
    return this.change(() => info(this.layer.add(spec, this.hooks.now())));
  }

  /** Stops a running VM (by UUID or name). Its true energy is kept. */
  stop(uuidOrName: string): void {
    this.change(() => this.layer.remove(uuidOrName));
  }

  /** Sets the demand of one vCPU, every vCPU (`'vcpus'`) or the emulator. */
  setLoad(uuidOrName: string, what: number | 'vcpus' | 'emulator', load: SimLoad): void {
    this.change(() => {
      const vm = this.layer.find(uuidOrName);
      for (const t of this.layer.threads(vm, what)) {
        this.layer.checkThread(vm.name, { pins: t.pins, load });
        t.load = load;
      }
    });
  }

  /** Moves one vCPU, every vCPU or the emulator to other host CPUs. */
  repin(uuidOrName: string, what: number | 'vcpus' | 'emulator', pins: readonly number[]): void {
    this.change(() => {
      const vm = this.layer.find(uuidOrName);
      for (const t of this.layer.threads(vm, what)) {
        const spec: SimThreadSpec = { pins, load: t.load };
        this.layer.checkThread(vm.name, spec);
        t.pins = [...pins].sort((a, b) => a - b);
      }
    });
  }

  /** Sets the load of the host's own processes (not VMs) on some CPUs or all. */
  setHostLoad(cpus: readonly number[] | 'all', load: number): void {
    this.change(() => {
      const s = this.layer.state;
      const list = cpus === 'all' ? s.hostLoads.map((_, i) => i) : cpus;
      if (!(load >= 0 && load <= 1) || list.some((c) => !(c >= 0 && c < s.hostLoads.length)))
        throw new VpmdError(
          'E_HOST_INVALID',
          `setHostLoad() takes a load in 0..1 and CPUs in 0-${s.hostLoads.length - 1}`,
          {
            load,
          },
        );
      for (const c of list) s.hostLoads[c] = load;
    });
  }

  /** Running VMs. */
  list(): SimVmInfo[] {
    return this.layer.state.vms.map(info);
  }

  /** A VM's true energy per zone key (`package-0`, `package-0/dram`) since it was first started, J. */
  trueEnergyJ(uuid: string): Readonly<Record<string, number>> {
    this.hooks.before();
    return { ...(this.layer.state.trueJ[uuid.toLowerCase()] ?? {}) };
  }

  /** The host's own processes' true energy per zone key, J. */
  hostTrueEnergyJ(): Readonly<Record<string, number>> {
    this.hooks.before();
    return { ...this.layer.state.hostTrueJ };
  }
}
