/**
 * VPMD-MIB power profiles (vpmdProfiles, read-only): the Redfish-style power mode in force and
 * one row per profile with its settings and the pools running it, from `power-profiles@1`.
 * Without a provider the subtree serves nothing.
 */
import type { PowerProfiles } from 'vpmd';
import { V } from '../../codec/pdu.js';
import type { MibEntry, MibSource } from '../mib-index.js';
import { VPMD } from './vpmd-mib.js';

/** vpmdProfiles: vpmdObjects.18. */
export const VPMD_PROFILES = [...VPMD, 1, 18];
/** vpmdProfileEntry. */
export const VPMD_PROFILE_ENTRY = [...VPMD_PROFILES, 2, 1];

/** vpmdProfileTurbo values. */
const TURBO = { on: 1, off: 2, unset: 3 } as const;

/** The profiles subtree. */
export function profilesSource(profiles: () => PowerProfiles | undefined): MibSource {
  const col = (n: number): number[] => [...VPMD_PROFILE_ENTRY, n];
  return {
    name: 'VPMD-MIB profiles',
    objects: [[...VPMD_PROFILES, 1], ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map(col)],
    entries(): MibEntry[] {
      const p = profiles();
      if (!p) return [];
      const out: MibEntry[] = [{ oid: [...VPMD_PROFILES, 1, 0], value: V.str(p.powerMode().mode) }];
      p.profiles().forEach((r, i) => {
        const row = (n: number): number[] => [...col(n), i + 1];
        out.push(
          { oid: row(2), value: V.str(r.name) },
          { oid: row(3), value: V.str(r.pools.join(',')) },
          { oid: row(4), value: V.str(r.governor ?? '') },
          { oid: row(5), value: V.str(r.epp ?? '') },
          { oid: row(6), value: V.gauge(r.minKHz ?? 0) },
          { oid: row(7), value: V.gauge(r.maxKHz ?? 0) },
          { oid: row(8), value: V.int(r.turbo === undefined ? TURBO.unset : r.turbo ? TURBO.on : TURBO.off) },
          { oid: row(9), value: V.int(r.resumeLatencyUs ?? -1) },
          { oid: row(10), value: V.gauge(r.uncoreMaxKHz ?? 0) },
        );
      });
      return out;
    },
  };
}
