/**
 * SDR parsing and reading conversion with fixed records: every analog format and
 * linearization, M/B sign extension, exponents, ID string encodings; and the chunked reader's
 * 0xCA / 0xC5 recovery, which ipmi_sim never provokes (a scripted repository stands in).
 */
import { describe, expect, it } from 'vitest';
import {
  convertReading,
  decodeIdString,
  parseSensorRecord,
  rawValue,
  type Conversion,
} from '../../../plugins/ipmi/commands/sdr-record.js';
import { readRecords } from '../../../plugins/ipmi/commands/sdr-repository.js';
import { interpretReading, thresholdStatus } from '../../../plugins/ipmi/commands/sensors.js';
import type { IpmiSession } from '../../../plugins/ipmi/session/session.js';

/** A full sensor record (type 01h) as a BMC stores it. */
function fullRecord(o: {
  id?: number;
  number: number;
  m: number;
  b?: number;
  rExp?: number;
  bExp?: number;
  lin?: number;
  format?: number;
  unit?: number;
  name: string;
  mask?: number;
  th?: number[];
}): Buffer {
  const r = Buffer.alloc(48);
  r.writeUInt16LE(o.id ?? 1, 0);
  r[2] = 0x51;
  r[3] = 0x01;
  r[5] = 0x20;
  r[7] = o.number;
  r[8] = 0x07;
  r[12] = 0x01;
  r[13] = 0x01;
  r[18] = o.mask ?? 0x3f;
  r[20] = (o.format ?? 0) << 6;
  r[21] = o.unit ?? 1;
  r[23] = o.lin ?? 0;
  const m = o.m & 0x3ff;
  const b = (o.b ?? 0) & 0x3ff;
  r[24] = m & 0xff;
  r[25] = (m >> 8) << 6;
  r[26] = b & 0xff;
  r[27] = (b >> 8) << 6;
  r[29] = (((o.rExp ?? 0) & 0x0f) << 4) | ((o.bExp ?? 0) & 0x0f);
  (o.th ?? [0, 0, 0, 0, 0, 0]).forEach((v, i) => (r[36 + i] = v)); // unr uc unc lnr lc lnc
  const name = Buffer.from(o.name, 'latin1');
  r[47] = 0xc0 | name.length;
  const rec = Buffer.concat([r, name]);
  rec[4] = rec.length - 5;
  return rec;
}

const conv = (c: Partial<Conversion>): Conversion => ({
  m: 1,
  b: 0,
  bExp: 0,
  rExp: 0,
  linearization: 0,
  format: 'unsigned',
  ...c,
});

describe('full sensor record parsing', () => {
  it('sign-extends 10-bit M and B and 4-bit exponents', () => {
    const rec = parseSensorRecord(fullRecord({ number: 3, m: -7, b: -300, rExp: -2, bExp: 3, unit: 4, name: 'Vcore' }));
    expect(rec?.conversion).toEqual({ m: -7, b: -300, rExp: -2, bExp: 3, linearization: 0, format: 'unsigned' });
    expect(rec).toMatchObject({
      name: 'Vcore',
      number: 3,
      unit: 'Volts',
      ownerId: 0x20,
      sensorType: 0x01,
      entityId: 0x07,
    });
  });

  it('keeps only the readable thresholds', () => {
    const rec = parseSensorRecord(fullRecord({ number: 1, m: 1, name: 'T', mask: 0x12, th: [45, 42, 38, 1, 3, 5] }));
    expect(rec?.thresholds).toEqual({ lc: 3, uc: 42 });
  });

  it('has no conversion when the analog format says "no analog reading"', () => {
    expect(parseSensorRecord(fullRecord({ number: 1, m: 1, format: 3, name: 'x' }))?.conversion).toBeUndefined();
  });
});

describe('reading conversion', () => {
  it.each([
    ['unsigned', 0xf6, 246],
    ['twos-complement', 0xf6, -10],
    ['ones-complement', 0xf5, -10],
    ['ones-complement', 0x05, 5],
  ] as const)('reads raw bytes as %s', (format, raw, expected) => {
    expect(rawValue(raw, format)).toBe(expected);
  });

  it('applies M, B, K1 and K2', () => {
    expect(convertReading(171, conv({ m: 7, rExp: -2 }))).toBe(11.97);
    expect(convertReading(120, conv({ m: 2, b: -10, bExp: 1, rExp: -1 }))).toBe(14);
    expect(convertReading(0xf6, conv({ m: 1, b: 5, format: 'twos-complement' }))).toBe(-5);
    expect(convertReading(100, conv({ m: -2, b: 300 }))).toBe(100);
  });

  it.each([
    [1, 'ln', Math.log(50)],
    [2, 'log10', 2],
    [3, 'log2', Math.log2(100)],
    [4, 'e', Math.exp(2)],
    [5, 'exp10', 100],
    [6, 'exp2', 4],
    [7, '1/x', 0.5],
    [8, 'sqr', 16],
    [9, 'cube', 27],
    [10, 'sqrt', 3],
    [11, 'cube root', 2],
  ])('linearization %i (%s)', (lin, _name, expected) => {
    const x: Record<number, number> = { 1: 50, 2: 100, 3: 100, 4: 2, 5: 2, 6: 2, 7: 2, 8: 4, 9: 3, 10: 9, 11: 8 };
    expect(convertReading(x[lin] ?? 0, conv({ linearization: lin }))).toBeCloseTo(expected, 9);
  });

  it('gives no value where the linearization is undefined (1/0, log of 0)', () => {
    expect(convertReading(0, conv({ linearization: 7 }))).toBeNull();
    expect(convertReading(0, conv({ linearization: 1 }))).toBeNull();
  });
});

describe('ID strings', () => {
  it('decodes 8-bit, 6-bit packed, BCD plus and Unicode', () => {
    expect(decodeIdString(0xc5, Buffer.from('Fan 1'))).toBe('Fan 1');
    expect(decodeIdString(0x80 | 3, Buffer.from([0x74, 0xd9, 0xc2]))).toBe('TEMP');
    expect(decodeIdString(0x40 | 2, Buffer.from([0x12, 0xc3]))).toBe('12.3');
    expect(decodeIdString(0x00 | 4, Buffer.from('Hi', 'utf16le'))).toBe('Hi');
  });
});

describe('reading status', () => {
  it('maps the comparison bits to ok / warning / critical', () => {
    expect(thresholdStatus(0)).toEqual({ status: 'ok', ipmi: 'ok' });
    expect(thresholdStatus(0x08)).toEqual({ status: 'warning', ipmi: 'nc' });
    expect(thresholdStatus(0x02)).toEqual({ status: 'critical', ipmi: 'cr' });
    expect(thresholdStatus(0x20)).toEqual({ status: 'critical', ipmi: 'nr' });
  });

  it('reports "unavailable" for an unavailable reading, disabled scanning or an error code', () => {
    const rec = parseSensorRecord(fullRecord({ number: 1, m: 1, name: 'T' }));
    if (rec === undefined) throw new Error('no record');
    const sensor = { record: rec, thresholds: {} };
    expect(interpretReading(sensor, 0, Buffer.from([24, 0xc0, 0])).value).toBe(24);
    expect(interpretReading(sensor, 0, Buffer.from([24, 0xe0, 0]))).toMatchObject({
      value: null,
      status: 'unavailable',
      ipmiStatus: 'ns',
    });
    expect(interpretReading(sensor, 0, Buffer.from([24, 0x80, 0]))).toMatchObject({
      value: null,
      status: 'unavailable',
    });
    expect(interpretReading(sensor, 0xcb, Buffer.alloc(0))).toMatchObject({ value: null, status: 'unavailable' });
  });
});

describe('chunked Get SDR', () => {
  /**
   * A repository that answers 0xCA above `maxChunk` bytes and loses the reservation once; with
   * `extra`, each answer carries that many bytes past what was asked (garbage past a record's end).
   */
  function scripted(records: Buffer[], maxChunk: number, extra = 0): { session: IpmiSession; log: string[] } {
    const log: string[] = [];
    let reservation = 1;
    let loseOnce = true;
    let inFlight = 0;
    const request = async (
      netFn: number,
      cmd: number,
      data: readonly number[] | Uint8Array = [],
    ): Promise<{ cc: number; data: Buffer }> => {
      inFlight++;
      log.push(`in flight ${inFlight}`);
      await new Promise((r) => setImmediate(r)); // answers come later, as over the network
      inFlight--;
      const d = Buffer.from(data);
      if (cmd === 0x22) {
        reservation++;
        log.push('reserve');
        return { cc: 0, data: Buffer.from([reservation & 0xff, reservation >> 8]) };
      }
      const [res, id, offset, count] = [d.readUInt16LE(0), d.readUInt16LE(2), d[4] ?? 0, d[5] ?? 0];
      if (res !== reservation) return { cc: 0xc5, data: Buffer.alloc(0) };
      if (offset > 5 && loseOnce) {
        loseOnce = false;
        reservation++; // another client reserved the repository
        return { cc: 0xc5, data: Buffer.alloc(0) };
      }
      const rec = records[id];
      if (rec === undefined) return { cc: 0xcb, data: Buffer.alloc(0) };
      log.push(`get ${id} ${offset} ${count}`);
      // As OpenIPMI's handle_get_sdr: a read is clipped at the record's end, then refused
      // (0xCA) when what is left does not fit in one answer.
      if (Math.min(count, rec.length - offset) > maxChunk) {
        log.push(`0xCA at ${count}`);
        return { cc: 0xca, data: Buffer.alloc(0) };
      }
      const next = id + 1 < records.length ? id + 1 : 0xffff;
      return {
        cc: 0,
        data: Buffer.concat([Buffer.from([next & 0xff, next >> 8]), rec.subarray(offset, offset + count + extra)]),
      };
    };
    const session = {
      target: { name: 'scripted' },
      request,
      call: async (netFn: number, cmd: number, data?: readonly number[]) => (await request(netFn, cmd, data)).data,
    } as unknown as IpmiSession;
    return { session, log };
  }

  it('asks for fewer bytes after 0xCA and re-reserves after 0xC5, reading every record whole', async () => {
    const recs = [
      fullRecord({ id: 0, number: 1, m: 1, name: 'Inlet Temp' }),
      fullRecord({ id: 1, number: 2, m: 50, name: 'Fan 1' }),
    ];
    const { session, log } = scripted(recs, 10);
    const got = await readRecords(session, 2, 32);
    expect(got).toEqual(recs);
    expect(log).toContain('0xCA at 32');
    expect(log).toContain('0xCA at 16');
    expect(log.filter((l) => l === 'reserve').length).toBe(2);
  });

  it('reads a record that fits in one read with one request, cut at its length byte', async () => {
    const recs = Array.from({ length: 3 }, (_, i) => fullRecord({ id: i, number: i + 1, m: 1, name: `T${i}` }));
    const size = recs[0]?.length ?? 0;
    // Records fit the first read (64 bytes asked): one Get SDR each, however many bytes come back.
    const { session, log } = scripted(recs, 64, 7);
    expect(await readRecords(session, 3, 64)).toEqual(recs);
    expect(log.filter((l) => l.startsWith('get '))).toEqual(['get 0 0 64', 'get 1 0 64', 'get 2 0 64']);
    // A record longer than the first read: the rest in one more read, from where the first ended.
    const { session: s2, log: log2 } = scripted(recs, 64);
    expect(await readRecords(s2, 3, 20)).toEqual(recs);
    expect(log2.filter((l) => l.startsWith('get 0 '))).toEqual([
      'get 0 0 20',
      `get 0 20 ${Math.min(20, size - 20)}`,
      ...(size > 40 ? [`get 0 40 ${size - 40}`] : []),
    ]);
  });

  it('reads the bodies of records while walking the chain of headers, and they come back in order', async () => {
    const recs = Array.from({ length: 6 }, (_, i) =>
      fullRecord({ id: i, number: i + 1, m: i + 1, name: `Sensor number ${i}` }),
    );
    const { session, log } = scripted(recs, 64);
    expect(await readRecords(session, 6, 16)).toEqual(recs);
    // One header at a time, but several reads (bodies and the next header) in flight at once.
    expect(
      Math.max(...log.filter((l) => l.startsWith('in flight')).map((l) => Number(l.split(' ')[2]))),
    ).toBeGreaterThan(2);
  });
});
