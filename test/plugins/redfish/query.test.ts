/**
 * Query parameters (DSP0266): `$expand` (`.` `*` `~` with `$levels`), `$select`, `$top`/`$skip`,
 * `$filter`, `only`, their errors, and ProtocolFeaturesSupported saying exactly that. A poller
 * reads every sensor in one request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesFilter, parseFilter, FilterSyntaxError } from '../../../plugins/redfish/http/filter.js';
import { bootRedfish, loginAdminAndViewer, type RedfishHarness } from './support.js';

const SENSORS = '/redfish/v1/Chassis/host/Sensors';
const ENTRIES = '/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries';
let h: RedfishHarness;
let admin: string;
let viewer: string;

function messageIds(json: { error: { '@Message.ExtendedInfo': Array<{ MessageId: string }> } }): string[] {
  return json.error['@Message.ExtendedInfo'].map((m) => m.MessageId);
}

beforeAll(async () => {
  h = await bootRedfish();
  ({ admin, viewer } = await loginAdminAndViewer(h));
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe('$filter expressions', () => {
  const sensor = { ReadingType: 'Temperature', Reading: 41.5, Status: { Health: 'OK' }, Name: "Bob's" };
  it.each([
    ["ReadingType eq 'Temperature'", true],
    ["ReadingType ne 'Temperature'", false],
    ['Reading gt 40 and Reading lt 42', true],
    ['Reading ge 41.5 and Reading le 41.5', true],
    ["not (Status/Health eq 'OK') or Reading lt 0", false],
    ["Status/Health eq 'Warning' or Reading gt 41", true],
    ["Name eq 'Bob''s'", true],
    ['Missing eq null', true],
    ["Reading eq '41.5'", false],
    ["Reading gt 'a'", false],
  ])('%s is %s', (text, expected) => {
    expect(matchesFilter(parseFilter(text), sensor)).toBe(expected);
  });

  it.each(['', 'Reading', 'Reading eq', 'Reading like 3', '(Reading eq 1', 'Reading eq 1 Name', "Reading eq 'x"])(
    'refuses %j',
    (text) => {
      expect(() => parseFilter(text)).toThrow(FilterSyntaxError);
    },
  );
});

describe('query parameters against the service', () => {
  it('says in ProtocolFeaturesSupported what it supports', async () => {
    const root = await h.rf('GET', '/redfish/v1/');
    expect(root.json.ProtocolFeaturesSupported).toMatchObject({
      ExpandQuery: { ExpandAll: true, Levels: true, Links: true, NoLinks: true, MaxLevels: 6 },
      FilterQuery: true,
      SelectQuery: true,
      TopSkipQuery: true,
      OnlyMemberQuery: true,
      ExcerptQuery: false,
    });
  });

  it('gives every sensor with its reading in one request ($expand=.)', async () => {
    const links = await h.rf('GET', SENSORS, { token: admin });
    const all = await h.rf('GET', `${SENSORS}?$expand=.`, { token: admin });
    expect(all.status).toBe(200);
    expect(all.json['Members@odata.count']).toBe(links.json['Members@odata.count']);
    expect(all.json.Members.map((m: { '@odata.id': string }) => m['@odata.id'])).toEqual(
      links.json.Members.map((m: { '@odata.id': string }) => m['@odata.id']),
    );
    for (const m of all.json.Members) {
      expect(m['@odata.type']).toBe('#Sensor.v1_12_0.Sensor');
      expect(m).toHaveProperty('Reading');
      expect(m).toHaveProperty('ReadingUnits');
    }
  });

  it('expands Links only with ~, everything else only with ., both with *, deeper with $levels', async () => {
    const noLinks = await h.rf('GET', '/redfish/v1/Systems/host?$expand=.', { token: admin });
    expect(noLinks.json.Processors['@odata.type']).toBe('#ProcessorCollection.ProcessorCollection');
    expect(noLinks.json.Processors.Members[0]).toEqual({ '@odata.id': '/redfish/v1/Systems/host/Processors/CPU0' });
    expect(noLinks.json.Links.Chassis[0]).toEqual({ '@odata.id': '/redfish/v1/Chassis/host' });
    const links = await h.rf('GET', '/redfish/v1/Systems/host?$expand=~', { token: admin });
    expect(links.json.Links.Chassis[0]['@odata.type']).toBe('#Chassis.v1_28_0.Chassis');
    expect(links.json.Processors).toEqual({ '@odata.id': '/redfish/v1/Systems/host/Processors' });
    const all = await h.rf('GET', '/redfish/v1/Systems/host?$expand=*', { token: admin });
    expect(all.json.Links.Chassis[0].Id).toBe('host');
    expect(all.json.Processors.Name).toBe('Processors');
    const deep = await h.rf('GET', '/redfish/v1/Systems/host?$expand=.($levels=2)', { token: admin });
    expect(deep.json.Processors.Members[0]['@odata.type']).toBe('#Processor.v1_22_0.Processor');
  });

  it('expands only what the caller may read', async () => {
    const mine = await h.rf('GET', '/redfish/v1/SessionService/Sessions?$expand=.', { token: viewer });
    expect(mine.json.Members.map((s) => s.UserName)).toEqual(['viewer']);
    const all = await h.rf('GET', '/redfish/v1/SessionService/Sessions?$expand=.', { token: admin });
    expect(all.json.Members.map((s) => s.UserName).sort()).toEqual(['admin', 'viewer']);
  });

  it('filters a collection by its members and counts what matched', async () => {
    const r = await h.rf('GET', `${SENSORS}?$filter=${encodeURIComponent("ReadingType eq 'Temperature'")}&$expand=.`, {
      token: admin,
    });
    expect(r.status).toBe(200);
    expect(r.json.Members.length).toBeGreaterThan(0);
    expect(r.json['Members@odata.count']).toBe(r.json.Members.length);
    for (const m of r.json.Members) expect(m.ReadingType).toBe('Temperature');
    const links = await h.rf('GET', `${SENSORS}?$filter=${encodeURIComponent("ReadingType eq 'Temperature'")}`, {
      token: admin,
    });
    expect(links.json.Members).toEqual(
      r.json.Members.map((m: { '@odata.id': string }) => ({ '@odata.id': m['@odata.id'] })),
    );
  });

  it('pages with $top and $skip and links the next page', async () => {
    const all = await h.rf('GET', ENTRIES, { token: admin });
    const total = all.json['Members@odata.count'];
    expect(total).toBeGreaterThanOrEqual(3);
    const page = await h.rf('GET', `${ENTRIES}?$skip=1&$top=1`, { token: admin });
    expect(page.json['Members@odata.count']).toBe(total);
    expect(page.json.Members).toEqual([all.json.Members[1]]);
    expect(page.json['Members@odata.nextLink']).toBe(`${ENTRIES}?$skip=2&$top=1`);
    const last = await h.rf('GET', `${ENTRIES}?$skip=${total - 1}&$top=5`, { token: admin });
    expect(last.json.Members).toEqual([all.json.Members[total - 1]]);
    expect(last.json).not.toHaveProperty('Members@odata.nextLink');
  });

  it('selects properties (nested ones too), keeping the OData annotations', async () => {
    const r = await h.rf('GET', '/redfish/v1/Systems/host?$select=PowerState,ProcessorSummary/Count', { token: admin });
    expect(r.json).toEqual({
      '@odata.id': '/redfish/v1/Systems/host',
      '@odata.type': '#ComputerSystem.v1_27_0.ComputerSystem',
      PowerState: 'On',
      ProcessorSummary: { Count: expect.any(Number) },
    });
    const sensors = await h.rf('GET', `${SENSORS}?$expand=.&$select=Reading`, { token: admin });
    for (const m of sensors.json.Members)
      expect(Object.keys(m).sort()).toEqual(['@odata.id', '@odata.type', 'Reading']);
  });

  it('answers only with the single member of a collection, and refuses a value or a combination', async () => {
    const one = await h.rf('GET', '/redfish/v1/Systems?only', { token: admin });
    expect(one.json['@odata.type']).toBe('#ComputerSystem.v1_27_0.ComputerSystem');
    const bad = await h.rf('GET', '/redfish/v1/SessionService/Sessions?only=foo', { token: admin });
    expect(bad.status).toBe(400);
    expect(messageIds(bad.json)).toEqual(['Base.1.22.1.QueryParameterValueFormatError']);
    const combined = await h.rf('GET', '/redfish/v1/Systems?only&$top=1', { token: admin });
    expect(messageIds(combined.json)).toEqual(['Base.1.22.1.QueryCombinationInvalid']);
  });

  it.each([
    ['/redfish/v1/?$rpvunknown', 501, 'QueryParameterUnsupported'],
    [`${SENSORS}?$expand=all`, 400, 'QueryParameterValueFormatError'],
    [`${SENSORS}?$expand=.($levels=7)`, 400, 'QueryParameterOutOfRange'],
    [`${SENSORS}?$top=-1`, 400, 'QueryParameterValueTypeError'],
    [`${SENSORS}?$skip=x`, 400, 'QueryParameterValueTypeError'],
    [`${SENSORS}?$filter=Reading%20like%203`, 400, 'QueryParameterValueFormatError'],
    [`${SENSORS}?$select=a,,b`, 400, 'QueryParameterValueFormatError'],
  ])('GET %s is %d %s', async (uri, status, id) => {
    const r = await h.rf('GET', uri, { token: admin });
    expect(r.status).toBe(status);
    expect(messageIds(r.json)).toEqual([`Base.1.22.1.${id}`]);
  });

  it('refuses query options on a write, and ignores parameters without $', async () => {
    const w = await h.rf('PATCH', '/redfish/v1/SessionService?$select=SessionTimeout', {
      token: admin,
      body: { SessionTimeout: 600 },
    });
    expect(w.status).toBe(400);
    expect(messageIds(w.json)).toEqual(['Base.1.22.1.QueryNotSupportedOnOperation']);
    const r = await h.rf('GET', '/redfish/v1/Systems?foo=bar', { token: admin });
    expect(r.status).toBe(200);
  });
});
