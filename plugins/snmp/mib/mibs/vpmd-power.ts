/**
 * VPMD-MIB vpmdPower (vpmdObjects 6): the host power cap of `power-control@1` as scalars a
 * read-write (authPriv) user can SET — vpmdPowerCapWatts (0 removes the cap) and
 * vpmdPowerCapCorrection (ms) — with the cap in force, the package power and the cap's health
 * read-only. The SET goes through the controller's own privilege check and audit.
 */
import type { PowerControl, Principal } from 'vpmd';
import { TAG } from '../../codec/ber.js';
import { ERR, V, type SnmpValue } from '../../codec/pdu.js';
import type { MibEntry, MibSource, Writable } from '../mib-index.js';
import { VPMD } from './vpmd-mib.js';

/** vpmdPower. */
export const VPMD_POWER = [...VPMD, 1, 6];

function gaugeWritable(min: number, max: number, commit: (v: number, by: Principal) => Promise<void>): Writable {
  return {
    check: (v: SnmpValue) =>
      v.tag !== TAG.Gauge32 && v.tag !== TAG.Integer
        ? ERR.wrongType
        : v.value !== 0 && (v.value < min || v.value > max)
          ? ERR.wrongValue
          : ERR.noError,
    commit: (v, by) => commit(Number(v.value), by),
  };
}

/** The vpmdPower source; serves nothing while no plugin provides power-control@1. */
export function vpmdPowerSource(control: () => PowerControl | undefined): MibSource {
  const o = (n: number): number[] => [...VPMD_POWER, n];
  return {
    name: 'VPMD-MIB power',
    objects: [1, 2, 3, 4, 5].map(o),
    entries: async (): Promise<MibEntry[]> => {
      const c = control();
      if (c === undefined) return [];
      const { cap } = await c.status();
      return [
        {
          oid: [...o(1), 0],
          value: V.gauge(Math.round(cap.watts ?? 0)),
          write: gaugeWritable(cap.allowableMin, cap.allowableMax, async (v, by) => {
            await c.setCap({ watts: v === 0 ? null : v }, by);
          }),
        },
        {
          oid: [...o(2), 0],
          value: V.gauge(cap.correctionMs),
          write: gaugeWritable(1, 600_000, async (v, by) => {
            if (v === 0) return;
            await c.setCap({ watts: (await c.status()).cap.watts, correctionMs: v }, by);
          }),
        },
        { oid: [...o(3), 0], value: V.gauge(Math.round(cap.effectiveWatts ?? 0)) },
        { oid: [...o(4), 0], value: V.gauge(Math.round(cap.readingWatts ?? 0)) },
        { oid: [...o(5), 0], value: V.str(cap.detail === undefined ? cap.health : `${cap.health}: ${cap.detail}`) },
      ];
    },
  };
}
