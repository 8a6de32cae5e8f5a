/**
 * Per-VM energy accounting (`energy@1`): provided by the `energy` plugin, consumed by the
 * Prometheus exporter, Redfish and SNMP (per-VM figures), and the power controller (per-VM
 * budgets need each VM's rolling power). The provider splits each RAPL zone's energy into idle,
 * each VM's share (by its threads' CPU time on that zone's CPUs, frequency-aware), the host's
 * own processes and the unattributed rest, and, when a wall-power source measures the host (its
 * BMC's DCMI or Redfish reading, a PDU outlet), scales the split to wall power. Every figure
 * names its source and model so nobody mistakes a model for a measurement.
 */
import { defineCapability } from '../kernel/capabilities.js';

/** Where an energy figure's total comes from. */
export type EnergySource = 'rapl' | 'wall';

/** One accounted figure: a monotonic counter and the power over the last interval. */
export interface EnergyFigure {
  /** Joules accounted since the counter began (monotonic; persisted across agent and VM restarts). */
  readonly joules: number;
  /** Average power over the last accounting interval, in watts; null before the second sample. */
  readonly watts: number | null;
  readonly source: EnergySource;
  /** The model that produced it, e.g. `rapl-cputime-freq-v1`, `wall-scaled-v1` (see docs/energy.md). */
  readonly model: string;
  /** The telemetry metric id or device the total came from (`host/rapl/package-0/energy`, `ipmi:bmc1/dcmi`). */
  readonly origin: string;
}

/** One VM's accounted energy, keyed by its UUID. */
export interface VmEnergy {
  /** The domain's UUID (lower-case, with dashes): the identity every surface labels with. */
  readonly uuid: string;
  /** The domain's libvirt name when last seen. */
  readonly name: string;
  /** Nova's instance and project ids, when the domain's metadata carries them. */
  readonly novaInstanceId?: string;
  readonly novaProjectId?: string;
  /** Whether the domain runs now (counters of stopped VMs are kept, keyed by UUID). */
  readonly running: boolean;
  /** The RAPL-based figure (sum over zones). */
  readonly rapl: EnergyFigure;
  /** The RAPL figure per zone (`package-0`, `package-0/dram`...), joules. */
  readonly zones: Readonly<Record<string, number>>;
  /** The wall-scaled figure, when a wall-power source measures the host. */
  readonly wall?: EnergyFigure;
}

/** How one RAPL zone's energy was split, cumulatively, in joules. */
export interface ZoneSplit {
  /** The zone's name as the host model lists it (`package-0`, `package-0/dram`...). */
  readonly zone: string;
  /** Energy the zone measured (wraps of `max_energy_range_uj` undone). */
  readonly totalJoules: number;
  readonly idleJoules: number;
  /** The host's own processes (everything that is not a VM's thread). */
  readonly hostJoules: number;
  /** Sum over VMs. */
  readonly vmJoules: number;
  readonly unattributedJoules: number;
}

/** A wall-power source and how far it is from RAPL. */
export interface WallSource {
  /** e.g. `ipmi:bmc1/dcmi`, `snmp:pdu1/outlet-3`, `redfish:bmc2/PowerSubsystem`. */
  readonly origin: string;
  readonly watts: number | null;
  /** Wall minus the RAPL total over the same interval, watts (what RAPL does not see: PSU, fans, disks, NICs). */
  readonly divergenceWatts: number | null;
}

/** The host's side of the account. */
export interface HostEnergy {
  readonly zones: readonly ZoneSplit[];
  /** The measured idle floor per zone in watts, and how it was found (see docs/energy.md). */
  readonly idleFloor: Readonly<Record<string, { readonly watts: number; readonly method: string }>>;
  readonly wall?: WallSource;
  /** When the last interval ended, ms since the epoch. */
  readonly sampledAt: number;
  /** The accounting interval, ms. */
  readonly intervalMs: number;
}

/** One point of a VM's recent power, for sparklines and rolling budgets. */
export interface EnergyPoint {
  readonly timestamp: number;
  readonly watts: number;
  readonly joules: number;
}

/** The energy accounting capability. */
export interface EnergyAccounting {
  /** Every VM with a counter, running or not, by UUID order. */
  vms(): readonly VmEnergy[];
  /** One VM by UUID (any case) or current name. */
  vm(uuidOrName: string): VmEnergy | undefined;
  host(): HostEnergy;
  /** A VM's RAPL-based power points since `sinceMs` (kept for at least an hour), oldest first. */
  history(uuid: string, sinceMs: number): readonly EnergyPoint[];
}

/** Token of {@link EnergyAccounting}. */
export const ENERGY = defineCapability<EnergyAccounting>('energy@1');
