import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from '../../../core/host/cpu-ranges.js';
import { isVpmdError } from '../../../core/errors.js';

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isVpmdError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a failure');
}

describe('parseCpuList', () => {
  it('parses single CPUs, ranges and mixes, sorted and de-duplicated', () => {
    expect(parseCpuList('0-7,16-23')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
    expect(parseCpuList('5,1,3-4,4\n')).toEqual([1, 3, 4, 5]);
    expect(parseCpuList('')).toEqual([]);
    expect(parseCpuList('  \n')).toEqual([]);
  });

  it('parses the group form used by isolcpus= and friends', () => {
    expect(parseCpuList('0-15:2/4')).toEqual([0, 1, 4, 5, 8, 9, 12, 13]);
  });

  it('rejects malformed lists naming the item, the source and the syntax', () => {
    const bad = failure(() => parseCpuList('0-3,x', { source: '/sys/devices/system/cpu/online' }));
    expect(bad.code).toBe('E_HOST_PARSE');
    expect(bad.message).toContain('"x"');
    expect(bad.message).toContain('/sys/devices/system/cpu/online');
    expect(bad.message).toContain('0-7,16-23');
    expect(failure(() => parseCpuList('7-3')).message).toContain('below its start');
    expect(failure(() => parseCpuList('0-3:5/4')).message).toContain('used <= group');
    expect(failure(() => parseCpuList('0-99999')).message).toContain('65535');
    expect(failure(() => parseCpuList('1,,2')).code).toBe('E_HOST_PARSE');
  });

  it('uses E_HOST_INVALID for user input when asked', () => {
    expect(failure(() => parseCpuList('all', { code: 'E_HOST_INVALID', source: 'pools.web.cpus' })).code).toBe(
      'E_HOST_INVALID',
    );
  });
});

describe('formatCpuList', () => {
  it('collapses runs and round-trips', () => {
    expect(formatCpuList([0, 1, 2, 3, 8])).toBe('0-3,8');
    expect(formatCpuList([23, 22, 0, 1, 21, 1])).toBe('0-1,21-23');
    expect(formatCpuList([])).toBe('');
    const cpus = parseCpuList('0-7,16-23,40');
    expect(parseCpuList(formatCpuList(cpus))).toEqual(cpus);
  });

  it('rejects negative and fractional CPU numbers', () => {
    expect(failure(() => formatCpuList([1, -2])).code).toBe('E_HOST_INVALID');
    expect(failure(() => formatCpuList([1.5])).code).toBe('E_HOST_INVALID');
  });
});
