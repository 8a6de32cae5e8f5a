/**
 * Get Sensor Reading (04h/2Dh) and the reading as an operator sees it: value in units, status
 * from the BMC's threshold comparison bits, discrete states with their names, "unavailable".
 */
import type { ReadingStatus } from 'vpmd';
import type { IpmiResponse } from '../codec/message.js';
import type { IpmiSession, RequestSpec } from '../session/session.js';
import { convertReading, type Conversion } from './sdr-record.js';
import { convertThresholds, type CachedSensor } from './sdr-repository.js';
import { discreteStateText, sensorTypeName } from './sensor-text.js';

/** ipmitool's short status: ok, nc (non-critical), cr (critical), nr (non-recoverable), ns (no reading). */
export type IpmiStatus = 'ok' | 'nc' | 'cr' | 'nr' | 'ns';

/** One sensor's reading. */
export interface SensorReading {
  readonly name: string;
  readonly number: number;
  readonly type: string;
  /** Converted value; for a discrete sensor the asserted state bits; null when unavailable. */
  readonly value: number | null;
  /** Unit name as ipmitool prints it (`degrees C`, `Volts`), `discrete` for discrete sensors. */
  readonly unit: string;
  readonly status: ReadingStatus;
  readonly ipmiStatus: IpmiStatus;
  readonly discrete: boolean;
  /** Names of asserted states (discrete sensors). */
  readonly states: readonly string[];
  /** Thresholds converted to the sensor's unit (threshold sensors). */
  readonly thresholds: Readonly<Partial<Record<'lnr' | 'lc' | 'lnc' | 'unc' | 'uc' | 'unr', number>>>;
  /** Why there is no reading when its request got no answer (the error's message). */
  readonly reason?: string;
  /** The fault named for a lost reading ('did not answer', 'malformed reply', ...). */
  readonly fault?: string;
}

/**
 * What a reading takes from its record, worked out once per cached record: a sweep of 1,000
 * BMCs reads thousands, and each should touch as little memory as it can.
 */
interface SensorView {
  readonly name: string;
  readonly number: number;
  readonly type: string;
  readonly unit: string;
  readonly analog: boolean;
  readonly thresholds: SensorReading['thresholds'];
  readonly conversion: Conversion | undefined;
  readonly eventReadingType: number;
  readonly sensorType: number;
  /** Its Get Sensor Reading request. */
  readonly request: RequestSpec;
  /**
   * Converted values by raw byte, filled as raw values are seen: converting costs a
   * toPrecision round trip (~250 ns), and a sensor reports only a few distinct raw values.
   */
  readonly values: Map<number, number | null>;
  /** Names of the asserted states by state bits (discrete sensors), filled likewise. */
  readonly states: Map<number, readonly string[]>;
}

const NO_STATES: readonly string[] = Object.freeze([]);
const NO_THRESHOLDS: SensorReading['thresholds'] = Object.freeze({});
/** Views of a cache's sensors and their requests, index for index: one lookup per poll, not per reading. */
const VIEWS = new WeakMap<
  readonly CachedSensor[],
  { readonly views: readonly SensorView[]; readonly requests: readonly RequestSpec[] }
>();
/** Views of single sensors ({@link interpretReading} outside a poll). */
const SINGLE = new WeakMap<CachedSensor, SensorView>();

function makeView(sensor: CachedSensor): SensorView {
  const rec = sensor.record;
  const analog = rec.conversion !== undefined && rec.eventReadingType === 0x01;
  return {
    name: rec.name,
    number: rec.number,
    type: sensorTypeName(rec.sensorType),
    unit: analog ? (rec.percentage ? '%' : rec.unit) : 'discrete',
    analog,
    thresholds: analog ? Object.freeze(convertThresholds(rec, sensor.thresholds)) : NO_THRESHOLDS,
    conversion: rec.conversion,
    eventReadingType: rec.eventReadingType,
    sensorType: rec.sensorType,
    request: { netFn: 0x04, cmd: 0x2d, data: Uint8Array.of(rec.number), rsLun: rec.ownerLun },
    values: new Map(),
    states: new Map(),
  };
}

function viewsOf(sensors: readonly CachedSensor[]): {
  readonly views: readonly SensorView[];
  readonly requests: readonly RequestSpec[];
} {
  let v = VIEWS.get(sensors);
  if (v === undefined) {
    const views = sensors.map(makeView);
    v = { views, requests: views.map((x) => x.request) };
    VIEWS.set(sensors, v);
  }
  return v;
}

/** Status of a threshold sensor from byte 3 of Get Sensor Reading. */
export function thresholdStatus(bits: number): { status: ReadingStatus; ipmi: IpmiStatus } {
  if (bits & 0x24) return { status: 'critical', ipmi: 'nr' };
  if (bits & 0x12) return { status: 'critical', ipmi: 'cr' };
  if (bits & 0x09) return { status: 'warning', ipmi: 'nc' };
  return { status: 'ok', ipmi: 'ok' };
}

/** Turns a Get Sensor Reading response (or its completion code) into a reading. */
export function interpretReading(sensor: CachedSensor, cc: number, data: Buffer): SensorReading {
  let v = SINGLE.get(sensor);
  if (v === undefined) SINGLE.set(sensor, (v = makeView(sensor)));
  return interpret(v, cc, data);
}

function interpret(v: SensorView, cc: number, data: Buffer): SensorReading {
  const flags = data[1] ?? 0;
  let value: number | null = null;
  let status: ReadingStatus = 'unavailable';
  let ipmiStatus: IpmiStatus = 'ns';
  let states = NO_STATES;
  // No answer, "reading unavailable" (bit 5) or scanning disabled (bit 6 clear): no value.
  const readable = cc === 0 && data.length >= 2 && (flags & 0x20) === 0 && (flags & 0x40) !== 0;
  if (readable && v.analog && v.conversion !== undefined) {
    const raw = data[0] ?? 0;
    const known = v.values.get(raw);
    if (known !== undefined) value = known;
    else {
      value = convertReading(raw, v.conversion);
      if (v.values.size < 256) v.values.set(raw, value);
    }
    if (value !== null) {
      const bits = data[2] ?? 0;
      // As thresholdStatus(), without an object per reading.
      status = bits & 0x36 ? 'critical' : bits & 0x09 ? 'warning' : 'ok';
      ipmiStatus = bits & 0x24 ? 'nr' : bits & 0x12 ? 'cr' : bits & 0x09 ? 'nc' : 'ok';
    }
  } else if (readable) {
    const bits = (data[2] ?? 0) | (((data[3] ?? 0) & 0x7f) << 8);
    if (bits !== 0) states = v.states.get(bits) ?? stateNames(v, bits);
    value = bits;
    status = 'ok';
    ipmiStatus = 'ok';
  }
  return {
    name: v.name,
    number: v.number,
    type: v.type,
    unit: v.unit,
    discrete: !v.analog,
    thresholds: v.thresholds,
    value,
    status,
    ipmiStatus,
    states,
  };
}

function stateNames(v: SensorView, bits: number): readonly string[] {
  const names: string[] = [];
  for (let i = 0; i < 15; i++) {
    if (bits & (1 << i)) names.push(discreteStateText(v.eventReadingType, v.sensorType, i) ?? `State ${i} asserted`);
  }
  const frozen = Object.freeze(names);
  if (v.states.size < 64) v.states.set(bits, frozen);
  return frozen;
}

/** Reads one sensor. A failed or refused reading is returned as unavailable, never thrown. */
export async function readSensor(s: IpmiSession, sensor: CachedSensor): Promise<SensorReading> {
  const r = await s.request(0x04, 0x2d, [sensor.record.number], sensor.record.ownerLun);
  return interpretReading(sensor, r.cc, r.data);
}

const NO_DATA = Buffer.alloc(0);

/**
 * Reads every sensor, several in flight at once on the one session (bounded by the session).
 * A request lost after its retransmits costs that reading (unavailable, with the reason); only
 * when every one is lost, or the session closed, does the read fail.
 */
export async function readSensors(s: IpmiSession, sensors: readonly CachedSensor[]): Promise<SensorReading[]> {
  // One batch, not one promise per reading: a sweep of 1,000 BMCs makes thousands.
  return interpretAnswers(sensors, await s.requestEach(viewsOf(sensors).requests));
}

/**
 * The readings from Get Sensor Reading answers (or each one's error), index for index with
 * `sensors`, as {@link readSensors} makes them: a lost answer is an unavailable reading with its
 * reason; all of them lost, or a closed session, throws.
 */
export function interpretAnswers(
  sensors: readonly CachedSensor[],
  answers: ReadonlyArray<IpmiResponse | Error>,
): SensorReading[] {
  const { views } = viewsOf(sensors);
  let lost = 0;
  let firstError: Error | undefined;
  const readings = answers.map((r, i) => {
    const v = views[i] as SensorView;
    if (!(r instanceof Error)) return interpret(v, r.cc, r.data);
    lost++;
    firstError ??= r;
    if ((r as { code?: string }).code === 'E_IPMI_SESSION') throw r;
    const fault = (r as { details?: { fault?: unknown } }).details?.fault;
    return {
      ...interpret(v, 0xff, NO_DATA),
      reason: r.message,
      ...(typeof fault === 'string' ? { fault } : {}),
    };
  });
  if (firstError !== undefined && lost === answers.length) throw firstError;
  return readings;
}
