/**
 * Thermal zones (`/sys/class/thermal/thermal_zoneN`) and hwmon chips (`/sys/class/hwmon/hwmonN`),
 * converted to the telemetry units: °C (from m°C), RPM, W (from µW), V (from mV).
 */
import { isVpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { listIndexed, listOptional, parseIntStrict, readOptional } from './sysfs-read.js';

const THERMAL_DIR = 'sys/class/thermal';
const HWMON_DIR = 'sys/class/hwmon';

/** One thermal zone. */
export interface ThermalZone {
  /** `thermal_zoneN`. */
  readonly id: string;
  readonly index: number;
  /** `x86_pkg_temp`, `acpitz`, `cpu-thermal`... */
  readonly type: string;
  /** Temperature in °C; undefined when the zone cannot be read right now. */
  readonly tempC?: number;
}

/** One hwmon sensor channel (`tempK`, `fanK`, `powerK`, `inK`). */
export interface HwmonChannel {
  /** K of `tempK_input`. */
  readonly index: number;
  /** `tempK_label`, when present (`Package id 0`, `Core 3`, `Tctl`). */
  readonly label?: string;
  /** Reading in the converted unit (°C, RPM, W, V); undefined when unreadable. */
  readonly value?: number;
  /** `_max` threshold in the same unit (temperatures). */
  readonly max?: number;
  /** `_crit` threshold in the same unit (temperatures). */
  readonly crit?: number;
}

/** One hwmon chip. */
export interface HwmonChip {
  /** `hwmonN`. */
  readonly id: string;
  readonly index: number;
  /** Driver name: `coretemp`, `k10temp`, `nct6775`, `power_meter`... */
  readonly name: string;
  /** Temperatures in °C. */
  readonly temps: readonly HwmonChannel[];
  /** Fan speeds in RPM. */
  readonly fans: readonly HwmonChannel[];
  /** Power in W. */
  readonly powers: readonly HwmonChannel[];
  /** Voltages in V. */
  readonly voltages: readonly HwmonChannel[];
}

/** Reads an integer file scaled by `factor`, or undefined when absent or unreadable right now. */
async function readScaled(backend: SysfsBackend, path: string, factor: number): Promise<number | undefined> {
  let text: string | undefined;
  try {
    text = await readOptional(backend, path);
  } catch (e) {
    // Sensors report EIO/ENODATA/EAGAIN while a device sleeps: a gap, not a failure.
    if (isVpmdError(e, 'E_HOST_IO') || isVpmdError(e, 'E_HOST_INVALID')) return undefined;
    throw e;
  }
  return text === undefined ? undefined : parseIntStrict(backend, path, text) * factor;
}

/** Reads every thermal zone. */
export async function readThermalZones(backend: SysfsBackend): Promise<ThermalZone[]> {
  const zones = await listIndexed(backend, THERMAL_DIR, /^thermal_zone(\d+)$/);
  return Promise.all(
    zones.map(async ({ name, index }) => {
      const [type, tempC] = await Promise.all([
        readOptional(backend, `${THERMAL_DIR}/${name}/type`),
        readScaled(backend, `${THERMAL_DIR}/${name}/temp`, 1e-3),
      ]);
      return { id: name, index, type: (type ?? name).trim(), tempC };
    }),
  );
}

const CHANNEL_KINDS = [
  { prefix: 'temp', factor: 1e-3 },
  { prefix: 'fan', factor: 1 },
  { prefix: 'power', factor: 1e-6 },
  { prefix: 'in', factor: 1e-3 },
] as const;

async function readChannels(
  backend: SysfsBackend,
  base: string,
  files: readonly string[],
  prefix: string,
  factor: number,
): Promise<HwmonChannel[]> {
  const input = new RegExp(`^${prefix}(\\d+)_input$`);
  const indices = files
    .map((f) => input.exec(f)?.[1])
    .filter((i): i is string => i !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const has = new Set(files);
  return Promise.all(
    indices.map(async (index) => {
      const stem = `${base}/${prefix}${index}`;
      const [label, value, max, crit] = await Promise.all([
        has.has(`${prefix}${index}_label`) ? readOptional(backend, `${stem}_label`) : undefined,
        readScaled(backend, `${stem}_input`, factor),
        has.has(`${prefix}${index}_max`) ? readScaled(backend, `${stem}_max`, factor) : undefined,
        has.has(`${prefix}${index}_crit`) ? readScaled(backend, `${stem}_crit`, factor) : undefined,
      ]);
      const channel: { index: number; label?: string; value?: number; max?: number; crit?: number } = { index, value };
      if (label !== undefined) channel.label = label.trim();
      if (max !== undefined) channel.max = max;
      if (crit !== undefined) channel.crit = crit;
      return channel;
    }),
  );
}

/** Reads every hwmon chip with its temperature, fan, power and voltage channels. */
export async function readHwmonChips(backend: SysfsBackend): Promise<HwmonChip[]> {
  const chips = await listIndexed(backend, HWMON_DIR, /^hwmon(\d+)$/);
  return Promise.all(
    chips.map(async ({ name: id, index }) => {
      const base = `${HWMON_DIR}/${id}`;
      const [name, files] = await Promise.all([readOptional(backend, `${base}/name`), listOptional(backend, base)]);
      const [temps, fans, powers, voltages] = await Promise.all(
        CHANNEL_KINDS.map((k) => readChannels(backend, base, files, k.prefix, k.factor)),
      );
      return {
        id,
        index,
        name: (name ?? id).trim(),
        temps: temps ?? [],
        fans: fans ?? [],
        powers: powers ?? [],
        voltages: voltages ?? [],
      };
    }),
  );
}
