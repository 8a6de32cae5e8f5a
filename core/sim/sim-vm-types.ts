/** The simulated VMs' persisted shapes (see `sim-vms.ts`). */

/** A load that varies: `mean + amplitude·sin(2π·t/periodS)`, clamped to 0..1. */
export interface SimLoadPattern {
  readonly mean: number;
  readonly amplitude: number;
  readonly periodS: number;
}

/** A thread's demand: a fraction of one CPU (0..1), constant or varying. */
export type SimLoad = number | SimLoadPattern;

/** One simulated thread's placement and demand. */
export interface SimThreadSpec {
  /** Host CPUs it may run on (its affinity). */
  readonly pins: readonly number[];
  readonly load: SimLoad;
}

/** What a test or the demo states about a VM. */
export interface SimVmSpec {
  readonly uuid: string;
  readonly name: string;
  readonly vcpus: readonly SimThreadSpec[];
  /** The emulator thread (default: pinned like vCPU 0, 1 % load). */
  readonly emulator?: SimThreadSpec;
  /** Nova metadata written into the description (instance id = UUID). */
  readonly novaProjectId?: string;
}

/** A simulated thread as persisted. */
export interface SimThread {
  readonly tid: number;
  pins: number[];
  load: SimLoad;
  /** Cumulative CPU time since the VM started, µs. */
  cpuUs: number;
  /** The CPU it last ran on. */
  lastCpu: number;
}

/** A running simulated VM as persisted. */
export interface SimVm {
  readonly uuid: string;
  readonly name: string;
  readonly pid: number;
  readonly startedAtMs: number;
  readonly vcpus: SimThread[];
  readonly emulator: SimThread;
  readonly novaProjectId?: string;
}

/** The VM layer's persisted state (inside the simulator's marker). */
export interface SimVmState {
  vms: SimVm[];
  /** Load of the host's own processes per CPU, 0..1. */
  hostLoads: number[];
  /** `/proc/stat` busy and idle time per CPU, µs. */
  cpuBusyUs: number[];
  cpuIdleUs: number[];
  nextPid: number;
  /** True energy per VM UUID (running or not) per zone key (`package-0`, `package-0/dram`), J. */
  trueJ: Record<string, Record<string, number>>;
  /** True energy of the host's own processes per zone key, J. */
  hostTrueJ: Record<string, number>;
}
