/**
 * The plugin's pure parts on inputs the simulated hosts do not produce: old kernels without
 * mem_sleep, hibernation without a suspend mode, /proc/acpi/wakeup, cpuinfo extras, wake times.
 */
import { describe, expect, it } from 'vitest';
import type { KernelSleepView } from '../../../core/index.js';
import { parseCpuinfoExtras, usableUuid } from '../../../plugins/libvirt-caps/host-facts.js';
import { parseAcpiWakeup } from '../../../plugins/libvirt-caps/power-document.js';
import { kernelVerdict } from '../../../plugins/libvirt-caps/sleep-discovery.js';
import { parseWakeAt, resolveWakeTime } from '../../../plugins/libvirt-caps/wake-time.js';

const view = (v: Partial<KernelSleepView>): KernelSleepView => ({
  states: [],
  s3: false,
  s4: false,
  s2idle: false,
  ...v,
});

describe('kernelVerdict', () => {
  it('takes mem as S3 on a kernel without mem_sleep (before 4.10)', () => {
    expect(kernelVerdict('mem', view({ states: ['mem'] }))).toEqual({
      text: expect.stringContaining('pre-4.10 kernel: mem is S3'),
      offers: true,
    });
  });
  it('refuses hybrid when /sys/power/disk has no suspend mode', () => {
    const k = view({
      states: ['mem', 'disk'],
      memSleep: { options: ['deep'], selected: 'deep' },
      disk: { options: ['platform', 'shutdown'], selected: 'platform' },
    });
    expect(kernelVerdict('hybrid', k)).toMatchObject({
      offers: false,
      text: expect.stringContaining('disk has no suspend mode'),
    });
    expect(kernelVerdict('suspend-then-hibernate', k).offers).toBe(true);
  });
  it('offers nothing on an empty /sys/power/state (a VM)', () => {
    for (const t of ['mem', 'disk', 'hybrid', 'suspend-then-hibernate'] as const)
      expect(kernelVerdict(t, view({})).offers).toBe(false);
    expect(kernelVerdict('mem', view({})).text).toContain('/sys/power/state: (empty)');
  });
});

describe('parseAcpiWakeup', () => {
  it('reads devices, sleep states, enabled flags and sysfs nodes', () => {
    const text = [
      'Device\tS-state\t  Status   Sysfs node',
      'PWRB\t  S4\t*enabled   platform:PNP0C0C:00',
      'XHC\t  S3\t*disabled  pci:0000:00:14.0',
      'LID0\t  S4\t*enabled',
      'garbage line',
    ].join('\n');
    expect(parseAcpiWakeup(text)).toEqual([
      { device: 'PWRB', sleepState: 'S4', enabled: true, sysfs: 'platform:PNP0C0C:00' },
      { device: 'XHC', sleepState: 'S3', enabled: false, sysfs: 'pci:0000:00:14.0' },
      { device: 'LID0', sleepState: 'S4', enabled: true },
    ]);
  });
});

describe('cpuinfo extras and UUIDs', () => {
  it('reads microcode (hex) and the physical address width of the first processor', () => {
    expect(
      parseCpuinfoExtras(
        'processor\t: 0\nmicrocode\t: 0xf4\naddress sizes\t: 46 bits physical, 48 bits virtual\n\nprocessor\t: 1\nmicrocode\t: 0x1\n',
      ),
    ).toEqual({ microcode: 244, physBits: 46 });
    expect(parseCpuinfoExtras('processor\t: 0\nFeatures\t: fp asimd\n')).toEqual({});
  });
  it('rejects firmware placeholder UUIDs and normalises case', () => {
    expect(usableUuid('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')).toBeUndefined();
    expect(usableUuid('not-a-uuid')).toBeUndefined();
    expect(usableUuid(' 4C4C4544-0042-3510-8052-B4C04F4E4B32\n')).toBe('4c4c4544-0042-3510-8052-b4c04f4e4b32');
  });
});

describe('wake times', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  it('parses epoch seconds and zoned ISO times, refuses local times', () => {
    expect(parseWakeAt('1795273800')).toBe(1795273800_000);
    expect(parseWakeAt('2026-11-21T13:00:00+01:00')).toBe(Date.parse('2026-11-21T12:00:00Z'));
    expect(() => parseWakeAt('2026-11-21T13:00:00')).toThrow(/with a zone/);
  });
  it('rounds up to whole seconds and applies the bound at exactly the minimum', () => {
    expect(resolveWakeTime({ target: 'mem', wakeAfterSeconds: 60 }, 60, now)).toBe(now / 1000 + 60);
    expect(resolveWakeTime({ target: 'mem', wakeAt: now + 60_000 }, 60, now)).toBe(now / 1000 + 60);
    expect(() => resolveWakeTime({ target: 'mem', wakeAt: now + 59_999 }, 60, now)).toThrow(/at least 60 seconds/);
    expect(() => resolveWakeTime({ target: 'mem', wakeAfterSeconds: 1.5 }, 60, now)).toThrow(/whole number/);
    expect(resolveWakeTime({ target: 'mem' }, 60, now)).toBeUndefined();
  });
});
