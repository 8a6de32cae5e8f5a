/**
 * Parsers for the `/proc` files the host model reads: `cpuinfo` (x86 and Arm layouts),
 * `meminfo` (and the per-NUMA-node `meminfo` in sysfs) and `cmdline`.
 */

/** The CPU's identity as `/proc/cpuinfo` reports it (first processor block). */
export interface CpuIdentity {
  /** `GenuineIntel`, `AuthenticAMD`, or for Arm the implementer's name (`ARM`, `Ampere`...). */
  readonly vendor?: string;
  readonly modelName?: string;
  /** x86 `cpu family`; Arm `CPU architecture`. */
  readonly family?: number;
  /** x86 `model`; Arm `CPU part`. */
  readonly model?: number;
  /** x86 `stepping`; Arm `CPU revision`. */
  readonly stepping?: number;
  /** x86 `flags`; Arm `Features`. */
  readonly flags: readonly string[];
}

/** Machine architectures the host model recognises. */
export type HostArch = 'x86_64' | 'aarch64' | 'ppc64le' | 's390x' | 'riscv64';

/** What {@link parseCpuinfo} extracts. */
export interface CpuinfoSummary {
  readonly identity: CpuIdentity;
  /** Number of `processor` entries (online CPUs). */
  readonly processors: number;
  /** Architecture implied by the layout, when recognisable. */
  readonly arch?: HostArch;
}

const ARM_IMPLEMENTERS: Readonly<Record<string, string>> = {
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x43': 'Cavium',
  '0x48': 'HiSilicon',
  '0x4e': 'NVIDIA',
  '0x50': 'APM',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
  '0xc0': 'Ampere',
};

const X86_VENDORS = new Set(['GenuineIntel', 'AuthenticAMD', 'HygonGenuine', 'CentaurHauls', 'Shanghai']);

function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  // Arm reports part numbers in hex (`0xd0c`); x86 uses decimal.
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Parses `/proc/cpuinfo`: identity from the first processor block and the processor count. */
export function parseCpuinfo(text: string): CpuinfoSummary {
  const first = new Map<string, string>();
  let processors = 0;
  let inFirst = true;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) {
      if (line.trim() === '' && processors > 0) inFirst = false;
      continue;
    }
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'processor') processors++;
    if (inFirst && !first.has(key)) first.set(key, value);
  }
  const vendorId = first.get('vendor_id');
  const implementer = first.get('CPU implementer')?.toLowerCase();
  if (vendorId !== undefined) {
    return {
      processors,
      ...(X86_VENDORS.has(vendorId) ? { arch: 'x86_64' as const } : {}),
      identity: {
        vendor: vendorId,
        modelName: first.get('model name'),
        family: parseNumber(first.get('cpu family')),
        model: parseNumber(first.get('model')),
        stepping: parseNumber(first.get('stepping')),
        flags: (first.get('flags') ?? '').split(/\s+/).filter((f) => f !== ''),
      },
    };
  }
  if (implementer !== undefined) {
    return {
      processors,
      arch: 'aarch64',
      identity: {
        vendor: ARM_IMPLEMENTERS[implementer] ?? implementer,
        modelName: first.get('model name'),
        family: parseNumber(first.get('CPU architecture')),
        model: parseNumber(first.get('CPU part')),
        stepping: parseNumber(first.get('CPU revision')),
        flags: (first.get('Features') ?? '').split(/\s+/).filter((f) => f !== ''),
      },
    };
  }
  return { processors, identity: { flags: [] } };
}

/** Maps `uname -m`-style names (as in `/proc/sys/kernel/arch`) to a {@link HostArch}. */
export function normalizeArch(text: string): HostArch | undefined {
  const t = text.trim();
  if (t === 'x86_64' || t === 'amd64') return 'x86_64';
  if (t === 'aarch64' || t === 'arm64') return 'aarch64';
  if (t === 'ppc64le' || t === 's390x' || t === 'riscv64') return t;
  return undefined;
}

/**
 * Reads one `kB` field from a `meminfo` file, in KiB. Accepts both `/proc/meminfo`
 * (`MemTotal:  16318860 kB`) and a NUMA node's (`Node 0 MemTotal:  8159430 kB`).
 */
export function parseMeminfoKiB(text: string, field = 'MemTotal'): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^(?:Node \d+ )?([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line.trim());
    if (m?.[1] === field && m[2] !== undefined) return Number(m[2]);
  }
  return undefined;
}

/**
 * Parses the kernel command line into parameters: `key=value` → value, a bare `key` → true.
 * Double-quoted values may contain spaces (`dyndbg="file x.c +p"`). A repeated key keeps its
 * last value, as most kernel parameters do.
 */
export function parseCmdline(text: string): Map<string, string | true> {
  const params = new Map<string, string | true>();
  const tokens = text.trim().match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq < 0) {
      params.set(token, true);
      continue;
    }
    const value = token.slice(eq + 1);
    params.set(token.slice(0, eq), value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);
  }
  return params;
}
