/**
 * VPMD-MIB vpmdVmEnergyTable: each VM's accounted energy from `energy@1`, indexed by its domain
 * UUID (16 octets, fixed size, so the index is the 16 sub-identifiers without a length). The
 * UUID survives restarts and renames, so a manager's rows stay the same VM. Power columns are
 * absent before the provider has a second sample; wall columns when no wall source exists.
 * Serves nothing when no plugin provides energy accounting.
 */
import type { EnergyAccounting, VmEnergy } from 'vpmd';
import { V } from '../../codec/pdu.js';
import type { MibEntry, MibSource } from '../mib-index.js';
import { VPMD } from './vpmd-mib.js';

/** vpmdVmEnergyEntry. */
export const VPMD_VM_ENERGY_ENTRY = [...VPMD, 1, 5, 1, 1];

/** The UUID's 16 octets as OID sub-identifiers; undefined for a malformed UUID. */
export function uuidIndex(uuid: string): number[] | undefined {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const out: number[] = [];
  for (let i = 0; i < 32; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

const wholeJoules = (j: number): bigint => BigInt(Math.max(0, Math.floor(j)));
const milliwatts = (w: number): number => Math.round(w * 1000);

function rows(v: VmEnergy): MibEntry[] {
  const index = uuidIndex(v.uuid);
  if (!index) return [];
  const c = (n: number): number[] => [...VPMD_VM_ENERGY_ENTRY, n, ...index];
  const out: MibEntry[] = [
    { oid: c(2), value: V.str(v.name) },
    { oid: c(3), value: V.int(v.running ? 1 : 2) },
    { oid: c(4), value: V.counter64(wholeJoules(v.rapl.joules)) },
    { oid: c(6), value: V.str(v.rapl.model) },
    { oid: c(10), value: V.str(v.novaInstanceId ?? '') },
    { oid: c(11), value: V.str(v.novaProjectId ?? '') },
  ];
  if (v.rapl.watts !== null) out.push({ oid: c(5), value: V.gauge(milliwatts(v.rapl.watts)) });
  if (v.wall) {
    out.push(
      { oid: c(7), value: V.counter64(wholeJoules(v.wall.joules)) },
      { oid: c(9), value: V.str(`${v.wall.model} ${v.wall.origin}`) },
    );
    if (v.wall.watts !== null) out.push({ oid: c(8), value: V.gauge(milliwatts(v.wall.watts)) });
  }
  return out;
}

/** The table's source; `energy` is looked up on every snapshot. */
export function vmEnergySource(energy: () => EnergyAccounting | undefined): MibSource {
  return {
    name: 'VPMD-MIB vpmdVmEnergyTable',
    objects: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => [...VPMD_VM_ENERGY_ENTRY, n]),
    entries: () => (energy()?.vms() ?? []).flatMap(rows),
  };
}
