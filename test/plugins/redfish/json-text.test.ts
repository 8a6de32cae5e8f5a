/**
 * Pre-serialised Sensor bodies (resources/sensor-body.ts) and their splicing into replies
 * (http/json-text.ts): the text a reply sends is always exactly `JSON.stringify` of the body,
 * for every kind of reading, after a definition changes, and inside `$expand`/`$select` results.
 */
import { describe, expect, it } from 'vitest';
import type { MetricSnapshot } from '../../../core/index.js';
import { SensorBodies } from '../../../plugins/redfish/resources/sensor-body.js';
import { Built, jsonText } from '../../../plugins/redfish/http/json-text.js';
import { applyQuery, parseQueryOptions, type Resolver } from '../../../plugins/redfish/http/query.js';
import type { Resource } from '../../../plugins/redfish/http/router.js';

const T0 = Date.UTC(2026, 11, 7, 15, 0, 0, 123);

function metric(over: Partial<MetricSnapshot> = {}): MetricSnapshot {
  return {
    id: 'host/rapl/package-0/power',
    name: 'CPU package 0 power',
    kind: 'power',
    unit: 'W',
    source: { plugin: 'host', target: 'host', sensor: 'rapl' },
    latest: { value: 42.5, status: 'ok', timestamp: T0 },
    ...over,
  };
}

describe('Sensor bodies from templates', () => {
  const variants: Array<[string, Partial<MetricSnapshot>]> = [
    ['a reading', {}],
    ['no reading yet', { latest: undefined }],
    ['a null (unavailable) reading', { latest: { value: null, status: 'unavailable', timestamp: T0 } }],
    ['a warning', { latest: { value: -0.000001, status: 'warning', timestamp: T0 + 1 } }],
    ['a critical reading', { latest: { value: 1e21, status: 'critical', timestamp: T0 + 999 } }],
    ['a value that is not finite', { latest: { value: Number.NaN, status: 'ok', timestamp: T0 } }],
    ['thresholds', { thresholds: { upperWarning: 80, upperCritical: 95, lowerWarning: 5, lowerCritical: 1 } }],
    ['empty thresholds', { thresholds: {} }],
    ['a name that needs escaping', { name: 'Fan "A" \\ \u0001 ünï 🌡' }],
    ['another kind', { kind: 'temperature', unit: 'Cel', id: 'host/hwmon/coretemp/temp1' }],
  ];
  it.each(variants)('gives exactly JSON.stringify of the body for %s', (_what, over) => {
    const sensors = new SensorBodies();
    const body = sensors.body('host', 'host-rapl-package-0-power', metric(over));
    expect(jsonText(body)).toBe(JSON.stringify(body));
    expect(JSON.parse(jsonText(body))).toEqual(JSON.parse(JSON.stringify(body)));
  });

  it('never sends a changed copy with the text of the original', () => {
    const body = new SensorBodies().body('host', 's', metric());
    const copy = { ...body, Reading: 7 };
    expect(jsonText(copy)).toBe(JSON.stringify(copy));
    expect((JSON.parse(jsonText(copy)) as { Reading: number }).Reading).toBe(7);
  });

  it('follows every change of the reading and of the definition with one set of templates', () => {
    const sensors = new SensorBodies();
    const m = metric({ thresholds: { upperWarning: 80 } });
    const changes: MetricSnapshot[] = [
      m,
      { ...m, latest: { value: 43, status: 'ok', timestamp: T0 + 1000 } },
      { ...m, name: 'Renamed' },
      { ...m, thresholds: { upperCritical: 99 } },
      { ...m, source: { plugin: 'ipmi', target: 'host', sensor: 'PSU1' } },
      { ...m, kind: 'energy', unit: 'J' },
    ];
    const texts = new Set<string>();
    for (const c of changes)
      for (const [ch, id] of [
        ['host', 'a'],
        ['bmc-x', 'a'],
        ['host', 'b'],
      ] as const) {
        const body = sensors.body(ch, id, c);
        expect(jsonText(body)).toBe(JSON.stringify(body));
        expect(body['@odata.id']).toBe(`/redfish/v1/Chassis/${ch}/Sensors/${id}`);
        texts.add(jsonText(body));
      }
    // Every change shows: no two (definition, chassis, id) give the same text.
    expect(texts.size).toBe(changes.length * 3);
  });
});

describe('replies with spliced texts', () => {
  const sensors = new SensorBodies();
  const uris = ['a', 'b', 'c'].map((id) => `/redfish/v1/Chassis/host/Sensors/${id}`);
  const bodies = new Map<string, Resource>(
    uris.map((u, i) => [
      u,
      sensors.body(
        'host',
        u.split('/').pop() as string,
        metric({ id: `m${i}`, latest: { value: i, status: 'ok', timestamp: T0 } }),
      ),
    ]),
  );
  const collection: Resource = {
    '@odata.id': '/redfish/v1/Chassis/host/Sensors',
    '@odata.type': '#SensorCollection.SensorCollection',
    Name: 'Sensors',
    Members: uris.map((u) => ({ '@odata.id': u })),
    'Members@odata.count': uris.length,
  };
  const sync: Resolver = (uri) => bodies.get(uri);
  const later: Resolver = (uri) => Promise.resolve(bodies.get(uri));
  const queries = [
    '$expand=.',
    '$expand=*',
    '$expand=.($levels=2)',
    '$expand=.&$select=Reading,Status/Health',
    '$expand=.&$top=2&$skip=1',
    '$expand=.&$filter=Reading ge 1',
    '$select=Name',
    'only',
  ];
  it.each(queries)('%s: the spliced text is JSON.stringify of the result, resolved now or later', async (qs) => {
    const query = new URLSearchParams(qs);
    const options = parseQueryOptions(query);
    if (!options) throw new Error(`no options in ${qs}`);
    for (const resolve of [sync, later]) {
      const out = await applyQuery(collection, options, '/redfish/v1/Chassis/host/Sensors', query, resolve);
      expect(jsonText(out)).toBe(JSON.stringify(out));
    }
  });

  it('expands the collection synchronously when every member is at hand', () => {
    const query = new URLSearchParams('$expand=.');
    const out = applyQuery(collection, parseQueryOptions(query) ?? {}, '/x', query, sync);
    expect(out).not.toBeInstanceOf(Promise);
    // The reply splices the members' texts in (json-text.ts walks Built objects).
    expect(out).toBeInstanceOf(Built);
    expect((out as Resource).Members).toEqual([...bodies.values()]);
  });
});
