import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  decodeCapsList,
  decodeFreqList,
  decodeRequest,
  encodeAck,
  encodeCapsList,
  encodeFreqList,
  encodeRequest,
} from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../../plugins/virtio-channels/protocol/packet-layout.js';

const SCALE_UP_LCORE0 = Buffer.concat([Buffer.from('00000000000000000100000001000000', 'hex'), Buffer.alloc(448)]);

describe('power channel codec', () => {
  it('decodes the documented SCALE_UP example for lcore 0', () => {
    const p = decodeRequest(SCALE_UP_LCORE0);
    expect(p).toMatchObject({
      resourceId: 0n,
      unit: Unit.SCALE_UP,
      command: Command.CPU_POWER,
      vmName: '',
      corePhysical: false,
    });
    expect(encodeRequest({ resourceId: 0n, unit: 1, command: 1 }).equals(SCALE_UP_LCORE0)).toBe(true);
  });

  it('reads vm_name only up to its NUL and flags an unterminated name', () => {
    const buf = encodeRequest({ command: Command.QUERY_FREQ_LIST, vmName: 'vm1' });
    buf.write('garbage-after-nul', 20, 'latin1');
    expect(decodeRequest(buf).vmName).toBe('vm1');
    expect(decodeRequest(buf).vmNameTerminated).toBe(true);
    buf.fill(0x41, 16, 48);
    expect(decodeRequest(buf)).toMatchObject({ vmName: 'A'.repeat(32), vmNameTerminated: false });
  });

  it('treats any non-zero bool byte as true, as C does', () => {
    const buf = encodeRequest({});
    buf[444] = 0x7f;
    buf[456] = 2;
    expect(decodeRequest(buf)).toMatchObject({ corePhysical: true, turboEnabled: true });
  });

  it('round-trips every field of the request', () => {
    const init = {
      resourceId: 0x0102030405060708n,
      unit: 3,
      command: 3,
      vmName: 'guest-7',
      vfid: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 0xffffffffffffffffn],
      nbMacToMonitor: -5,
      trafficPolicy: { minPacketThresh: 1, avgMaxPacketThresh: 2, maxMaxPacketThresh: 3 },
      vcpuToControl: [7, 6, 5, 4, 3, 2, 1, 0],
      numVcpu: 8,
      busyHours: Array.from({ length: 24 }, (_, i) => i),
      quietHours: Array.from({ length: 24 }, (_, i) => -1 - i),
      hoursToUseTrafficProfile: Array.from({ length: 24 }, () => 1),
      corePhysical: true,
      workload: 2,
      policyToUse: 1,
      turboEnabled: true,
    };
    expect(decodeRequest(encodeRequest(init))).toEqual({ ...init, vmNameTerminated: true });
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => decodeRequest(Buffer.alloc(463))).toThrow(/464 bytes, got 463/);
  });

  it('echoes a request as ACK or NACK, keeping every other byte', () => {
    const req = encodeRequest({ resourceId: 5n, unit: Unit.SCALE_DOWN, command: Command.CPU_POWER });
    req.write('junk', 30, 'latin1');
    const nack = encodeAck(req, false);
    expect(nack.readUInt32LE(12)).toBe(2);
    expect(
      Buffer.concat([nack.subarray(0, 12), nack.subarray(16)]).equals(
        Buffer.concat([req.subarray(0, 12), req.subarray(16)]),
      ),
    ).toBe(true);
    expect(encodeAck(req, true).readUInt32LE(12)).toBe(1);
  });

  it('encodes the 88-byte FREQ_LIST and 184-byte CAPS_LIST replies', () => {
    const f = encodeFreqList({ resourceId: 1n, unit: 0, vmName: 'vm1', freqList: [3800000, 1200000], numVcpu: 2 });
    expect(f.length).toBe(88);
    expect(f.readUInt32LE(12)).toBe(3);
    expect(f.readUInt32LE(48)).toBe(3800000);
    expect(f.readUInt32LE(52)).toBe(1200000);
    expect(f[80]).toBe(2);
    expect(decodeFreqList(f)).toMatchObject({ vmName: 'vm1', numVcpu: 2, command: 3 });
    const c = encodeCapsList({ resourceId: 0n, unit: 0, vmName: 'vm1', turbo: [1, 0], priority: [0, 1], numVcpu: 2 });
    expect(c.length).toBe(184);
    expect(c.readUInt32LE(12)).toBe(4);
    expect(c.readBigUInt64LE(48)).toBe(1n);
    expect(c.readBigUInt64LE(120)).toBe(1n);
    expect(c[176]).toBe(2);
    expect(decodeCapsList(c)).toMatchObject({ turbo: [1, 0, 0, 0, 0, 0, 0, 0], priority: [0, 1, 0, 0, 0, 0, 0, 0] });
  });
});

describe('FrameReader', () => {
  const frames = [0, 1, 2].map((i) => encodeRequest({ resourceId: BigInt(i), unit: 1, command: 1 }));
  const stream = Buffer.concat(frames);

  it('reassembles a message delivered one byte at a time', () => {
    const r = new FrameReader(REQUEST_SIZE);
    const out: Buffer[] = [];
    for (const b of frames[0] as Buffer) out.push(...r.push(Buffer.from([b])));
    expect(out).toHaveLength(1);
    expect(out[0]?.equals(frames[0] as Buffer)).toBe(true);
    expect(r.buffered).toBe(0);
  });

  it('splits coalesced messages and keeps a trailing partial one for the next read', () => {
    const r = new FrameReader(REQUEST_SIZE);
    const first = r.push(stream.subarray(0, 2 * REQUEST_SIZE + 100));
    expect(first.map((f) => decodeRequest(f).resourceId)).toEqual([0n, 1n]);
    expect(r.buffered).toBe(100);
    const rest = r.push(stream.subarray(2 * REQUEST_SIZE + 100));
    expect(rest.map((f) => decodeRequest(f).resourceId)).toEqual([2n]);
  });

  it('forgets a partial message on reset', () => {
    const r = new FrameReader(REQUEST_SIZE);
    r.push(stream.subarray(0, 10));
    r.reset();
    expect(r.push(stream.subarray(0, REQUEST_SIZE))).toHaveLength(1);
  });
});
