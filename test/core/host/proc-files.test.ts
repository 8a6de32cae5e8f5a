import { describe, expect, it } from 'vitest';
import { normalizeArch, parseCmdline, parseCpuinfo, parseMeminfoKiB } from '../../../core/host/proc-files.js';

const X86 = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz
stepping\t: 4
flags\t\t: fpu vme hwp hwp_epp

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: something else
`;

const ARM = `processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm
CPU implementer\t: 0xc0
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xac3
CPU revision\t: 1

processor\t: 1
CPU implementer\t: 0xc0
`;

describe('parseCpuinfo', () => {
  it('reads the x86 identity from the first processor and counts processors', () => {
    expect(parseCpuinfo(X86)).toEqual({
      processors: 2,
      arch: 'x86_64',
      identity: {
        vendor: 'GenuineIntel',
        modelName: 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz',
        family: 6,
        model: 85,
        stepping: 4,
        flags: ['fpu', 'vme', 'hwp', 'hwp_epp'],
      },
    });
  });

  it('reads the Arm layout: implementer name, hex part number, features', () => {
    const info = parseCpuinfo(ARM);
    expect(info.arch).toBe('aarch64');
    expect(info.processors).toBe(2);
    expect(info.identity).toMatchObject({
      vendor: 'Ampere',
      family: 8,
      model: 0xac3,
      stepping: 1,
      flags: ['fp', 'asimd', 'evtstrm'],
    });
  });

  it('returns an empty identity for an unknown layout', () => {
    expect(parseCpuinfo('garbage')).toEqual({ processors: 0, identity: { flags: [] } });
  });
});

describe('other /proc parsers', () => {
  it('reads MemTotal from /proc/meminfo and from a NUMA node', () => {
    expect(parseMeminfoKiB('MemTotal:       16318860 kB\nMemFree:  1 kB')).toBe(16318860);
    expect(parseMeminfoKiB('Node 1 MemTotal:        8159430 kB', 'MemTotal')).toBe(8159430);
    expect(parseMeminfoKiB('MemFree: 3 kB')).toBeUndefined();
  });

  it('parses the kernel command line with bare flags and quoted values', () => {
    const params = parseCmdline(
      'BOOT_IMAGE=/vmlinuz ro quiet intel_idle.max_cstate=1 dyndbg="file x.c +p" isolcpus=2-3\n',
    );
    expect(params.get('ro')).toBe(true);
    expect(params.get('intel_idle.max_cstate')).toBe('1');
    expect(params.get('dyndbg')).toBe('file x.c +p');
    expect(params.get('isolcpus')).toBe('2-3');
    expect(params.has('missing')).toBe(false);
  });

  it('normalises architecture names', () => {
    expect(normalizeArch('x86_64\n')).toBe('x86_64');
    expect(normalizeArch('arm64')).toBe('aarch64');
    expect(normalizeArch('mips')).toBeUndefined();
  });
});
