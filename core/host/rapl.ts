/**
 * RAPL energy domains under `/sys/class/powercap` (`intel-rapl:N`, `intel-rapl:N:M`, and the
 * `amd-rapl` naming of newer kernels on AMD). Raw values stay in the kernel's µJ / µW / µs;
 * {@link EnergyCounter} and the host telemetry convert to J and W.
 */
import { VpmdError } from '../errors.js';
import { FaultLog, type HostFault } from './host-faults.js';
import { attrInt, attrList, attrText } from './sysfs-attr.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath, readInt } from './sysfs-read.js';

/** Directory of powercap zones. */
export const POWERCAP_DIR = 'sys/class/powercap';

const ZONE = /^([a-z-]*rapl[a-z-]*):(\d+(?::\d+)*)$/;

/** One power limit of a domain (`constraint_K_*`). */
export interface RaplConstraint {
  readonly index: number;
  /** `long_term`, `short_term`, `peak_power`. */
  readonly name: string;
  readonly powerLimitUw?: number;
  readonly timeWindowUs?: number;
  readonly maxPowerUw?: number;
}

/** One RAPL domain. */
export interface RaplDomain {
  /** Zone directory name, e.g. `intel-rapl:0` or `intel-rapl:0:0`. */
  readonly id: string;
  /** Kernel name: `package-0`, `dram`, `core`, `uncore`, `psys`. */
  readonly name: string;
  /** Unique readable key: the name, prefixed by the parent's for sub-domains (`package-0/dram`). */
  readonly key: string;
  /** Parent zone id for sub-domains. */
  readonly parent?: string;
  readonly path: string;
  /** Raw cumulative energy in µJ; undefined when the file is not readable (mode 0400, not root). */
  readonly energyUj?: number;
  readonly maxEnergyRangeUj: number;
  readonly enabled?: boolean;
  readonly constraints: readonly RaplConstraint[];
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** One RAPL zone as read: any attribute may be unavailable. */
export type RaplZoneReading = Omit<RaplDomain, 'maxEnergyRangeUj' | 'name' | 'faults'> & {
  /** Kernel name, undefined when `name` cannot be read (the key then uses the id). */
  readonly name?: string;
  readonly maxEnergyRangeUj?: number;
  /** `intel-rapl-mmio` zones are the same domains read through MMIO (Tiger Lake and later). */
  readonly mmio: boolean;
  readonly degraded: boolean;
  readonly faults: readonly HostFault[];
};

/** Every RAPL zone found. */
export interface RaplSurvey {
  readonly zones: readonly RaplZoneReading[];
  /** Faults of discovery itself (an unlistable powercap directory). */
  readonly faults: readonly HostFault[];
}

/** Lists RAPL zone ids in natural order (parents before their children). */
export async function listRaplZones(backend: SysfsBackend, log: FaultLog = new FaultLog()): Promise<string[]> {
  return (await attrList(backend, POWERCAP_DIR, log)).filter((n) => ZONE.test(n));
}

/** Reads a zone's raw energy counter in µJ (throws when unreadable, e.g. EACCES without root). */
export async function readEnergyUj(backend: SysfsBackend, id: string): Promise<number> {
  return readInt(backend, `${POWERCAP_DIR}/${id}/energy_uj`);
}

async function readConstraints(
  backend: SysfsBackend,
  base: string,
  files: readonly string[],
  log: FaultLog,
): Promise<RaplConstraint[]> {
  const indices = [
    ...new Set(
      files
        .map((f) => /^constraint_(\d+)_(?:name|power_limit_uw)$/.exec(f)?.[1])
        .filter((i): i is string => i !== undefined)
        .map(Number),
    ),
  ].sort((a, b) => a - b);
  return Promise.all(
    indices.map(async (index) => {
      const prefix = `${base}/constraint_${index}`;
      const [name, powerLimitUw, timeWindowUs, maxPowerUw] = await Promise.all([
        attrText(backend, `${prefix}_name`, log, { required: true }),
        attrInt(backend, `${prefix}_power_limit_uw`, log, { required: true }),
        attrInt(backend, `${prefix}_time_window_us`, log),
        attrInt(backend, `${prefix}_max_power_uw`, log),
      ]);
      return { index, name: name ?? `constraint_${index}`, powerLimitUw, timeWindowUs, maxPowerUw };
    }),
  );
}

async function readZone(backend: SysfsBackend, id: string): Promise<Omit<RaplZoneReading, 'key'>> {
  const path = `${POWERCAP_DIR}/${id}`;
  const log = new FaultLog();
  const req = { required: true };
  const [files, name, energyUj, maxEnergyRangeUj, enabled] = await Promise.all([
    attrList(backend, path, log),
    attrText(backend, `${path}/name`, log, req),
    // Root-only since Linux 5.10 (PLATYPUS): EACCES is recorded like any other fault.
    attrInt(backend, `${path}/energy_uj`, log, req),
    attrInt(backend, `${path}/max_energy_range_uj`, log, req),
    attrInt(backend, `${path}/enabled`, log),
  ]);
  const parts = id.split(':');
  const parent = parts.length > 2 ? parts.slice(0, -1).join(':') : undefined;
  const constraints = await readConstraints(backend, path, files, log);
  const faults = [...log.faults];
  return {
    id,
    ...(name === undefined ? {} : { name }),
    ...(parent === undefined ? {} : { parent }),
    path,
    energyUj,
    ...(maxEnergyRangeUj === undefined ? {} : { maxEnergyRangeUj }),
    enabled: enabled === undefined ? undefined : enabled !== 0,
    constraints,
    mmio: parts[0]?.endsWith('-mmio') ?? false,
    degraded: faults.length > 0,
    faults,
  };
}

/** Unique readable keys: `package-0`, `package-0/dram`, `mmio/package-0`, then `-1`, `-2`. */
function zoneKeys(zones: ReadonlyArray<Omit<RaplZoneReading, 'key'>>): string[] {
  const byId = new Map(zones.map((z) => [z.id, z]));
  const base = zones.map((z) => {
    const own = z.name ?? z.id;
    const parentZone = z.parent === undefined ? undefined : byId.get(z.parent);
    const stem = parentZone === undefined ? own : `${parentZone.name ?? parentZone.id}/${own}`;
    return z.mmio ? `mmio/${stem}` : stem;
  });
  const seen = new Map<string, number>();
  return base.map((k) => {
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    return n === 0 ? k : `${k}-${n}`;
  });
}

/** Reads every RAPL zone with its faults; no zones when the host has no powercap (VMs, Arm). */
export async function surveyRapl(backend: SysfsBackend): Promise<RaplSurvey> {
  const log = new FaultLog();
  const ids = await listRaplZones(backend, log);
  const zones = await Promise.all(ids.map((id) => readZone(backend, id)));
  const keys = zoneKeys(zones);
  return { zones: zones.map((z, i) => ({ ...z, key: keys[i] ?? z.id })), faults: [...log.faults] };
}

/**
 * Reads every RAPL domain that can be metered (its `max_energy_range_uj` is known); zones
 * without it are in {@link surveyRapl}.
 */
export async function readRaplDomains(backend: SysfsBackend): Promise<RaplDomain[]> {
  const { zones } = await surveyRapl(backend);
  return zones.flatMap((z) => {
    if (z.maxEnergyRangeUj === undefined) return [];
    const rest: Record<string, unknown> = { ...z };
    for (const k of ['mmio', 'degraded', 'faults', 'name']) delete rest[k];
    const { faults, name } = z;
    return [
      {
        ...(rest as Omit<RaplDomain, 'name' | 'maxEnergyRangeUj'>),
        name: name ?? z.id,
        maxEnergyRangeUj: z.maxEnergyRangeUj,
        ...(faults.length === 0 ? {} : { faults }),
      },
    ];
  });
}

/**
 * Sets a constraint's power limit in µW and verifies it.
 *
 * @throws VpmdError E_HOST_INVALID for a non-positive limit; E_HOST_NOT_FOUND for an unknown
 *   zone or constraint; E_HOST_VERIFY when the limit read back differs.
 */
export async function setPowerLimit(
  backend: SysfsBackend,
  id: string,
  constraint: number,
  limitUw: number,
): Promise<void> {
  if (!Number.isSafeInteger(limitUw) || limitUw <= 0) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `Power limit for ${id} constraint ${constraint} must be a positive integer in µW, got ${limitUw}`,
      {
        zone: id,
        constraint,
        limitUw,
      },
    );
  }
  const file = `${POWERCAP_DIR}/${id}/constraint_${constraint}_power_limit_uw`;
  await backend.write(file, String(limitUw));
  const readBack = await readInt(backend, file);
  if (readBack !== limitUw) {
    throw new VpmdError('E_HOST_VERIFY', `Wrote ${limitUw} to ${fullPath(backend, file)} but read back ${readBack}`, {
      file: fullPath(backend, file),
      value: String(limitUw),
      readBack: String(readBack),
    });
  }
}
