/**
 * Pre-serialised Sensor bodies (resources/sensor-body.ts) and their splicing into replies
 * (http/json-text.ts): the text a reply sends is always exactly `JSON.stringify` of the body,
 * for every kind of reading, after a definition changes, and inside `$expand`/`$select` results;
 * and the ETag, which hashes the members' short keys rather than their texts, changes whenever
 * that text does.
 */
import { describe, expect, it } from 'vitest';
import type { MetricSnapshot } from '../../../core/index.js';
import { SensorBodies } from '../../../plugins/redfish/resources/sensor-body.js';
import { Built, jsonText, jsonTextAndKey } from '../../../plugins/redfish/http/json-text.js';
import { etagOf, jsonOutcome } from '../../../plugins/redfish/http/outcome.js';
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

describe('ETags of replies with kept bodies', () => {
  // Sensors as a poller sees them over time: readings, times, statuses and definitions change.
  const states: Array<Partial<MetricSnapshot>> = [
    {},
    { latest: { value: 42.5, status: 'ok', timestamp: T0 + 1000 } },
    { latest: { value: 42.6, status: 'ok', timestamp: T0 } },
    { latest: { value: 42.5, status: 'warning', timestamp: T0 } },
    { latest: { value: null, status: 'unavailable', timestamp: T0 } },
    { latest: undefined },
    { thresholds: { upperWarning: 80 } },
    { thresholds: { upperWarning: 81 } },
    { name: 'Renamed' },
    { source: { plugin: 'ipmi', target: 'host', sensor: 'PSU1' } },
  ];
  const collectionOf = (members: Resource[], name = 'Sensors'): Resource => ({
    '@odata.id': '/redfish/v1/Chassis/host/Sensors',
    '@odata.type': '#SensorCollection.SensorCollection',
    Name: name,
    Members: members.map((m) => ({ '@odata.id': m['@odata.id'] })),
    'Members@odata.count': members.length,
  });
  const expanded = (members: Resource[], name?: string): Resource => {
    const byUri = new Map(members.map((m) => [m['@odata.id'] as string, m]));
    const query = new URLSearchParams('$expand=.');
    return applyQuery(collectionOf(members, name), parseQueryOptions(query) ?? {}, '/x', query, (u) =>
      byUri.get(u),
    ) as Resource;
  };

  it('changes whenever the text of an expansion changes, and only then', () => {
    const sensors = new SensorBodies();
    const replies: Array<{ text: string; etag: string }> = [];
    for (const a of states)
      for (const b of states) {
        const members = [
          sensors.body('host', 'a', metric({ id: 'm-a', ...a })),
          sensors.body('host', 'b', metric({ id: 'm-b', ...b })),
        ];
        const out = jsonOutcome(200, expanded(members), {});
        const text = String(out.body);
        expect(text).toBe(JSON.stringify(expanded(members)));
        replies.push({ text, etag: out.headers.ETag as string });
      }
    const etagOfText = new Map<string, string>();
    const textOfEtag = new Map<string, string>();
    for (const r of replies) {
      expect(etagOfText.get(r.text) ?? r.etag).toBe(r.etag);
      expect(textOfEtag.get(r.etag) ?? r.text).toBe(r.text);
      etagOfText.set(r.text, r.etag);
      textOfEtag.set(r.etag, r.text);
    }
    expect(textOfEtag.size).toBe(new Set(replies.map((r) => r.text)).size);
  });

  it('changes with the collection around the members and with their order', () => {
    const sensors = new SensorBodies();
    const a = sensors.body('host', 'a', metric({ id: 'm-a' }));
    const b = sensors.body('host', 'b', metric({ id: 'm-b' }));
    const etags = [expanded([a, b]), expanded([b, a]), expanded([a, b], 'Other'), expanded([a])].map(
      (body) => jsonOutcome(200, body, {}).headers.ETag,
    );
    expect(new Set(etags).size).toBe(etags.length);
  });

  it('is the same for a lone sensor, its expansion and If-Match (etagOf) as in the GET reply', () => {
    const sensors = new SensorBodies();
    const s = sensors.body('host', 'a', metric());
    const body = expanded([s]);
    for (const b of [s, body, collectionOf([s]), { plain: 1 }])
      expect(etagOf(b)).toBe(jsonOutcome(200, b, {}).headers.ETag);
    // A copy of a sensor is a plain object: hashed by its text, which also shows a change.
    const copy = { ...s, Reading: 7 };
    expect(etagOf(copy)).not.toBe(etagOf(s));
  });

  it('hashes the keys of the members rather than their texts', () => {
    const sensors = new SensorBodies();
    const members = ['a', 'b', 'c'].map((id) => sensors.body('host', id, metric({ id: `m-${id}` })));
    const { text, key } = jsonTextAndKey(expanded(members));
    expect(text).toBe(JSON.stringify(expanded(members)));
    expect(key.length).toBeLessThan(text.length / 2);
    expect(key.split('\u0001').length).toBe(2 * members.length + 1);
  });
});
