/**
 * The Sensor resource of a metric, as an object and as its JSON text. A poller reads every
 * sensor on every poll (23 of them in one `$expand`), and most of a Sensor never changes: its
 * links, names, units, thresholds and Oem object. Those are serialised once per metric, into a
 * template that is re-made whenever the metric's definition (name, kind, thresholds, source) or
 * its chassis changes; each request fills in only the reading, its time and the status. Nothing
 * about a reading is kept between requests: every reply shows the latest one.
 */
import { hash } from 'node:crypto';
import type { MetricKind, MetricSnapshot } from 'vpmd';
import { TextBody } from '../http/json-text.js';
import { isoTime, odataType } from './types.js';
import { oemType } from './oem-schema.js';

/** Redfish ReadingType and UCUM units per telemetry kind (kinds without one are not served). */
export const READING: Partial<Record<MetricKind, { type: string; units: string }>> = {
  power: { type: 'Power', units: 'W' },
  energy: { type: 'EnergyJoules', units: 'J' },
  temperature: { type: 'Temperature', units: 'Cel' },
  fan: { type: 'Rotational', units: 'RPM' },
  voltage: { type: 'Voltage', units: 'V' },
  current: { type: 'Current', units: 'A' },
  frequency: { type: 'Frequency', units: 'Hz' },
  utilization: { type: 'Percent', units: '%' },
};

const HEALTH = { ok: 'OK', warning: 'Warning', critical: 'Critical' } as const;
const SENSOR_TYPE = odataType('Sensor');
const SENSOR_OEM_TYPE = oemType('VpmdSensor');

/** The Status of each reading status, as objects and as text (shared: never modified). */
const STATUS = {
  unavailable: Object.freeze({ State: 'UnavailableOffline' }),
  ok: Object.freeze({ State: 'Enabled', Health: HEALTH.ok }),
  warning: Object.freeze({ State: 'Enabled', Health: HEALTH.warning }),
  critical: Object.freeze({ State: 'Enabled', Health: HEALTH.critical }),
} as const;
const STATUS_TEXT = {
  unavailable: JSON.stringify(STATUS.unavailable),
  ok: JSON.stringify(STATUS.ok),
  warning: JSON.stringify(STATUS.warning),
  critical: JSON.stringify(STATUS.critical),
} as const;

/** Which Status a snapshot has: no reading, or a null one, is unavailable. */
function statusOf(m: MetricSnapshot): keyof typeof STATUS {
  const s = m.latest?.status;
  if (!s || s === 'unavailable' || m.latest?.value === null) return 'unavailable';
  return s;
}

/** A Sensor's Thresholds from a metric's, or undefined when it has none. */
function thresholdsBody(t: MetricSnapshot['thresholds']): Record<string, { Reading: number }> | undefined {
  if (t === undefined) return undefined;
  const th: Record<string, { Reading: number }> = {};
  if (t.upperWarning !== undefined) th.UpperCaution = { Reading: t.upperWarning };
  if (t.upperCritical !== undefined) th.UpperCritical = { Reading: t.upperCritical };
  if (t.lowerWarning !== undefined) th.LowerCaution = { Reading: t.lowerWarning };
  if (t.lowerCritical !== undefined) th.LowerCritical = { Reading: t.lowerCritical };
  return Object.keys(th).length > 0 ? th : undefined;
}

/** What a template was made from: compared by identity, so any new definition re-makes it. */
interface Shape {
  readonly chassis: string;
  readonly sensorId: string;
  readonly name: string;
  readonly kind: MetricKind;
  readonly thresholds: MetricSnapshot['thresholds'];
  readonly source: MetricSnapshot['source'];
}

interface Template extends Shape {
  readonly uri: string;
  readonly reading: { type: string; units: string };
  readonly thresholdsBody: Readonly<Record<string, { Reading: number }>> | undefined;
  readonly oem: Readonly<Record<string, unknown>>;
  /** The text up to `"Reading":`. */
  readonly head: string;
  /** `,"Thresholds":{...}` or ''. */
  readonly thresholdsText: string;
  /** `,"Oem":{...}}`: the rest after Status. */
  readonly tail: string;
  /**
   * SHA-1 of every fixed part of the text (head, thresholds, the Status texts, tail): with the
   * reading, its time and the status, the key that determines a body's text (json-text.ts).
   */
  readonly tag: string;
}

function sameShape(t: Shape, chassis: string, sensorId: string, m: MetricSnapshot): boolean {
  return (
    t.chassis === chassis &&
    t.sensorId === sensorId &&
    t.name === m.name &&
    t.kind === m.kind &&
    t.thresholds === m.thresholds &&
    t.source === m.source
  );
}

function template(chassis: string, sensorId: string, m: MetricSnapshot): Template {
  const reading = READING[m.kind];
  if (reading === undefined) throw new Error(`metric ${m.id} of kind ${m.kind} is not a Redfish sensor`);
  const uri = `/redfish/v1/Chassis/${chassis}/Sensors/${sensorId}`;
  const th = thresholdsBody(m.thresholds);
  const oem = Object.freeze({
    Vpmd: Object.freeze({
      '@odata.type': SENSOR_OEM_TYPE,
      MetricId: m.id,
      SourcePlugin: m.source.plugin,
      SourceSensor: m.source.sensor,
    }),
  });
  const fixed = JSON.stringify({
    '@odata.id': uri,
    '@odata.type': SENSOR_TYPE,
    Id: sensorId,
    Name: m.name,
    ReadingType: reading.type,
    ReadingUnits: reading.units,
  });
  const head = `${fixed.slice(0, -1)},"Reading":`;
  const thresholdsText = th ? `,"Thresholds":${JSON.stringify(th)}` : '';
  const tail = `,"Oem":${JSON.stringify(oem)}}`;
  // The parts joined by a character none of them holds as such (JSON escapes it).
  const fixedParts = [head, thresholdsText, ...Object.values(STATUS_TEXT), tail].join('\u0000');
  return {
    chassis,
    sensorId,
    name: m.name,
    kind: m.kind,
    thresholds: m.thresholds,
    source: m.source,
    uri,
    reading,
    thresholdsBody: th && Object.freeze(th),
    oem,
    head,
    thresholdsText,
    tail,
    tag: hash('sha1', fixedParts, 'base64url'),
  };
}

/** Sensor bodies of metrics, with their templates (one per metric id). */
export class SensorBodies {
  private readonly templates = new Map<string, Template>();

  /**
   * The Sensor `sensorId` of chassis `chassis` for metric `m` (whose kind has a {@link READING}),
   * with its JSON text (json-text.ts).
   */
  body(chassis: string, sensorId: string, m: MetricSnapshot): Record<string, unknown> {
    let t = this.templates.get(m.id);
    if (t === undefined || !sameShape(t, chassis, sensorId, m)) {
      // Metrics come and go: a store that is only added to would grow without end.
      if (this.templates.size >= 4096) this.templates.clear();
      t = template(chassis, sensorId, m);
      this.templates.set(m.id, t);
    }
    const latest = m.latest;
    const value = latest?.value ?? null;
    const status = statusOf(m);
    const time = latest ? isoTime(latest.timestamp) : undefined;
    const reading = JSON.stringify(value);
    const body = new TextBody(
      // An ISO time has only digits, '-', ':', '.', '+', 'T' and 'Z': nothing to escape.
      `${t.head}${reading}${time === undefined ? '' : `,"ReadingTime":"${time}"`}` +
        `${t.thresholdsText},"Status":${STATUS_TEXT[status]}${t.tail}`,
      // What the text is made of, apart by '|' (none of the four holds one; a time is never
      // empty): the same key is always the same text, any change of the text changes it.
      `${t.tag}|${reading}|${time ?? ''}|${status}`,
    );
    // Plain properties assigned in the text's order: the two are the same JSON.
    body['@odata.id'] = t.uri;
    body['@odata.type'] = SENSOR_TYPE;
    body.Id = sensorId;
    body.Name = t.name;
    body.ReadingType = t.reading.type;
    body.ReadingUnits = t.reading.units;
    body.Reading = value;
    if (time !== undefined) body.ReadingTime = time;
    if (t.thresholdsBody) body.Thresholds = t.thresholdsBody;
    body.Status = STATUS[status];
    body.Oem = t.oem;
    return body;
  }
}
