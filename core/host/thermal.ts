/**
 * Thermal zones (`/sys/class/thermal/thermal_zoneN`) and hwmon chips (`/sys/class/hwmon/hwmonN`),
 * converted to the telemetry units: °C (from m°C), RPM, W (from µW), V (from mV).
 */
import { FaultLog, faultsField, type HostFault } from './host-faults.js';
import { attrInt, attrList, attrListIndexed, attrText } from './sysfs-attr.js';
import type { SysfsBackend } from './sysfs-backend.js';

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
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
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
  /** Root-relative directory of the sensor files when not `hwmonN` itself (`hwmonN/device`). */
  readonly path?: string;
  /** Attributes that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

async function scaled(
  backend: SysfsBackend,
  path: string,
  factor: number,
  log: FaultLog,
  required = false,
): Promise<number | undefined> {
  const raw = await attrInt(backend, path, log, { required });
  return raw === undefined ? undefined : raw * factor;
}

/** Reads every thermal zone; a zone whose sensor fails (EIO, ENODATA, EAGAIN) has no `tempC`. */
export async function readThermalZones(
  backend: SysfsBackend,
  discovery: FaultLog = new FaultLog(),
): Promise<ThermalZone[]> {
  const zones = await attrListIndexed(backend, THERMAL_DIR, /^thermal_zone(\d+)$/, discovery);
  return Promise.all(
    zones.map(async ({ name, index }) => {
      const log = new FaultLog();
      const [type, tempC] = await Promise.all([
        attrText(backend, `${THERMAL_DIR}/${name}/type`, log, { required: true }),
        scaled(backend, `${THERMAL_DIR}/${name}/temp`, 1e-3, log, true),
      ]);
      return { id: name, index, type: type ?? name, tempC, ...faultsField(log) };
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
  log: FaultLog,
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
        has.has(`${prefix}${index}_label`) ? attrText(backend, `${stem}_label`, log) : undefined,
        scaled(backend, `${stem}_input`, factor, log, true),
        has.has(`${prefix}${index}_max`) ? scaled(backend, `${stem}_max`, factor, log) : undefined,
        has.has(`${prefix}${index}_crit`) ? scaled(backend, `${stem}_crit`, factor, log) : undefined,
      ]);
      const channel: { index: number; label?: string; value?: number; max?: number; crit?: number } = { index, value };
      if (label !== undefined && label !== '') channel.label = label;
      if (max !== undefined) channel.max = max;
      if (crit !== undefined) channel.crit = crit;
      return channel;
    }),
  );
}

const HAS_INPUT = /^(?:temp|fan|power|in)\d+_input$/;

/**
 * Reads every hwmon chip with its temperature, fan, power and voltage channels. Chips of old
 * kernels keep their files in `hwmonN/device/`; those are read there.
 */
export async function readHwmonChips(
  backend: SysfsBackend,
  discovery: FaultLog = new FaultLog(),
): Promise<HwmonChip[]> {
  const chips = await attrListIndexed(backend, HWMON_DIR, /^hwmon(\d+)$/, discovery);
  return Promise.all(
    chips.map(async ({ name: id, index }) => {
      const log = new FaultLog();
      let base = `${HWMON_DIR}/${id}`;
      let files = await attrList(backend, base, log);
      if (!files.some((f) => HAS_INPUT.test(f)) && files.includes('device')) {
        const deviceFiles = await attrList(backend, `${base}/device`, new FaultLog());
        if (deviceFiles.some((f) => HAS_INPUT.test(f))) {
          base = `${base}/device`;
          files = deviceFiles;
        }
      }
      const name = await attrText(backend, `${base}/name`, log, { required: true });
      const [temps, fans, powers, voltages] = await Promise.all(
        CHANNEL_KINDS.map((k) => readChannels(backend, base, files, k.prefix, k.factor, log)),
      );
      return {
        id,
        index,
        name: name ?? id,
        ...(base.endsWith('/device') ? { path: base } : {}),
        temps: temps ?? [],
        fans: fans ?? [],
        powers: powers ?? [],
        voltages: voltages ?? [],
        ...faultsField(log),
      };
    }),
  );
}
