/**
 * ENERGY-OBJECT-MIB (RFC 7460) energy for the host where RAPL gives it: eoMeterCapabilitiesTable
 * for every energy object, one eoEnergyParametersTable row (index 1, mode total, collecting
 * since the agent started) and its eoEnergyTable row with the energy consumed by the RAPL
 * packages since then, in mWh (eoEnergyUnitMultiplier -3).
 */
import type { MetricSnapshot } from 'vpmd';
import { V } from '../../codec/pdu.js';
import type { MibEntry, MibSource } from '../mib-index.js';
import { HOST_INDEX } from './entities.js';

/** eoMeterCapabilitiesEntry. */
export const EO_METER_ENTRY = [1, 3, 6, 1, 2, 1, 229, 1, 1, 1];
/** eoEnergyParametersEntry. */
export const EO_ENERGY_PARAMS_ENTRY = [1, 3, 6, 1, 2, 1, 229, 1, 4, 1];
/** eoEnergyEntry. */
export const EO_ENERGY_ENTRY = [1, 3, 6, 1, 2, 1, 229, 1, 5, 1];
/** The host's eoEnergyParametersIndex. */
export const HOST_ENERGY_PARAMS = 1;

const PACKAGE_ENERGY = /^host\/rapl\/package-\d+\/energy$/;

/** eoMeterCapability BITS: powermetering(1) and energymetering(2), bit 0 = MSB of octet 0. */
function meterBits(power: boolean, energy: boolean): Buffer {
  return Buffer.from([(power ? 0x40 : 0) | (energy ? 0x20 : 0)]);
}

/** What the energy source reads. */
export interface EnergyInputs {
  readonly metrics: () => readonly MetricSnapshot[];
  readonly indexOf: (metricId: string) => number;
  /** sysUpTime ticks now, for eoEnergyDiscontinuityTime (0: no discontinuity since start). */
  readonly uptimeTicks: () => number;
}

/** Host energy since the agent started, from the RAPL package totals (J). */
export class HostEnergy {
  private readonly baseline = new Map<string, number>();

  /** Joules consumed by the packages since each was first seen, or null without RAPL packages. */
  consumedJ(metrics: readonly MetricSnapshot[]): number | null {
    const pkgs = metrics.filter((m) => PACKAGE_ENERGY.test(m.id) && typeof m.latest?.value === 'number');
    if (pkgs.length === 0) return null;
    let total = 0;
    for (const m of pkgs) {
      const v = m.latest?.value as number;
      const base = this.baseline.get(m.id) ?? v;
      this.baseline.set(m.id, base);
      total += Math.max(0, v - base);
    }
    return total;
  }
}

/** The three energy tables. */
export function eoEnergySource(inp: EnergyInputs, energy: HostEnergy): MibSource {
  const meter = (n: number): number[] => [...EO_METER_ENTRY, n];
  const params = (n: number): number[] => [...EO_ENERGY_PARAMS_ENTRY, n];
  const row = (n: number): number[] => [...EO_ENERGY_ENTRY, n];
  return {
    name: 'ENERGY-OBJECT-MIB energy',
    objects: [meter(1), ...[3, 4, 5, 6, 7, 8, 9].map(params), ...[2, 3, 4, 5, 6, 7, 8, 9].map(row)],
    entries(): MibEntry[] {
      const metrics = inp.metrics();
      const joules = energy.consumedJ(metrics);
      const out: MibEntry[] = [{ oid: [...meter(1), HOST_INDEX], value: V.str(meterBits(true, joules !== null)) }];
      const powerIdx = metrics.filter((m) => m.kind === 'power').map((m) => inp.indexOf(m.id));
      for (const i of [...new Set(powerIdx)].sort((a, b) => a - b))
        out.push({ oid: [...meter(1), i], value: V.str(meterBits(true, false)) });
      if (joules === null) return out;
      const p = (n: number): number[] => [...params(n), HOST_INDEX, HOST_ENERGY_PARAMS];
      out.push(
        { oid: p(3), value: V.int(Math.min(2147483647, inp.uptimeTicks())) }, // interval length: the whole collection so far
        { oid: p(4), value: V.gauge(1) },
        { oid: p(5), value: V.int(3) }, // total
        { oid: p(6), value: V.int(0) },
        { oid: p(7), value: V.gauge(1000) }, // the host samples RAPL every second
        { oid: p(8), value: V.int(2) }, // volatile: collection restarts with the agent
        { oid: p(9), value: V.int(1) }, // active
      );
      const e = (n: number): number[] => [...row(n), HOST_ENERGY_PARAMS, 0]; // collection started at sysUpTime 0
      const mWh = Math.round((joules / 3600) * 1000);
      out.push(
        { oid: e(2), value: V.gauge(mWh) },
        { oid: e(3), value: V.gauge(0) },
        { oid: e(4), value: V.gauge(0) },
        { oid: e(5), value: V.int(-3) },
        { oid: e(6), value: V.int(0) },
        { oid: e(7), value: V.gauge(0) },
        { oid: e(8), value: V.gauge(0) },
        { oid: e(9), value: V.ticks(0) },
      );
      return out;
    },
  };
}
