/**
 * Sensors and SEL entries of a simulated BMC, and their rendering into the two languages
 * ipmi_sim needs: sdrcomp's SDR text (`sdr type N` ... `endsdr`) and emulator commands
 * (`sensor_add`, `sensor_set_value`, ...). Values are raw bytes, as a real BMC reports them;
 * the SDR's M, B and exponents turn them into units: value = (M*raw + B*10^bExp) * 10^rExp.
 */
import { peerOptionsError } from './peer-errors.js';

const PEER = 'ipmi_sim';

/** Sensor types (IPMI table 42-3), by sdrcomp's names. */
export const SIM_SENSOR_TYPES = {
  Temperature: 0x01,
  Voltage: 0x02,
  Current: 0x03,
  Fan: 0x04,
  Physical_Security: 0x05,
  Processor: 0x07,
  Power_Supply: 0x08,
  Power_Unit: 0x09,
  Cooling_Device: 0x0a,
  Other_Units_Based_Sensor: 0x0b,
  Memory: 0x0c,
  Button_Switch: 0x14,
  System_ACPI_Power_State: 0x22,
  Watchdog_2: 0x23,
  Entity_Presence: 0x25,
} as const;
/** A sensor type name sdrcomp understands. */
export type SimSensorType = keyof typeof SIM_SENSOR_TYPES;

/** Base units (IPMI table 43-15), by sdrcomp's names. */
export type SimSensorUnit =
  | 'unspecified'
  | 'degrees_C'
  | 'degrees_F'
  | 'degrees_K'
  | 'Volts'
  | 'Amps'
  | 'Watts'
  | 'Joules'
  | 'CFM'
  | 'RPM'
  | 'Hz';

/** Entity ids (IPMI table 43-13), by sdrcomp's names. */
export type SimEntity =
  | 'system_board'
  | 'processor'
  | 'memory_module'
  | 'power_supply'
  | 'power_unit'
  | 'fan_cooling_device'
  | 'cooling_unit'
  | 'system_chassis'
  | 'external_environment';

/** Raw threshold bytes; omitted ones are not supported by the sensor. */
export interface SimThresholds {
  readonly lnr?: number;
  readonly lc?: number;
  readonly lnc?: number;
  readonly unc?: number;
  readonly uc?: number;
  readonly unr?: number;
}

/** A threshold-based sensor with a linear conversion (full SDR, type 01h). */
export interface SimAnalogSensor {
  readonly kind: 'analog';
  /** Sensor number, 1..254, unique per BMC. */
  readonly number: number;
  /** ID string, 1..16 ASCII characters with at least one lower-case letter (see docs). */
  readonly name: string;
  readonly type: SimSensorType;
  readonly unit: SimSensorUnit;
  /** Default system_board. */
  readonly entity?: SimEntity;
  /** Multiplier M, -512..511. */
  readonly m: number;
  /** Offset B, -512..511; default 0. */
  readonly b?: number;
  /** Result exponent R (K2), -8..7; default 0. */
  readonly rExp?: number;
  /** B exponent (K1), -8..7; default 0. */
  readonly bExp?: number;
  /** Initial raw reading, 0..255. */
  readonly raw: number;
  readonly thresholds?: SimThresholds;
}

/** A discrete sensor (compact SDR, type 02h) with some states asserted. */
export interface SimDiscreteSensor {
  readonly kind: 'discrete';
  readonly number: number;
  readonly name: string;
  readonly type: SimSensorType;
  readonly entity?: SimEntity;
  /** Event/reading type code: 0x02..0x0c generic, 0x6f sensor-specific. */
  readonly eventReadingType: number;
  /** State offsets (0..14) asserted at start. */
  readonly asserted?: readonly number[];
}

/** Any simulated sensor. */
export type SimSensorSpec = SimAnalogSensor | SimDiscreteSensor;

/** One SEL record (type 02h); its generator is the BMC and its timestamp the time of adding. */
export interface SimSelEntry {
  /** Sensor type code, e.g. 0x01 temperature. */
  readonly sensorType: number;
  readonly sensorNumber: number;
  /** Event/reading type; bit 7 set = deassertion. */
  readonly eventType: number;
  /** Event data 1..3. */
  readonly data: readonly [number, number, number];
}

/**
 * The default sensor set: a temperature (°C, M=1), a fan (RPM, M=50), a 12 V rail (M=7,
 * R=-2), input power (W, M=4) and a discrete power-supply status, with thresholds.
 */
export const DEFAULT_SIM_SENSORS: readonly SimSensorSpec[] = [
  {
    kind: 'analog',
    number: 1,
    name: 'Inlet Temp',
    type: 'Temperature',
    unit: 'degrees_C',
    entity: 'external_environment',
    m: 1,
    raw: 24,
    thresholds: { lnc: 5, lc: 3, unc: 38, uc: 42, unr: 45 },
  },
  {
    kind: 'analog',
    number: 2,
    name: 'Fan 1',
    type: 'Fan',
    unit: 'RPM',
    entity: 'fan_cooling_device',
    m: 50,
    raw: 96,
    thresholds: { lnc: 16, lc: 12 },
  },
  {
    kind: 'analog',
    number: 3,
    name: '12V Rail',
    type: 'Voltage',
    unit: 'Volts',
    entity: 'power_supply',
    m: 7,
    rExp: -2,
    raw: 171,
    thresholds: { lc: 154, uc: 189 },
  },
  {
    kind: 'analog',
    number: 4,
    name: 'Pwr Consumption',
    type: 'Current',
    unit: 'Watts',
    entity: 'power_supply',
    m: 4,
    raw: 55,
    thresholds: { unc: 175, uc: 200 },
  },
  {
    kind: 'discrete',
    number: 5,
    name: 'PSU1 Status',
    type: 'Power_Supply',
    entity: 'power_supply',
    eventReadingType: 0x6f,
    asserted: [0],
  },
];

/** The default SEL: inlet temperature upper non-critical, fan lower critical, PSU presence. */
export const DEFAULT_SIM_SEL: readonly SimSelEntry[] = [
  { sensorType: 0x01, sensorNumber: 1, eventType: 0x01, data: [0x57, 40, 38] },
  { sensorType: 0x04, sensorNumber: 2, eventType: 0x01, data: [0x52, 10, 12] },
  { sensorType: 0x08, sensorNumber: 5, eventType: 0x6f, data: [0x00, 0xff, 0xff] },
];

const THRESHOLD_ORDER = ['unr', 'uc', 'unc', 'lnr', 'lc', 'lnc'] as const;

/**
 * The address every simulated BMC has for its LAN clients. ipmi_sim hands a LAN request to the
 * controller owning that LAN channel whatever its rsAddr, so each BMC answers as 0x20, like a
 * real one. SDRs name 0x20 as sensor owner: FreeIPMI bridges over IPMB to any other owner and
 * then reads nothing.
 */
export const BMC_ADDRESS = 0x20;

/** Formats a byte the way ipmi_sim's command parser wants it (C syntax). */
export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

function checkInt(key: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw peerOptionsError(PEER, key, value, `an integer from ${min} to ${max}`);
  }
}

/**
 * Validates a sensor list. Names need a lower-case letter: sdrcomp packs all-caps names as
 * 6-bit ASCII, which ipmitool and FreeIPMI print as garbage.
 * @throws VpmdError (options) naming the bad field
 */
export function checkSensors(sensors: readonly SimSensorSpec[]): void {
  const seen = new Set<number>();
  sensors.forEach((s, i) => {
    const at = `sensors[${i}]`;
    checkInt(`${at}.number`, s.number, 1, 254);
    if (seen.has(s.number))
      throw peerOptionsError(PEER, `${at}.number`, s.number, 'a sensor number not used by another sensor');
    seen.add(s.number);
    if (
      typeof s.name !== 'string' ||
      !/^[\x20-\x7e]{1,16}$/.test(s.name) ||
      /["\\]/.test(s.name) ||
      !/[a-z]/.test(s.name)
    ) {
      throw peerOptionsError(
        PEER,
        `${at}.name`,
        s.name,
        '1-16 printable ASCII characters without " or \\, at least one lower-case',
      );
    }
    if (!(s.type in SIM_SENSOR_TYPES))
      throw peerOptionsError(PEER, `${at}.type`, s.type, Object.keys(SIM_SENSOR_TYPES).join(', '));
    if (s.kind === 'analog') {
      checkInt(`${at}.m`, s.m, -512, 511);
      checkInt(`${at}.b`, s.b ?? 0, -512, 511);
      checkInt(`${at}.rExp`, s.rExp ?? 0, -8, 7);
      checkInt(`${at}.bExp`, s.bExp ?? 0, -8, 7);
      checkInt(`${at}.raw`, s.raw, 0, 255);
      for (const key of THRESHOLD_ORDER) {
        const value = s.thresholds?.[key];
        if (value !== undefined) checkInt(`${at}.thresholds.${key}`, value, 0, 255);
      }
    } else {
      checkInt(`${at}.eventReadingType`, s.eventReadingType, 0x02, 0x7f);
      (s.asserted ?? []).forEach((offset, j) => checkInt(`${at}.asserted[${j}]`, offset, 0, 14));
    }
  });
}

/** Validates SEL entries (all fields are bytes). */
export function checkSel(entries: readonly SimSelEntry[]): void {
  entries.forEach((e, i) => {
    checkInt(`sel[${i}].sensorType`, e.sensorType, 0, 255);
    checkInt(`sel[${i}].sensorNumber`, e.sensorNumber, 0, 255);
    checkInt(`sel[${i}].eventType`, e.eventType, 0, 255);
    e.data.forEach((d, j) => checkInt(`sel[${i}].data[${j}]`, d, 0, 255));
  });
}

function analogSdr(s: SimAnalogSensor, owner: number): string[] {
  const t = s.thresholds ?? {};
  const given = THRESHOLD_ORDER.filter((k) => t[k] !== undefined);
  const lines = [
    'sdr type 1',
    ...common(s, owner),
    'init_scanning true',
    'init_events true',
    'init_thresholds true',
    'init_sensor_type true',
    'default_event_gen_on true',
    'default_sensor_scan_on true',
    'sensor_auto_rearm true',
    `sensor_threshold_access ${given.length > 0 ? 'readable' : 'no'}`,
    'event_reading_type_code 1',
    'analog_data_format unsigned',
    'rate_unit none',
    'modifier_unit none',
    'percentage false',
    `base_unit ${s.unit}`,
    'modifier_unit_code unspecified',
    'linearization linear',
    `m ${s.m}`,
    'tolerance 0',
    `b ${s.b ?? 0}`,
    'accuracy 0',
    'accuracy_exp 0',
    'sensor_direction input',
    `r_exp ${s.rExp ?? 0}`,
    `b_exp ${s.bExp ?? 0}`,
    'sensor_maximum 255',
    'sensor_minimum 0',
  ];
  for (const key of given) {
    lines.push(`${key}_thrsh_readable true`, `${key}_thresh ${t[key] ?? 0}`);
    // Assertion masks: upper thresholds event going high, lower ones going low.
    lines.push(`assert_${key}g${key.startsWith('u') ? 'h' : 'l'} true`);
  }
  lines.push(`id_string "${s.name}"`, 'endsdr');
  return lines;
}

function discreteSdr(s: SimDiscreteSensor, owner: number): string[] {
  return [
    'sdr type 2',
    ...common(s, owner),
    'init_scanning true',
    'init_sensor_type true',
    'default_sensor_scan_on true',
    `event_reading_type_code ${hex(s.eventReadingType)}`,
    ...(s.asserted ?? []).map((offset) => `event${offset}_state_ret true`),
    `id_string "${s.name}"`,
    'endsdr',
  ];
}

function common(s: SimSensorSpec, owner: number): string[] {
  return [
    `sensor_owner_id ${hex(owner)}`,
    'sensor_owner_lun 0',
    'channel_number 0',
    `sensor_number ${s.number}`,
    `entity_id ${s.entity ?? 'system_board'}`,
    'entity_instance 1',
    `sensor_type ${s.type}`,
  ];
}

/** sdrcomp input describing `sensors` as owned by the BMC ({@link BMC_ADDRESS}). */
export function renderSdrSource(sensors: readonly SimSensorSpec[]): string {
  const records = sensors.map((s) => (s.kind === 'analog' ? analogSdr(s, BMC_ADDRESS) : discreteSdr(s, BMC_ADDRESS)));
  return `# SDRs of a simulated BMC, written by vpmd's test kit\n${records.map((r) => r.join('\n')).join('\n\n')}\n`;
}

/**
 * Emulator commands that create `sensors` on the controller at `mc` and set their readings.
 * Scanning is switched on explicitly: ipmi_sim initialises a sensor from an SDR only when the
 * SDR's owner is the controller's own address, and ours all say {@link BMC_ADDRESS}.
 */
export function renderSensorCommands(sensors: readonly SimSensorSpec[], mc: number): string[] {
  const noEvents = Array<string>(4).fill('0'.repeat(15)).join(' ');
  const lines: string[] = [];
  for (const s of sensors) {
    const id = `${hex(mc)} 0 ${s.number}`;
    if (s.kind === 'analog') {
      lines.push(`sensor_add ${id} ${hex(SIM_SENSOR_TYPES[s.type])} 0x01`);
      lines.push(`sensor_set_event_support ${id} enable scanning per-state ${noEvents}`);
      const t = s.thresholds ?? {};
      if (THRESHOLD_ORDER.some((k) => t[k] !== undefined)) {
        const enabled = THRESHOLD_ORDER.map((k) => (t[k] === undefined ? '0' : '1')).join('');
        const values = THRESHOLD_ORDER.map((k) => String(t[k] ?? 0)).join(' ');
        lines.push(`sensor_set_threshold ${id} readable ${enabled} ${values}`);
      }
      lines.push(`sensor_set_value ${id} ${s.raw} 0`);
    } else {
      lines.push(`sensor_add ${id} ${hex(SIM_SENSOR_TYPES[s.type])} ${hex(s.eventReadingType)}`);
      lines.push(`sensor_set_event_support ${id} enable scanning per-state ${noEvents}`);
      for (const offset of s.asserted ?? []) lines.push(`sensor_set_bit ${id} ${offset} 1 0`);
    }
  }
  return lines;
}

/** Emulator commands that add `entries` to the SEL of the controller at `mc`. */
export function renderSelCommands(entries: readonly SimSelEntry[], mc: number): string[] {
  // sel_add takes 13 bytes: 4 (timestamp, replaced by ipmi_sim), generator id (the BMC),
  // generator channel/LUN, EvM revision 0x04, sensor type, sensor number, event type, data 1-3.
  return entries.map((e) =>
    [
      'sel_add',
      hex(mc),
      '0x02',
      '0',
      '0',
      '0',
      '0',
      hex(BMC_ADDRESS),
      '0x00',
      '0x04',
      hex(e.sensorType),
      hex(e.sensorNumber),
      hex(e.eventType),
      ...e.data.map(hex),
    ].join(' '),
  );
}
