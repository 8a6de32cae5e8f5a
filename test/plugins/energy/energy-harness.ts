/**
 * Ground-truth harness: a simulated host on a simulated clock, its VMs read through the
 * simulated `domains@1` source, and the energy engine sampling at 1 Hz. Compares each VM's
 * accounted energy (and Kepler's CPU-time split of the same energy) with the simulator's true
 * energy, and the zone split with the RAPL counters read independently.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostModel, type HostModel } from '../../../core/host/index.js';
import {
  createTemporarySimulatedHost,
  SIM_MAX_ENERGY_RANGE_UJ,
  generateSimulatedHost,
  openSimulatedHost,
  type SimulatedKernel,
} from '../../../core/sim/index.js';
import { EnergyEngine, type EngineOptions } from '../../../plugins/energy/energy-engine.js';
import { DEFAULT_FREQUENCY_MODEL } from '../../../plugins/energy/frequency-weight.js';
import type { LedgerData } from '../../../plugins/energy/ledger.js';
import { SimulatedDomains } from '../../../plugins/libvirt-domains/simulated-domains.js';
import { SIM_PARENT, T0 } from '../../core/sim/sim-fixture.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

export const ZONES = ['package-0', 'package-0/dram'] as const;
const ENERGY_FILES = ['sys/class/powercap/intel-rapl:0/energy_uj', 'sys/class/powercap/intel-rapl:0:0/energy_uj'];

/** One VM's result. */
export interface VmResult {
  readonly name: string;
  readonly trueJ: number;
  readonly vpmdJ: number;
  readonly naiveJ: number;
  readonly vpmdError: number;
  readonly naiveError: number;
}

export const ENGINE_OPTIONS: EngineOptions = {
  intervalMs: 1000,
  model: DEFAULT_FREQUENCY_MODEL,
  idleFloorW: {},
  wallMaxAgeMs: 30_000,
  historyStepMs: 10_000,
};

/** A running scenario. */
export class Scenario {
  engine: EnergyEngine;
  readonly host: HostModel;
  private readonly rawStart: number[] = [];
  private readonly rawPrev: number[] = [];
  private readonly raplJ: number[] = [];
  /** Kepler's figures are not persisted by the engine: carried over agent restarts here. */
  private readonly naiveCarry = new Map<string, number>();

  private constructor(
    readonly kernel: SimulatedKernel,
    private readonly cleanup: () => Promise<void>,
    readonly options: EngineOptions,
  ) {
    this.host = createHostModel(kernel);
    this.engine = this.newEngine();
  }

  /** A scenario on `intel-acpi-cpufreq-8` (schedutil: frequency follows each CPU's load). */
  static async open(opts: { raplStartUj?: number; options?: Partial<EngineOptions> } = {}): Promise<Scenario> {
    const options = { ...ENGINE_OPTIONS, ...opts.options };
    if (opts.raplStartUj === undefined) {
      const sim = await createTemporarySimulatedHost({
        profile: 'intel-acpi-cpufreq-8',
        now: () => T0,
        ...(SIM_PARENT === undefined ? {} : { parent: SIM_PARENT }),
      });
      return Scenario.start(new Scenario(sim.kernel, () => sim.dispose(), options));
    }
    // Counters just below max_energy_range_uj: the run crosses the wrap.
    const dir = await mkdtemp(join(SIM_PARENT ?? tmpdir(), 'vpmd-energy-'));
    await generateSimulatedHost(dir, { profile: 'intel-acpi-cpufreq-8' });
    const markerFile = join(dir, '.vpmd-sim.json');
    const marker = JSON.parse(await readFile(markerFile, 'utf8')) as {
      state: { energyUj: Record<string, number>; clockMs: number };
    };
    for (const k of Object.keys(marker.state.energyUj)) marker.state.energyUj[k] = opts.raplStartUj;
    marker.state.clockMs = T0;
    await writeFile(markerFile, JSON.stringify(marker));
    const kernel = await openSimulatedHost(dir, { now: () => T0 });
    return Scenario.start(new Scenario(kernel, () => rm(dir, { recursive: true, force: true }), options));
  }

  private static async start(s: Scenario): Promise<Scenario> {
    await s.engine.init(undefined);
    await s.engine.sample();
    for (const f of ENERGY_FILES) {
      const v = Number(await s.kernel.read(f));
      s.rawStart.push(v);
      s.rawPrev.push(v);
      s.raplJ.push(0);
    }
    return s;
  }

  private newEngine(): EnergyEngine {
    const domains = new SimulatedDomains(this.host, undefined, () => this.kernel.nowMs());
    return new EnergyEngine(
      { host: this.host, domains: () => domains, latest: () => undefined, now: () => this.kernel.nowMs() },
      this.options,
    );
  }

  /** Advances `seconds` of simulated time, sampling every second (and reading RAPL independently). */
  async run(seconds: number): Promise<void> {
    for (let i = 0; i < seconds; i++) {
      this.kernel.advance(1000);
      await this.engine.sample();
      for (let z = 0; z < ENERGY_FILES.length; z++) {
        const v = Number(await this.kernel.read(ENERGY_FILES[z] as string));
        const prev = this.rawPrev[z] as number;
        this.raplJ[z] = (this.raplJ[z] as number) + (v >= prev ? v - prev : SIM_MAX_ENERGY_RANGE_UJ - prev + v) / 1e6;
        this.rawPrev[z] = v;
      }
    }
  }

  /** Restarts the agent: a new engine restored from the old one's saved ledger. */
  async restartAgent(): Promise<LedgerData> {
    const saved = JSON.parse(JSON.stringify(this.engine.snapshot())) as LedgerData;
    for (const c of this.engine.comparison())
      this.naiveCarry.set(c.uuid, (this.naiveCarry.get(c.uuid) ?? 0) + c.naiveJoules);
    this.engine = this.newEngine();
    await this.engine.init(saved);
    await this.engine.sample();
    return saved;
  }

  /** RAPL energy per zone since the start, read independently of the engine, J. */
  raplDeltaJ(): number[] {
    return [...this.raplJ];
  }

  /** Per-VM accounted, true and naive energy (package + DRAM). */
  results(): VmResult[] {
    return this.engine.comparison().map((c) => {
      const naiveJ = c.naiveJoules + (this.naiveCarry.get(c.uuid) ?? 0);
      const truth = this.kernel.vms.trueEnergyJ(c.uuid);
      const trueJ = ZONES.reduce((a, z) => a + (truth[z] ?? 0), 0);
      return {
        name: c.name,
        trueJ,
        vpmdJ: c.joules,
        naiveJ,
        vpmdError: (c.joules - trueJ) / trueJ,
        naiveError: (naiveJ - trueJ) / trueJ,
      };
    });
  }

  /** |idle + VMs + host + unattributed − RAPL| / RAPL, worst zone. */
  balanceError(): number {
    const rapl = this.raplDeltaJ();
    return Math.max(
      ...this.engine.host().zones.map((z, i) => {
        const sum = z.idleJoules + z.vmJoules + z.hostJoules + z.unattributedJoules;
        return Math.abs(sum - (rapl[i] ?? 0)) / (rapl[i] ?? 1);
      }),
    );
  }

  dispose(): Promise<void> {
    return this.cleanup();
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** Prints a scenario's accuracy table (test output; docs/energy.md quotes it). */
export function report(title: string, results: readonly VmResult[], balance: number): void {
  const rows = results.map(
    (r) =>
      `  ${r.name.padEnd(8)} true ${r.trueJ.toFixed(0).padStart(7)} J  vpmd ${pct(r.vpmdError).padStart(7)}  kepler ${pct(r.naiveError).padStart(8)}`,
  );
  process.stdout.write(`[energy accuracy] ${title} (balance error ${pct(balance)})\n${rows.join('\n')}\n`);
}
