/**
 * What `vpmd doctor` reports: one row per power facility, and the privilege facts the checks
 * share (the process's capabilities, whether it may write a root-owned file).
 */
import { readFile, stat } from 'node:fs/promises';

/** `yes`: usable; `degraded`: present but partly unusable; `no`: absent or unusable. */
export type FacilityStatus = 'yes' | 'degraded' | 'no';

/** One facility as `vpmd doctor` lists it. */
export interface Facility {
  /** Stable key (`cpufreq`, `rapl-write`, `logind`...). */
  readonly id: string;
  readonly status: FacilityStatus;
  /** What was found (`intel_pstate active, 8 policies`). */
  readonly found: string;
  /** Why it is not `yes`. */
  readonly why?: string;
  /** What would enable it: root, a module, a kernel parameter, a BIOS setting, a config key. */
  readonly fix?: string;
  /** What the configuration enables that needs it (`core`, `plugins.virtio-channels`). */
  readonly neededBy: readonly string[];
}

/** A facility before the configuration says who needs it. */
export type Finding = Omit<Facility, 'neededBy'>;

/** Linux capability bits vpmd's features need (include/uapi/linux/capability.h). */
export const CAPS = { CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_NET_BIND_SERVICE: 10 } as const;
/** A capability vpmd may need. */
export type CapName = keyof typeof CAPS;

/** The process's identity as the kernel checks file access. */
export interface Privileges {
  readonly uid: number;
  readonly gids: readonly number[];
  /** Effective capabilities (from `/proc/self/status`); all of them for uid 0 when unreadable. */
  readonly caps: ReadonlySet<CapName>;
}

/** Reads the process's uid, groups and effective capabilities. */
export async function readPrivileges(): Promise<Privileges> {
  const uid = process.geteuid?.() ?? -1;
  const gids = [process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])];
  let capEff: bigint | undefined;
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (hex !== undefined) capEff = BigInt(`0x${hex}`);
  } catch {
    // Not Linux, or no /proc: fall back to the uid.
  }
  const caps = new Set<CapName>();
  for (const [name, bit] of Object.entries(CAPS) as [CapName, number][]) {
    if (capEff === undefined ? uid === 0 : (capEff & (1n << BigInt(bit))) !== 0n) caps.add(name);
  }
  return { uid, gids, caps };
}

/**
 * May this process open `path` for writing (or reading)? Decided from the file's mode and owner
 * and the effective capabilities, as the kernel does; `access(2)` would answer for the real uid
 * and drop the ambient capabilities a systemd unit grants, so it is not used.
 */
export async function mayAccess(path: string, mode: 'read' | 'write', p: Privileges): Promise<boolean> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return false;
  }
  if (p.caps.has('CAP_DAC_OVERRIDE')) return mode === 'read' || (st.mode & 0o222) !== 0;
  if (mode === 'read' && p.caps.has('CAP_DAC_READ_SEARCH')) return true;
  const bits = mode === 'write' ? 0o2 : 0o4;
  if (st.uid === p.uid) return (st.mode & (bits << 6)) !== 0;
  if (p.gids.includes(st.gid)) return (st.mode & (bits << 3)) !== 0;
  return (st.mode & bits) !== 0;
}

/** The fix for a file only root (or CAP_DAC_OVERRIDE) may write. */
export const ROOT_FIX =
  'run vpmd as root, or with CAP_DAC_OVERRIDE as the shipped systemd unit does (docs/running-for-real.md)';
