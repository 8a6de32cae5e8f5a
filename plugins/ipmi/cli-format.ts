/**
 * Human output in ipmitool's layout: `sdr list`, `sel list`, `chassis status`.
 */
import type { ChassisStatus } from './commands/chassis.js';
import type { SelEntry } from './commands/sel.js';
import type { SensorReading } from './commands/sensors.js';

/** A value the way ipmitool's `sdr list` prints it (no decimals for whole numbers). */
export function formatValue(r: SensorReading): string {
  if (r.value === null) return 'no reading';
  if (r.discrete) return r.states.length ? r.states.join(', ') : `0x${r.value.toString(16).padStart(2, '0')}`;
  const v = Number.isInteger(r.value) ? r.value.toFixed(0) : r.value.toFixed(2);
  return `${v} ${r.unit}`;
}

/** `ipmitool sdr list` layout. */
export function formatSensors(readings: readonly SensorReading[]): string {
  return readings.map((r) => `${r.name.padEnd(16)} | ${formatValue(r).padEnd(17)} | ${r.ipmiStatus}`).join('\n');
}

/** SEL timestamp as ipmitool prints it: "Pre-Init" uptime below 0x20000000, else date | time. */
export function formatSelTime(ts: number): string {
  if (ts < 0x20000000) return ` Pre-Init  |${ts.toString().padStart(10, '0')}|`;
  const d = new Date(ts * 1000);
  const p = (n: number): string => n.toString().padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} | ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} |`;
}

/** `ipmitool sel list` layout. */
export function formatSel(entries: readonly SelEntry[]): string {
  if (entries.length === 0) return 'SEL has no entries';
  return entries
    .map(
      (e) =>
        `${e.id.toString(16).padStart(4)} | ${formatSelTime(e.timestamp)} ${e.sensorType} #0x${e.sensorNumber.toString(16).padStart(2, '0')} | ${e.description} | ${e.direction}`,
    )
    .join('\n');
}

/** `ipmitool chassis status` layout. */
export function formatChassis(s: ChassisStatus): string {
  const rows: [string, string][] = [
    ['System Power', s.power],
    ['Power Overload', String(s.overload)],
    ['Power Interlock', s.interlock ? 'active' : 'inactive'],
    ['Main Power Fault', String(s.powerFault)],
    ['Power Control Fault', String(s.controlFault)],
    ['Power Restore Policy', s.restorePolicy],
    ['Last Power Event', s.lastEvent],
    ['Chassis Intrusion', s.intrusion ? 'active' : 'inactive'],
  ];
  return rows.map(([k, v]) => `${k.padEnd(22)}: ${v}`).join('\n');
}

/** What ipmitool prints after a chassis power command. */
export const CHASSIS_DONE: Readonly<Record<string, string>> = {
  on: 'Chassis Power Control: Up/On',
  off: 'Chassis Power Control: Down/Off',
  cycle: 'Chassis Power Control: Cycle',
  reset: 'Chassis Power Control: Reset',
  soft: 'Chassis Power Control: Soft',
};
