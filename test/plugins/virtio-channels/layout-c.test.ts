/** The wire layout checked against Debian's real rte_power_guest_channel.h, compiled with gcc. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRequest,
  encodeCapsList,
  encodeFreqList,
  encodeRequest,
} from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import {
  CAPS_LIST_OFFSETS,
  CAPS_LIST_SIZE,
  FREQ_LIST_OFFSETS,
  FREQ_LIST_SIZE,
  REQUEST_OFFSETS,
  REQUEST_SIZE,
} from '../../../plugins/virtio-channels/protocol/packet-layout.js';
import { buildC } from './support/build-c.js';

interface CLayout {
  sizes: { request: number; freq_list: number; caps_list: number };
  request: Record<string, number>;
  freq_list: Record<string, number>;
  caps_list: Record<string, number>;
  requestHex: string;
  freqListHex: string;
  capsListHex: string;
}

let c: CLayout;
beforeAll(async () => {
  const bin = await buildC('layout');
  const { stdout } = await promisify(execFile)(bin);
  c = JSON.parse(stdout) as CLayout;
}, 60_000);

describe('layout against the C header', () => {
  it('has the sizes the compiler gives', () => {
    expect(c.sizes).toEqual({ request: REQUEST_SIZE, freq_list: FREQ_LIST_SIZE, caps_list: CAPS_LIST_SIZE });
  });

  it('has every offset the compiler gives', () => {
    expect(c.request).toEqual({ ...REQUEST_OFFSETS });
    expect(c.freq_list).toEqual({ ...FREQ_LIST_OFFSETS });
    expect(c.caps_list).toEqual({ ...CAPS_LIST_OFFSETS });
  });

  it('decodes a request filled through the C struct, ignoring junk after vm_name', () => {
    const p = decodeRequest(Buffer.from(c.requestHex, 'hex'));
    expect(p).toMatchObject({
      resourceId: 0x0102030405060708n,
      unit: 3,
      command: 3,
      vmName: 'guest-7',
      nbMacToMonitor: -5,
      trafficPolicy: { minPacketThresh: 11, avgMaxPacketThresh: 222, maxMaxPacketThresh: 3333 },
      vcpuToControl: [7, 6, 5, 4, 3, 2, 1, 0],
      numVcpu: 8,
      corePhysical: true,
      workload: 2,
      policyToUse: 1,
      turboEnabled: true,
    });
    expect(p.vfid[0]).toBe(0x0000525400123456n);
    expect(p.vfid[9]).toBe(0xaabbccddeeff0011n);
    expect([p.busyHours[0], p.busyHours[23], p.quietHours[5], p.hoursToUseTrafficProfile[12]]).toEqual([9, -1, 2, 13]);
    // Re-encoding gives the C bytes except the junk the guest left after the NUL.
    const ours = encodeRequest(p);
    const theirs = Buffer.from(c.requestHex, 'hex');
    theirs.fill(0, 16 + 'guest-7'.length, 48);
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
  });

  it('encodes replies byte for byte as the C structs', () => {
    const f = encodeFreqList({
      resourceId: 3n,
      unit: 0,
      vmName: 'vm1',
      freqList: Array.from({ length: 8 }, (_, i) => 1200000 + 100000 * i),
      numVcpu: 8,
    });
    expect(f.toString('hex')).toBe(c.freqListHex);
    const caps = encodeCapsList({
      resourceId: 1n,
      unit: 0,
      vmName: 'vm1',
      turbo: [1, 0],
      priority: [0, 1],
      numVcpu: 2,
    });
    expect(caps.toString('hex')).toBe(c.capsListHex);
  });
});
