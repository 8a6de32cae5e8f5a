/**
 * RAPL energy domains under `/sys/class/powercap` (`intel-rapl:N`, `intel-rapl:N:M`, and the
 * `amd-rapl` naming of newer kernels on AMD). Raw values stay in the kernel's µJ / µW / µs;
 * {@link EnergyCounter} and the host telemetry convert to J and W.
 */
import { VpmdError, isVpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { fullPath, listOptional, parseIntStrict, readInt, readOptional, readOptionalInt } from './sysfs-read.js';

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
}

/** Lists RAPL zone ids in natural order (parents before their children). */
export async function listRaplZones(backend: SysfsBackend): Promise<string[]> {
  return (await listOptional(backend, POWERCAP_DIR)).filter((n) => ZONE.test(n));
}

/** Reads a zone's raw energy counter in µJ. */
export async function readEnergyUj(backend: SysfsBackend, id: string): Promise<number> {
  return readInt(backend, `${POWERCAP_DIR}/${id}/energy_uj`);
}

async function readEnergyIfReadable(backend: SysfsBackend, id: string): Promise<number | undefined> {
  try {
    return await readEnergyUj(backend, id);
  } catch (e) {
    // Since Linux 5.10 energy_uj is root-only: an unprivileged agent still lists the domains.
    if (isVpmdError(e, 'E_HOST_ACCESS')) return undefined;
    throw e;
  }
}

async function readConstraints(
  backend: SysfsBackend,
  base: string,
  files: readonly string[],
): Promise<RaplConstraint[]> {
  const indices = files
    .map((f) => /^constraint_(\d+)_name$/.exec(f)?.[1])
    .filter((i): i is string => i !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return Promise.all(
    indices.map(async (index) => {
      const prefix = `${base}/constraint_${index}`;
      const [name, powerLimitUw, timeWindowUs, maxPowerUw] = await Promise.all([
        readOptional(backend, `${prefix}_name`),
        readOptionalInt(backend, `${prefix}_power_limit_uw`),
        readOptionalInt(backend, `${prefix}_time_window_us`),
        readOptionalInt(backend, `${prefix}_max_power_uw`),
      ]);
      return { index, name: (name ?? '').trim(), powerLimitUw, timeWindowUs, maxPowerUw };
    }),
  );
}

async function readDomain(backend: SysfsBackend, id: string, names: ReadonlyMap<string, string>): Promise<RaplDomain> {
  const path = `${POWERCAP_DIR}/${id}`;
  const [files, name, energyUj, maxEnergyRangeUj, enabled] = await Promise.all([
    backend.list(path),
    backend.read(`${path}/name`),
    readEnergyIfReadable(backend, id),
    readInt(backend, `${path}/max_energy_range_uj`),
    readOptional(backend, `${path}/enabled`),
  ]);
  const parts = id.split(':');
  const parent = parts.length > 2 ? parts.slice(0, -1).join(':') : undefined;
  const parentName = parent === undefined ? undefined : names.get(parent);
  const constraints = await readConstraints(backend, path, files);
  return {
    id,
    name: name.trim(),
    key: parentName === undefined ? name.trim() : `${parentName}/${name.trim()}`,
    ...(parent === undefined ? {} : { parent }),
    path,
    energyUj,
    maxEnergyRangeUj,
    enabled: enabled === undefined ? undefined : parseIntStrict(backend, `${path}/enabled`, enabled) !== 0,
    constraints,
  };
}

/** Reads every RAPL domain; an empty list when the host has no powercap (VMs, Arm). */
export async function readRaplDomains(backend: SysfsBackend): Promise<RaplDomain[]> {
  const ids = await listRaplZones(backend);
  const names = new Map(
    await Promise.all(ids.map(async (id) => [id, (await backend.read(`${POWERCAP_DIR}/${id}/name`)).trim()] as const)),
  );
  return Promise.all(ids.map((id) => readDomain(backend, id, names)));
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
