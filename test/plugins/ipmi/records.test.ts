/**
 * Fixed answers that ipmi_sim cannot give: DCMI Get Power Reading (ipmi_sim has no DCMI), SEL
 * deassertions and OEM records, chassis status bits.
 */
import { describe, expect, it } from 'vitest';
import { chassisStatus, dcmiPower } from '../../../plugins/ipmi/commands/chassis.js';
import { decodeSelRecord } from '../../../plugins/ipmi/commands/sel.js';
import type { IpmiSession } from '../../../plugins/ipmi/session/session.js';

/** A session that answers one command with fixed bytes. */
function answering(cc: number, data: number[]): IpmiSession {
  const request = (): Promise<{ cc: number; data: Buffer }> => Promise.resolve({ cc, data: Buffer.from(data) });
  return {
    target: { name: 'fixed' },
    request,
    call: () => Promise.resolve(Buffer.from(data)),
  } as unknown as IpmiSession;
}

describe('DCMI Get Power Reading', () => {
  it('decodes current, minimum, maximum, average, period and state (DCMI 1.5 table 6-16)', async () => {
    // group 0xDC; current 312 W, min 180, max 455, avg 301; timestamp; period 60000 ms; active
    const bytes = [
      0xdc, 0x38, 0x01, 0xb4, 0x00, 0xc7, 0x01, 0x2d, 0x01, 0x00, 0x00, 0x00, 0x60, 0x60, 0xea, 0x00, 0x00, 0x40,
    ];
    expect(await dcmiPower(answering(0, bytes))).toEqual({
      current: 312,
      minimum: 180,
      maximum: 455,
      average: 301,
      periodMs: 60000,
      active: true,
    });
  });

  it('reports no DCMI for "invalid command" or a foreign group, so the poller falls back', async () => {
    expect(await dcmiPower(answering(0xc1, []))).toBeUndefined();
    expect(await dcmiPower(answering(0, [0xdd, ...new Array<number>(17).fill(0)]))).toBeUndefined();
  });
});

describe('SEL records', () => {
  it('decodes a deassertion and a threshold event with its severity', () => {
    const r = decodeSelRecord(
      Buffer.from('0a0002' + '00a0b962' + '2000' + '04' + '02' + '03' + '81' + '59' + 'bd' + 'bb', 'hex'),
    );
    expect(r).toMatchObject({
      id: 10,
      timestamp: 0x62b9a000,
      sensorType: 'Voltage',
      sensorNumber: 3,
      direction: 'Deasserted',
      description: 'Upper Critical going high',
      severity: 'critical',
    });
  });

  it('keeps OEM records as raw bytes', () => {
    const r = decodeSelRecord(Buffer.from('0b00e0' + '0102030405060708090a0b0c0d', 'hex'));
    expect(r).toMatchObject({
      id: 11,
      recordType: 0xe0,
      sensorType: 'OEM',
      description: 'OEM record 0xe0',
      severity: 'info',
    });
    expect(r.raw).toBe('0b00e00102030405060708090a0b0c0d');
  });
});

describe('Get Chassis Status', () => {
  it('decodes power, faults, restore policy and the last power event', async () => {
    expect(await chassisStatus(answering(0, [0x41 | 0x08, 0x10, 0x01]))).toEqual({
      power: 'on',
      overload: false,
      interlock: false,
      powerFault: true,
      controlFault: false,
      restorePolicy: 'always-on',
      lastEvent: 'command',
      intrusion: true,
    });
  });
});
