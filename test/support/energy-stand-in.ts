/**
 * A stand-in provider of `energy@1` for the consumers' tests (Prometheus, SNMP, Redfish): VMs
 * whose counters grow with wall-clock time at fixed powers, so a rate over them is known. The
 * real provider is the `energy` plugin; this one only makes the contract's figures move.
 */
import { ENERGY, type EnergyAccounting, type HostEnergy, type VmEnergy } from '../../core/index.js';
import { testPlugin } from '../../testkit/index.js';

/** One simulated VM: its identity and constant RAPL power. */
export interface StandInVm {
  readonly uuid: string;
  readonly name: string;
  readonly watts: number;
  readonly novaInstanceId?: string;
  readonly novaProjectId?: string;
  /** Wall-scaled power too (a wall source measures the host). */
  readonly wallWatts?: number;
  readonly running?: boolean;
}

/** An `energy@1` implementation over {@link StandInVm}s, counting from `startedAt`. */
export class StandInEnergy implements EnergyAccounting {
  readonly startedAt = Date.now();
  /** When set, every call throws (a failing provider). */
  failing = false;

  constructor(
    readonly list: StandInVm[],
    private readonly now: () => number = Date.now,
  ) {}

  private seconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  private check(): void {
    if (this.failing) throw new Error('stand-in energy provider failing on purpose');
  }

  private figure(v: StandInVm): VmEnergy {
    // A stopped VM keeps its counter, which stands still.
    const s = v.running === false ? 0 : this.seconds();
    const joules = 100 + v.watts * s;
    return {
      uuid: v.uuid,
      name: v.name,
      ...(v.novaInstanceId !== undefined ? { novaInstanceId: v.novaInstanceId } : {}),
      ...(v.novaProjectId !== undefined ? { novaProjectId: v.novaProjectId } : {}),
      running: v.running ?? true,
      rapl: {
        joules,
        watts: v.running === false ? 0 : v.watts,
        source: 'rapl',
        model: 'rapl-cputime-freq-v1',
        origin: 'host/rapl/package-0/energy',
      },
      zones: { 'package-0': joules * 0.9, 'package-0/dram': joules * 0.1 },
      ...(v.wallWatts !== undefined
        ? {
            wall: {
              joules: 150 + v.wallWatts * s,
              watts: v.wallWatts,
              source: 'wall' as const,
              model: 'wall-scaled-v1',
              origin: 'ipmi:bmc1/dcmi',
            },
          }
        : {}),
    };
  }

  vms(): readonly VmEnergy[] {
    this.check();
    return [...this.list].sort((a, b) => a.uuid.localeCompare(b.uuid)).map((v) => this.figure(v));
  }

  vm(uuidOrName: string): VmEnergy | undefined {
    this.check();
    const v = this.list.find((x) => x.uuid === uuidOrName.toLowerCase() || x.name === uuidOrName);
    return v ? this.figure(v) : undefined;
  }

  host(): HostEnergy {
    this.check();
    const s = this.seconds();
    const vms = this.list.reduce((a, v) => a + (v.running === false ? 0 : v.watts), 0) * s;
    return {
      zones: [
        {
          zone: 'package-0',
          totalJoules: 30 * s + vms + 5 * s,
          idleJoules: 30 * s,
          hostJoules: 4 * s,
          vmJoules: vms,
          unattributedJoules: 1 * s,
        },
      ],
      idleFloor: { 'package-0': { watts: 30, method: 'min-10s-window' } },
      wall: { origin: 'ipmi:bmc1/dcmi', watts: 180, divergenceWatts: 42 },
      sampledAt: this.now(),
      intervalMs: 1000,
    };
  }

  history(uuid: string, sinceMs: number): ReturnType<EnergyAccounting['history']> {
    const v = this.list.find((x) => x.uuid === uuid);
    if (!v) return [];
    const from = Math.max(sinceMs, this.startedAt);
    const out = [];
    for (let t = from; t <= this.now(); t += 1000)
      out.push({ timestamp: t, watts: v.watts, joules: 100 + (v.watts * (t - this.startedAt)) / 1000 });
    return out;
  }
}

/** A test plugin providing `energy@1` from `energy`. */
export function energyStandInPlugin(energy: EnergyAccounting) {
  return testPlugin({
    name: 'energy-stand-in',
    description: 'energy@1 with VMs at fixed powers (tests)',
    provides: [ENERGY.id],
    register: (ctx) => {
      ctx.capabilities.provide(ENERGY, energy);
      return { start: async () => {}, stop: async () => {} };
    },
  });
}

/** Three VMs: two with Nova ids, one with a wall-scaled figure. */
export function standInVms(): StandInVm[] {
  return [
    {
      uuid: '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01',
      name: 'web-1',
      watts: 12,
      novaInstanceId: '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01',
      novaProjectId: 'b2d0c1f4e5a6478990abcdef12345678',
      wallWatts: 15,
    },
    { uuid: '0a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d', name: 'db-1', watts: 4, novaProjectId: 'p-1' },
    { uuid: 'ffeeddcc-bbaa-4998-8776-655443322110', name: 'batch "x"', watts: 0.5, running: false },
  ];
}
