/**
 * System Event Log: Get SEL Info, Reserve SEL, Get SEL Entry, Clear SEL (initiate, then poll
 * the erasure status), and decoding of 16-byte records into ipmitool-style text.
 */
import { VpmdError } from 'vpmd';
import type { IpmiSession } from '../session/session.js';
import { discreteStateText, eventSeverity, sensorTypeName } from './sensor-text.js';

const NETFN_STORAGE = 0x0a;

/** Get SEL Info. */
export interface SelInfo {
  readonly version: number;
  readonly entries: number;
  readonly freeBytes: number;
  readonly addTimestamp: number;
  readonly eraseTimestamp: number;
}

/** A decoded SEL record. */
export interface SelEntry {
  readonly id: number;
  readonly recordType: number;
  /** Seconds since 1970 as the BMC counts them (values below 0x20000000 are "Pre-Init" uptime). */
  readonly timestamp: number;
  readonly generator: number;
  readonly sensorType: string;
  readonly sensorTypeCode: number;
  readonly sensorNumber: number;
  readonly eventType: number;
  readonly direction: 'Asserted' | 'Deasserted';
  readonly description: string;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly data: readonly [number, number, number];
  /** The record's 16 bytes in hex (OEM records carry only this). */
  readonly raw: string;
}

/** Reads Get SEL Info. */
export async function selInfo(s: IpmiSession): Promise<SelInfo> {
  const d = await s.call(NETFN_STORAGE, 0x40);
  if (d.length < 13)
    throw new VpmdError('E_IPMI_PROTOCOL', `SEL info of ${d.length} bytes is too short`, { target: s.target.name });
  return {
    version: d[0] ?? 0,
    entries: d.readUInt16LE(1),
    freeBytes: d.readUInt16LE(3),
    addTimestamp: d.readUInt32LE(5),
    eraseTimestamp: d.readUInt32LE(9),
  };
}

/** Decodes one 16-byte SEL record. */
export function decodeSelRecord(r: Buffer): SelEntry {
  const at = (i: number): number => r[i] ?? 0;
  const id = at(0) | (at(1) << 8);
  const recordType = at(2);
  const raw = r.subarray(0, 16).toString('hex');
  if (recordType !== 0x02) {
    return {
      id,
      recordType,
      timestamp: recordType < 0xe0 ? r.readUInt32LE(3) : 0,
      generator: 0,
      sensorType: 'OEM',
      sensorTypeCode: 0,
      sensorNumber: 0,
      eventType: 0,
      direction: 'Asserted',
      description: `OEM record 0x${recordType.toString(16)}`,
      severity: 'info',
      data: [0, 0, 0],
      raw,
    };
  }
  const sensorTypeCode = at(10);
  const eventType = at(12) & 0x7f;
  const offset = at(13) & 0x0f;
  const data: [number, number, number] = [at(13), at(14), at(15)];
  return {
    id,
    recordType,
    timestamp: r.readUInt32LE(3),
    generator: at(7) | (at(8) << 8),
    sensorType: sensorTypeName(sensorTypeCode),
    sensorTypeCode,
    sensorNumber: at(11),
    eventType,
    direction: at(12) & 0x80 ? 'Deasserted' : 'Asserted',
    description:
      discreteStateText(eventType, sensorTypeCode, offset) ?? `Event offset 0x${offset.toString(16).padStart(2, '0')}`,
    severity: eventSeverity(eventType, sensorTypeCode, offset),
    data,
    raw,
  };
}

/** Reads every SEL entry (first id 0, until next id 0xFFFF). */
export async function readSel(s: IpmiSession, max = 4096): Promise<SelEntry[]> {
  const info = await selInfo(s);
  if (info.entries === 0) return [];
  const reservation = (await s.call(NETFN_STORAGE, 0x42)).readUInt16LE(0);
  const out: SelEntry[] = [];
  let id = 0;
  while (id !== 0xffff && out.length < max) {
    const d = await s.call(NETFN_STORAGE, 0x43, [reservation & 0xff, reservation >> 8, id & 0xff, id >> 8, 0, 0xff]);
    if (d.length < 18)
      throw new VpmdError('E_IPMI_PROTOCOL', `SEL entry ${id} of ${d.length} bytes is too short`, {
        target: s.target.name,
        record: id,
      });
    const next = d.readUInt16LE(0);
    out.push(decodeSelRecord(d.subarray(2, 18)));
    if (next === id) break;
    id = next;
  }
  return out;
}

/** Clears the SEL: reserve, initiate erase, then poll until the BMC reports completion. */
export async function clearSel(s: IpmiSession, pollMs = 100, maxPolls = 50): Promise<void> {
  const reservation = (await s.call(NETFN_STORAGE, 0x42)).readUInt16LE(0);
  const req = (action: number): Promise<Buffer> =>
    s.call(NETFN_STORAGE, 0x47, [reservation & 0xff, reservation >> 8, 0x43, 0x4c, 0x52, action]);
  let status = await req(0xaa);
  for (let i = 0; i < maxPolls && ((status[0] ?? 0) & 0x0f) !== 1; i++) {
    await new Promise((r) => setTimeout(r, pollMs));
    status = await req(0x00);
  }
  if (((status[0] ?? 0) & 0x0f) !== 1)
    throw new VpmdError('E_IPMI_TIMEOUT', `SEL erase on ${s.target.name} did not complete`, { target: s.target.name });
}
