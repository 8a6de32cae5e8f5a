/**
 * Walks the whole Redfish tree from the service root, following every `@odata.id`, as the DMTF
 * Service Validator does, and validates every payload (and the error bodies, and the bodies of
 * POST/PATCH replies) against the DMTF JSON schema of its `@odata.type` with ajv.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { TYPE_VERSIONS } from '../../../plugins/redfish/resources/types.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import power from '../../../plugins/power/index.js';
import { bootRedfish, type RedfishHarness } from './support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
let h: RedfishHarness;
let token: string;
const visited = new Map<string, Record<string, unknown>>();

function links(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) v.forEach((x) => links(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if ((k === '@odata.id' || k === '@Redfish.ActionInfo') && typeof x === 'string') out.add(x);
      else links(x, out);
    }
  }
}

beforeAll(async () => {
  // The power plugin serves Chassis/{id}/Controls/PowerLimit (the Control type).
  h = await bootRedfish({ plugins: [power], extraSections: { power: { cap: { watts: 50 } } } });
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  await h.addAccount('viewer', 'ReadOnly', 'Viewer-pass-1');
  token = await h.login('admin', 'Admin-pass-1');
  await h.login('viewer', 'Viewer-pass-1'); // a second session to crawl
  // A subscription and the audit entries make those collections non-empty.
  const sub = await h.rf('POST', '/redfish/v1/EventService/Subscriptions', {
    token,
    body: { Destination: 'https://127.0.0.1:9/events', Protocol: 'Redfish', Context: 'crawl' },
  });
  expect(sub.status).toBe(201);
  const queue = ['/redfish/v1/'];
  while (queue.length) {
    const uri = queue.shift() as string;
    if (visited.has(uri)) continue;
    const r = await h.rf('GET', uri, { token });
    expect(r.status, `GET ${uri}: ${r.text}`).toBe(200);
    visited.set(uri, r.json);
    const next = new Set<string>();
    links(r.json, next);
    for (const n of next) if (!visited.has(n) && !n.includes('#')) queue.push(n);
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

describe('redfish tree', () => {
  it('reaches every kind of resource the service emits from the service root', () => {
    const types = new Set([...visited.values()].map((b) => String(b['@odata.type']).split('.')[0]?.slice(1)));
    for (const t of Object.keys(TYPE_VERSIONS).filter((t) => !['Message', 'Event'].includes(t)))
      expect(types, `type ${t} not reached`).toContain(t);
    expect(visited.size).toBeGreaterThan(40);
  });

  it('gives every resource @odata.id (its own URI), @odata.type, Id and Name, and collections a matching count', () => {
    for (const [uri, body] of visited) {
      const id = uri === '/redfish/v1/' ? '/redfish/v1/' : uri;
      expect(body['@odata.id'], uri).toBe(id);
      expect(typeof body['@odata.type'], uri).toBe('string');
      expect(typeof body.Name, uri).toBe('string');
      if (String(body['@odata.type']).includes('Collection.'))
        expect(body['Members@odata.count'], uri).toBe((body.Members as unknown[]).length);
      else expect(typeof body.Id, uri).toBe('string');
    }
  });

  it('validates every crawled payload against the DMTF JSON schema of its @odata.type', () => {
    const problems: string[] = [];
    for (const [uri, body] of visited) for (const p of schemas.check(body)) problems.push(`${uri}: ${p}`);
    expect(problems).toEqual([]);
  }, 180_000);

  it('validates error bodies against redfish-error and their messages against Message', async () => {
    const errors = [
      await h.rf('GET', '/redfish/v1/Systems/nope', { token }),
      await h.rf('PATCH', '/redfish/v1/AccountService', { token, body: { Bogus: 1, AccountLockoutThreshold: 'x' } }),
      await h.rf('GET', '/redfish/v1/Systems'),
    ];
    const v = schemas.validator('#redfish-error.v1_0_2.RedfishError');
    for (const e of errors) {
      expect(v(e.json), JSON.stringify(v.errors)).toBe(true);
      for (const m of e.json.error['@Message.ExtendedInfo']) expect(schemas.check(m)).toEqual([]);
    }
  });

  it('EnvironmentMetrics PowerLimitWatts is writable: the same cap as Controls/PowerLimit (OCP Baseline)', async () => {
    const chassis = (visited.get('/redfish/v1/Chassis') as { Members: { '@odata.id': string }[] }).Members[0];
    const env = `${chassis?.['@odata.id']}/EnvironmentMetrics`;
    const before = await h.rf('GET', env, { token });
    expect(before.headers.allow).toContain('PATCH');
    type Limit = { SetPoint: number; AllowableMin: number; AllowableMax: number; DataSourceUri: string };
    const limit = before.json.PowerLimitWatts as Limit & { '@Redfish.WriteableProperties': string[] };
    expect(limit['@Redfish.WriteableProperties']).toEqual(['SetPoint', 'ControlMode']);
    const watts = limit.AllowableMin + 1;
    const r = await h.rf('PATCH', env, { token, body: { PowerLimitWatts: { SetPoint: watts } } });
    expect(r.status, r.text).toBe(200);
    expect((r.json.PowerLimitWatts as Limit).SetPoint).toBe(watts);
    expect((await h.rf('GET', limit.DataSourceUri, { token })).json.SetPoint).toBe(watts);
    const tooHigh = await h.rf('PATCH', env, {
      token,
      body: { PowerLimitWatts: { SetPoint: limit.AllowableMax + 1 } },
    });
    expect(tooHigh.status).toBe(400);
    expect(((await h.rf('GET', env, { token })).json.PowerLimitWatts as Limit).SetPoint).toBe(watts);
    const other = await h.rf('PATCH', env, { token, body: { PowerWatts: { Reading: 1 } } });
    expect(other.status).toBe(400); // only the limit is writable
    expect(schemas.check(r.json)).toEqual([]);
  });

  it('validates the bodies of POST and PATCH replies', async () => {
    const created = await h.rf('POST', '/redfish/v1/AccountService/Accounts', {
      token,
      body: { UserName: 'op2', Password: 'Operator-pass-2', RoleId: 'Operator' },
    });
    expect(created.status).toBe(201);
    const patched = await h.rf('PATCH', '/redfish/v1/SessionService', { token, body: { SessionTimeout: 600 } });
    const session = await h.rf('POST', '/redfish/v1/SessionService/Sessions', {
      body: { UserName: 'op2', Password: 'Operator-pass-2' },
    });
    for (const r of [created, patched, session]) expect(schemas.check(r.json)).toEqual([]);
  });
});
