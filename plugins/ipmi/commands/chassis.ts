/**
 * Get Device ID, Get Chassis Status, Chassis Control and DCMI Get Power Reading.
 */
import { VpmdError, type ChassisAction } from 'vpmd';
import type { IpmiSession } from '../session/session.js';

/** Get Device ID, as `ipmitool mc info` shows it. */
export interface DeviceId {
  readonly deviceId: number;
  readonly deviceRevision: number;
  readonly firmware: string;
  readonly ipmiVersion: string;
  readonly manufacturerId: number;
  readonly productId: number;
}

/** Reads Get Device ID. */
export async function deviceId(s: IpmiSession): Promise<DeviceId> {
  const d = await s.call(0x06, 0x01);
  if (d.length < 11)
    throw new VpmdError('E_IPMI_PROTOCOL', `Get Device ID answer of ${d.length} bytes is too short`, {
      target: s.target.name,
    });
  const at = (i: number): number => d[i] ?? 0;
  const minor = at(3);
  return {
    deviceId: at(0),
    deviceRevision: at(1) & 0x0f,
    firmware: `${at(2) & 0x7f}.${(minor >> 4).toString(16)}${(minor & 0x0f).toString(16)}`,
    ipmiVersion: `${at(4) & 0x0f}.${at(4) >> 4}`,
    manufacturerId: at(6) | (at(7) << 8) | ((at(8) & 0x0f) << 16),
    productId: at(9) | (at(10) << 8),
  };
}

/** Get Chassis Status, as `ipmitool chassis status` shows it. */
export interface ChassisStatus {
  readonly power: 'on' | 'off';
  readonly overload: boolean;
  readonly interlock: boolean;
  readonly powerFault: boolean;
  readonly controlFault: boolean;
  readonly restorePolicy: 'always-off' | 'previous' | 'always-on' | 'unknown';
  readonly lastEvent: string;
  readonly intrusion: boolean;
  /** The identify light, when the BMC reports it (misc chassis state bit 6): off, timed on, on. */
  readonly identify?: 'off' | 'temporary' | 'on';
}

const LAST_EVENTS: readonly [number, string][] = [
  [0x10, 'command'],
  [0x08, 'fault'],
  [0x04, 'interlock'],
  [0x02, 'overload'],
  [0x01, 'ac-failed'],
];

/** Reads Get Chassis Status. */
export async function chassisStatus(s: IpmiSession): Promise<ChassisStatus> {
  const d = await s.call(0x00, 0x01);
  if (d.length < 3)
    throw new VpmdError('E_IPMI_PROTOCOL', `Get Chassis Status answer of ${d.length} bytes is too short`, {
      target: s.target.name,
    });
  const cur = d[0] ?? 0;
  const last = d[1] ?? 0;
  return {
    power: cur & 0x01 ? 'on' : 'off',
    overload: (cur & 0x02) !== 0,
    interlock: (cur & 0x04) !== 0,
    powerFault: (cur & 0x08) !== 0,
    controlFault: (cur & 0x10) !== 0,
    restorePolicy: (['always-off', 'previous', 'always-on', 'unknown'] as const)[(cur >> 5) & 0x03] ?? 'unknown',
    lastEvent: LAST_EVENTS.find(([bit]) => last & bit)?.[1] ?? '',
    intrusion: ((d[2] ?? 0) & 0x01) !== 0,
    // Bits 5:4 mean something only when bit 6 says the BMC reports the identify state.
    ...((d[2] ?? 0) & 0x40
      ? { identify: (['off', 'temporary', 'on', 'off'] as const)[((d[2] ?? 0) >> 4) & 0x03] ?? 'off' }
      : {}),
  };
}

/** Chassis Control codes (IPMI v2.0 table 28-4). */
export const CHASSIS_CONTROL: Readonly<Record<ChassisAction, number>> = {
  off: 0x00,
  on: 0x01,
  cycle: 0x02,
  reset: 0x03,
  soft: 0x05,
};

/** Sends Chassis Control (needs an OPERATOR session). */
export async function chassisControl(s: IpmiSession, action: ChassisAction): Promise<void> {
  await s.call(0x00, 0x02, [CHASSIS_CONTROL[action]]);
}

/**
 * Chassis Identify (00h/04h): `on` without `seconds` forces the light on until turned off
 * (Force Identify On); with `seconds` (1-255) it lights for that long; `on: false` turns it off.
 */
export async function chassisIdentify(s: IpmiSession, on: boolean, seconds?: number): Promise<void> {
  if (!on) {
    await s.call(0x00, 0x04, [0, 0]);
    return;
  }
  if (seconds !== undefined) {
    await s.call(0x00, 0x04, [Math.max(1, Math.min(255, Math.round(seconds)))]);
    return;
  }
  await s.call(0x00, 0x04, [0, 1]);
}

/** DCMI Get Power Reading (system power statistics). */
export interface PowerReading {
  readonly current: number;
  readonly minimum: number;
  readonly maximum: number;
  readonly average: number;
  readonly periodMs: number;
  readonly active: boolean;
}

/** Reads DCMI power; undefined when the BMC does not implement DCMI (then use power sensors). */
export async function dcmiPower(s: IpmiSession): Promise<PowerReading | undefined> {
  const r = await s.request(0x2c, 0x02, [0xdc, 0x01, 0x00, 0x00]);
  if (r.cc !== 0 || r.data.length < 18 || r.data[0] !== 0xdc) return undefined;
  const d = r.data;
  return {
    current: d.readUInt16LE(1),
    minimum: d.readUInt16LE(3),
    maximum: d.readUInt16LE(5),
    average: d.readUInt16LE(7),
    periodMs: d.readUInt32LE(13),
    active: ((d[17] ?? 0) & 0x40) !== 0,
  };
}
