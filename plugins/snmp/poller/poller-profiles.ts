/**
 * What the poller reads from a device, by profile, and how raw values become readings in the
 * telemetry store's units (W, J, A, V, Hz, Cel).
 *
 * - generic: ENERGY-OBJECT-MIB eoPowerTable (eoPower x 10^eoPowerUnitMultiplier W),
 *   POWER-ATTRIBUTES-MIB eoACPwrAttributesTable (average voltage, current and frequency in
 *   tenths of V, A and Hz; total active power x 10^eoACPwrAttributesPowerUnitMultiplier W) and
 *   ENTITY-SENSOR-MIB entPhySensorTable (value x 10^(3(scale-9)) / 10^precision).
 * - apc-rpdu2: APC PowerNet rPDU2 device power (hundredths of kW) and energy (tenths of kWh),
 *   and per outlet state (off 1, on 2), current (tenths of A), power (W), energy (tenths of kWh).
 */
import type { MetricKind, MetricUnit } from 'vpmd';
import type { DeviceVarbind } from './snmp-client.js';
import { numeric } from './snmp-client.js';
import type { TargetConfig } from '../config.js';

/** One reading the poller records. */
export interface PolledReading {
  /** Metric id suffix under `snmp/<target>/`. */
  readonly metric: string;
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly value: number | null;
  readonly oid: string;
}

/** ENERGY-OBJECT-MIB eoPowerEntry. */
export const EO_POWER_ENTRY = '1.3.6.1.2.1.229.1.2.1';
/** POWER-ATTRIBUTES-MIB eoACPwrAttributesEntry. */
export const EO_AC_ENTRY = '1.3.6.1.2.1.230.1.1.1';
/** ENTITY-SENSOR-MIB entPhySensorEntry. */
export const ENT_SENSOR_ENTRY = '1.3.6.1.2.1.99.1.1.1';
/** APC PowerNet rPDU2 subtree. */
export const RPDU2 = '1.3.6.1.4.1.318.1.1.26';
/** rPDU2DeviceStatusPower (hundredths of kW). */
export const RPDU2_DEVICE_POWER = `${RPDU2}.4.3.1.5`;
/** rPDU2DeviceStatusEnergy (tenths of kWh). */
export const RPDU2_DEVICE_ENERGY = `${RPDU2}.4.3.1.9`;
/** rPDU2OutletSwitchedStatusState (off 1, on 2). */
export const RPDU2_OUTLET_STATE = `${RPDU2}.9.2.3.1.5`;
/** rPDU2OutletSwitchedControlCommand (immediateOn 1, immediateOff 2, immediateReboot 3). */
export const RPDU2_OUTLET_COMMAND = `${RPDU2}.9.2.4.1.5`;
/** rPDU2OutletMeteredStatusCurrent (tenths of A). */
export const RPDU2_OUTLET_CURRENT = `${RPDU2}.9.4.3.1.6`;
/** rPDU2OutletMeteredStatusPower (W). */
export const RPDU2_OUTLET_POWER = `${RPDU2}.9.4.3.1.7`;
/** rPDU2OutletMeteredStatusEnergy (tenths of kWh). */
export const RPDU2_OUTLET_ENERGY = `${RPDU2}.9.4.3.1.11`;
/** rPDU2OutletSwitchedControlCommand values. */
export const OUTLET_COMMAND = { on: 1, off: 2, reboot: 3 } as const;

const KWH_TENTH_J = 0.1 * 3.6e6;

/** Column → (index → varbind) of a walked table. */
function table(vbs: readonly DeviceVarbind[], entry: string): Map<number, Map<string, DeviceVarbind>> {
  const out = new Map<number, Map<string, DeviceVarbind>>();
  const p = `${entry}.`;
  for (const vb of vbs) {
    if (!vb.oid.startsWith(p)) continue;
    const rest = vb.oid.slice(p.length);
    const dot = rest.indexOf('.');
    if (dot < 0) continue;
    const col = Number(rest.slice(0, dot));
    const col$ = out.get(col) ?? new Map<string, DeviceVarbind>();
    col$.set(rest.slice(dot + 1), vb);
    out.set(col, col$);
  }
  return out;
}

function num(vb: DeviceVarbind | undefined): number | null {
  return vb ? numeric(vb.value) : null;
}

/** entPhySensorType → kind and unit. */
const SENSOR_KIND: Record<number, [MetricKind, MetricUnit]> = {
  3: ['voltage', 'V'],
  4: ['voltage', 'V'],
  5: ['current', 'A'],
  6: ['power', 'W'],
  7: ['frequency', 'Hz'],
  8: ['temperature', 'Cel'],
  10: ['fan', 'RPM'],
};

/** Readings of the generic profile from walks of the three tables. */
export function genericReadings(vbs: readonly DeviceVarbind[]): PolledReading[] {
  const out: PolledReading[] = [];
  const eo = table(vbs, EO_POWER_ENTRY);
  for (const [index, vb] of eo.get(1) ?? []) {
    const raw = num(vb);
    const mult = num(eo.get(3)?.get(index)) ?? 0;
    out.push({
      metric: `eo/${index}/power`,
      name: `energy object ${index} power`,
      kind: 'power',
      unit: 'W',
      value: raw === null ? null : raw * 10 ** mult,
      oid: vb.oid,
    });
  }
  const ac = table(vbs, EO_AC_ENTRY);
  const acCols: [number, string, MetricKind, MetricUnit, (v: number, m: number) => number][] = [
    [2, 'voltage', 'voltage', 'V', (v) => v / 10],
    [3, 'current', 'current', 'A', (v) => v / 10],
    [4, 'frequency', 'frequency', 'Hz', (v) => v / 10],
    [7, 'active-power', 'power', 'W', (v, m) => v * 10 ** m],
  ];
  for (const [col, name, kind, unit, conv] of acCols) {
    for (const [index, vb] of ac.get(col) ?? []) {
      const raw = num(vb);
      const mult = num(ac.get(5)?.get(index)) ?? 0;
      out.push({
        metric: `ac/${index}/${name}`,
        name: `AC ${name} ${index}`,
        kind,
        unit,
        value: raw === null ? null : conv(raw, mult),
        oid: vb.oid,
      });
    }
  }
  const s = table(vbs, ENT_SENSOR_ENTRY);
  for (const [index, vb] of s.get(4) ?? []) {
    const type = num(s.get(1)?.get(index)) ?? 1;
    const scale = num(s.get(2)?.get(index)) ?? 9;
    const precision = num(s.get(3)?.get(index)) ?? 0;
    const status = num(s.get(5)?.get(index));
    const [kind, unit] = SENSOR_KIND[type] ?? ['other', 'unspecified'];
    const raw = num(vb);
    const value = raw === null || status !== 1 ? null : (raw * 10 ** (3 * (scale - 9))) / 10 ** precision;
    out.push({ metric: `sensor/${index}`, name: `entity sensor ${index}`, kind, unit, value, oid: vb.oid });
  }
  return out;
}

/** Readings of the APC rPDU2 profile. */
export function rpdu2Readings(vbs: readonly DeviceVarbind[], outlets: number): PolledReading[] {
  const by = new Map(vbs.map((vb) => [vb.oid, vb]));
  const out: PolledReading[] = [];
  const power = num(by.get(`${RPDU2_DEVICE_POWER}.1`));
  const energy = num(by.get(`${RPDU2_DEVICE_ENERGY}.1`));
  out.push({
    metric: 'power',
    name: 'PDU power',
    kind: 'power',
    unit: 'W',
    value: power === null ? null : power * 10,
    oid: `${RPDU2_DEVICE_POWER}.1`,
  });
  out.push({
    metric: 'energy',
    name: 'PDU energy',
    kind: 'energy',
    unit: 'J',
    value: energy === null ? null : energy * KWH_TENTH_J,
    oid: `${RPDU2_DEVICE_ENERGY}.1`,
  });
  for (let n = 1; n <= outlets; n++) {
    const state = num(by.get(`${RPDU2_OUTLET_STATE}.${n}`));
    const cur = num(by.get(`${RPDU2_OUTLET_CURRENT}.${n}`));
    const pw = num(by.get(`${RPDU2_OUTLET_POWER}.${n}`));
    const en = num(by.get(`${RPDU2_OUTLET_ENERGY}.${n}`));
    out.push({
      metric: `outlet/${n}/state`,
      name: `outlet ${n} on (1) or off (0)`,
      kind: 'other',
      unit: 'unspecified',
      value: state === null ? null : state === 2 ? 1 : 0,
      oid: `${RPDU2_OUTLET_STATE}.${n}`,
    });
    out.push({
      metric: `outlet/${n}/current`,
      name: `outlet ${n} current`,
      kind: 'current',
      unit: 'A',
      value: cur === null ? null : cur / 10,
      oid: `${RPDU2_OUTLET_CURRENT}.${n}`,
    });
    out.push({
      metric: `outlet/${n}/power`,
      name: `outlet ${n} power`,
      kind: 'power',
      unit: 'W',
      value: pw,
      oid: `${RPDU2_OUTLET_POWER}.${n}`,
    });
    out.push({
      metric: `outlet/${n}/energy`,
      name: `outlet ${n} energy`,
      kind: 'energy',
      unit: 'J',
      value: en === null ? null : en * KWH_TENTH_J,
      oid: `${RPDU2_OUTLET_ENERGY}.${n}`,
    });
  }
  return out;
}

/** The OIDs GET for an rPDU2 target. */
export function rpdu2Oids(outlets: number): string[] {
  const oids = [`${RPDU2_DEVICE_POWER}.1`, `${RPDU2_DEVICE_ENERGY}.1`];
  for (let n = 1; n <= outlets; n++)
    oids.push(
      `${RPDU2_OUTLET_STATE}.${n}`,
      `${RPDU2_OUTLET_CURRENT}.${n}`,
      `${RPDU2_OUTLET_POWER}.${n}`,
      `${RPDU2_OUTLET_ENERGY}.${n}`,
    );
  return oids;
}

/** Readings of a target's custom OID map. */
export function customReadings(t: TargetConfig, vbs: readonly DeviceVarbind[]): PolledReading[] {
  const by = new Map(vbs.map((vb) => [vb.oid, vb]));
  return t.oids.map((o) => {
    const oid = o.oid.replace(/^\./, '');
    const raw = num(by.get(oid));
    return {
      metric: o.metric,
      name: `${t.name} ${o.metric}`,
      kind: o.kind,
      unit: o.unit,
      value: raw === null ? null : raw * o.scale,
      oid,
    };
  });
}
