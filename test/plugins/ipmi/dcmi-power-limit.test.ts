/**
 * DCMI Get/Set/Activate Power Limit. Against the real ipmi_sim (OpenIPMI 2.0.33 implements no
 * DCMI command: it answers C1h) the driver says E_BMC_UNSUPPORTED, as `ipmitool dcmi power
 * get_limit` fails on it. The encoding is checked against a BMC answering by DCMI 1.5 tables
 * 6-19..6-21 (a stand-in that keeps its limit, since no installed peer implements them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIpmitool, startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import {
  decodePowerLimit,
  encodeSetPowerLimit,
  getPowerLimit,
  setPowerLimit,
} from '../../../plugins/ipmi/commands/dcmi-power-limit.js';
import { IpmiSession } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { isVpmdError } from '../../../core/errors.js';

let sim: IpmiSimPeer;
let target: IpmiSimTarget;
let endpoint: UdpEndpoint;
let session: IpmiSession;

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 1 });
  target = sim.targets[0] as IpmiSimTarget;
  endpoint = await UdpEndpoint.open('127.0.0.1');
  session = await IpmiSession.open(
    endpoint,
    { ...target, privilege: 'administrator', cipherFloor: 'confidentiality' },
    { timeoutMs: 1000, retries: 2 },
  );
}, 60_000);
afterAll(async () => {
  await session?.close();
  await endpoint?.close();
  await sim?.stop();
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    return isVpmdError(e) ? e.code : String(e);
  }
}

describe('DCMI power limit on ipmi_sim', () => {
  it('is unsupported, and ipmitool agrees', async () => {
    expect(await code(getPowerLimit(session))).toBe('E_BMC_UNSUPPORTED');
    expect(await code(setPowerLimit(session, { watts: 300 }))).toBe('E_BMC_UNSUPPORTED');
    const r = await runIpmitool(target, ['dcmi', 'power', 'get_limit']).catch((e: Error) => ({
      stdout: 'failed',
      stderr: e.message,
    }));
    expect(r.stdout).toBe('failed');
    expect(r.stderr).toMatch(/DCMI request failed because: Invalid command \(c1\)/);
  });
});

/** A DCMI BMC: keeps a limit, answers 80h while it is not active. */
function dcmiBmc(): { session: IpmiSession; sent: number[][] } {
  let limit = { exception: 0x01, watts: 0, correctionMs: 0, samplingS: 1 };
  let active = false;
  const sent: number[][] = [];
  const request = (netFn: number, cmd: number, data: readonly number[]): Promise<{ cc: number; data: Buffer }> => {
    sent.push([netFn, cmd, ...data]);
    if (netFn !== 0x2c) return Promise.resolve({ cc: 0xc1, data: Buffer.alloc(0) });
    if (cmd === 0x03) {
      const b = Buffer.alloc(14);
      b[0] = 0xdc;
      b[3] = limit.exception;
      b.writeUInt16LE(limit.watts, 4);
      b.writeUInt32LE(limit.correctionMs, 6);
      b.writeUInt16LE(limit.samplingS, 12);
      return Promise.resolve({ cc: active ? 0 : 0x80, data: b });
    }
    if (cmd === 0x04) {
      const d = Buffer.from(data);
      const watts = d.readUInt16LE(5);
      if (watts < 100) return Promise.resolve({ cc: 0x84, data: Buffer.from([0xdc]) });
      limit = { exception: d[4] ?? 0, watts, correctionMs: d.readUInt32LE(7), samplingS: d.readUInt16LE(13) };
      return Promise.resolve({ cc: 0, data: Buffer.from([0xdc, 0, 0]) });
    }
    if (cmd === 0x05) {
      active = data[1] === 1;
      return Promise.resolve({ cc: 0, data: Buffer.from([0xdc]) });
    }
    return Promise.resolve({ cc: 0xc1, data: Buffer.alloc(0) });
  };
  return { session: { target: { name: 'dcmi' }, request } as unknown as IpmiSession, sent };
}

describe('DCMI power limit encoding (DCMI 1.5 tables 6-19..6-21)', () => {
  it('sets, activates and deactivates a limit, and reads it back', async () => {
    const bmc = dcmiBmc();
    expect(await getPowerLimit(bmc.session)).toMatchObject({ active: false, watts: 0 });
    const set = await setPowerLimit(bmc.session, { watts: 350, correctionMs: 6000, exception: 'log' });
    expect(set).toEqual({ watts: 350, active: true, correctionMs: 6000, exception: 'log' });
    const setReq = bmc.sent.find((s) => s[1] === 0x04) ?? [];
    expect(setReq.slice(2)).toEqual([0xdc, 0, 0, 0, 0x11, 0x5e, 0x01, 0x70, 0x17, 0, 0, 0, 0, 0x01, 0x00]);
    expect(bmc.sent.find((s) => s[1] === 0x05)?.slice(2)).toEqual([0xdc, 0x01, 0, 0]);
    const off = await setPowerLimit(bmc.session, { watts: null });
    expect(off).toMatchObject({ active: false, watts: 350 });
  });

  it('names the refusal: limit out of range (84h)', async () => {
    const bmc = dcmiBmc();
    await expect(setPowerLimit(bmc.session, { watts: 50 })).rejects.toThrow(/power limit out of range/);
  });

  it('decodes and encodes the fields', () => {
    const b = Buffer.from(encodeSetPowerLimit(420, 1000, 'power-off', 5));
    expect(b.readUInt16LE(5)).toBe(420);
    expect(decodePowerLimit(0x80, Buffer.from([0xdc, 0, 0, 0x01, 0xa4, 0x01, 0xe8, 0x03, 0, 0, 0, 0, 5, 0]))).toEqual({
      active: false,
      exception: 'power-off',
      watts: 420,
      correctionMs: 1000,
      samplingS: 5,
    });
    expect(decodePowerLimit(0xc1, Buffer.alloc(0))).toBeUndefined();
  });
});
