/**
 * DSP0266 protocol rules as a client meets them: the unauthenticated documents, headers on every
 * response, 405 with Allow, 412 on a bad OData-Version or a stale If-Match, 501 on `$` query
 * options, Base-registry errors for malformed, unknown, mistyped and oversized bodies, and HTTPS
 * only (plain HTTP gets no answer; peers outside the allow-list are dropped).
 */
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_VERSIONS } from '../../../plugins/redfish/resources/types.js';
import { bootRedfish, type RedfishHarness } from './support.js';

let h: RedfishHarness;
let token: string;

beforeAll(async () => {
  h = await bootRedfish();
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  token = await h.login('admin', 'Admin-pass-1');
});
afterAll(async () => {
  await h?.stop();
});

const ids = (r: { json: { error: { '@Message.ExtendedInfo': Array<{ MessageId: string }> } } }): string[] =>
  r.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId);

describe('redfish protocol', () => {
  it('serves /redfish, the service root (with and without slash), odata and $metadata without authentication', async () => {
    const v = await h.rf('GET', '/redfish');
    expect(v.json).toEqual({ v1: '/redfish/v1/' });
    const root = await h.rf('GET', '/redfish/v1/');
    const noSlash = await h.rf('GET', '/redfish/v1');
    expect(root.status).toBe(200);
    expect(noSlash.json['@odata.id']).toBe('/redfish/v1/');
    expect(root.json.Links.Sessions['@odata.id']).toBe('/redfish/v1/SessionService/Sessions');
    const odata = await h.rf('GET', '/redfish/v1/odata');
    expect(odata.json['@odata.context']).toBe('/redfish/v1/$metadata');
    expect(odata.json.value.map((x: { url: string }) => x.url)).toContain('/redfish/v1/Systems');
    const md = await h.rf('GET', '/redfish/v1/$metadata');
    expect(md.headers['content-type']).toMatch(/^application\/xml/);
    execFileSync('xmllint', ['--noout', '-'], { input: md.text }); // well-formed XML, or it throws
    for (const [t, ver] of Object.entries(TYPE_VERSIONS)) {
      expect(md.text).toContain(`Uri="http://redfish.dmtf.org/schemas/v1/${t}_v1.xml"`);
      expect(md.text).toContain(`Namespace="${t}.${ver}"`);
    }
    expect(md.text).toMatch(/<EntityContainer Name="Service" Extends="ServiceRoot\.v1_20_0\.ServiceContainer"\/>/);
  });

  it('puts OData-Version, Cache-Control, Content-Type, ETag, Allow and a describedby Link on GET and HEAD', async () => {
    const r = await h.rf('GET', '/redfish/v1/Systems/host', { token });
    expect(r.headers['odata-version']).toBe('4.0');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    // PATCH: PowerMode (power profiles).
    expect(r.headers.allow).toBe('GET, HEAD, PATCH');
    expect(r.headers.link).toBe('</redfish/v1/JsonSchemas/ComputerSystem>; rel=describedby');
    const schema = await h.rf('GET', '/redfish/v1/JsonSchemas/ComputerSystem', { token });
    expect(schema.json.Location[0].PublicationUri).toBe(
      `http://redfish.dmtf.org/schemas/v1/ComputerSystem.${TYPE_VERSIONS.ComputerSystem}.json`,
    );
    const head = await h.rf('HEAD', '/redfish/v1/Systems/host', { token });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.etag).toBe(r.headers.etag);
    const again = await h.rf('GET', '/redfish/v1/Systems/host', {
      token,
      headers: { 'If-None-Match': String(r.headers.etag) },
    });
    expect(again.status).toBe(304);
  });

  it('answers 401 with WWW-Authenticate and NoValidSession without credentials, bad tokens or bad Basic', async () => {
    for (const opts of [{}, { token: 'not-a-token' }, { basic: ['admin', 'wrong-password'] as [string, string] }]) {
      const r = await h.rf('GET', '/redfish/v1/Systems', opts);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect(ids(r)).toContain('Base.1.22.1.NoValidSession');
    }
    // Unknown URIs do not leak to strangers either.
    expect((await h.rf('GET', '/redfish/v1/Nope')).status).toBe(401);
    expect((await h.rf('GET', '/redfish/v1/Systems', { basic: ['admin', 'Admin-pass-1'] })).status).toBe(200);
  });

  it('answers 404 ResourceMissingAtURI / ResourceNotFound for unknown URIs and ids', async () => {
    const r = await h.rf('GET', '/redfish/v1/Nope', { token });
    expect(r.status).toBe(404);
    expect(ids(r)).toEqual(['Base.1.22.1.ResourceMissingAtURI']);
    const s = await h.rf('GET', '/redfish/v1/Systems/other', { token });
    expect(s.status).toBe(404);
    expect(s.json.error['@Message.ExtendedInfo'][0].MessageArgs).toEqual(['ComputerSystem', 'other']);
    expect((await h.rf('GET', '/elsewhere', { token })).status).toBe(404);
  });

  it('answers 405 with Allow for unsupported methods, PUT included', async () => {
    for (const [m, uri] of [
      ['DELETE', '/redfish/v1/Systems/host'],
      ['PATCH', '/redfish/v1/Chassis/host/Sensors'],
      ['PUT', '/redfish/v1/AccountService'],
      ['POST', '/redfish/v1/Managers/vpmd'],
    ] as const) {
      const r = await h.rf(m, uri, { token, body: {} });
      expect(r.status, `${m} ${uri}`).toBe(405);
      expect(r.headers.allow).toMatch(/GET, HEAD/);
      expect(ids(r)).toEqual(['Base.1.22.1.OperationNotAllowed']);
    }
  });

  it('answers 412 to an unsupported OData-Version and 501 to unknown $ query options; ignores other parameters', async () => {
    const bad = await h.rf('GET', '/redfish/v1/', { headers: { 'OData-Version': '5.0' } });
    expect(bad.status).toBe(412);
    expect((await h.rf('GET', '/redfish/v1/', { headers: { 'OData-Version': '4.0' } })).status).toBe(200);
    const q = await h.rf('GET', '/redfish/v1/Systems?$rpvunknown', { token });
    expect(q.status).toBe(501);
    expect(ids(q)).toEqual(['Base.1.22.1.QueryParameterUnsupported']);
    expect((await h.rf('GET', '/redfish/v1/Systems?colour=blue', { token })).status).toBe(200);
  });

  it('refuses malformed JSON, a non-object body, unknown and read-only properties and wrong types, changing nothing', async () => {
    const before = (await h.rf('GET', '/redfish/v1/AccountService', { token })).json;
    const malformed = await h.rf('PATCH', '/redfish/v1/AccountService', { token, raw: '{"AccountLockoutThreshold": ' });
    expect(malformed.status).toBe(400);
    expect(ids(malformed)).toEqual(['Base.1.22.1.MalformedJSON']);
    expect(ids(await h.rf('PATCH', '/redfish/v1/AccountService', { token, raw: '[1,2]' }))).toEqual([
      'Base.1.22.1.MalformedJSON',
    ]);
    const mixed = await h.rf('PATCH', '/redfish/v1/AccountService', {
      token,
      body: { AccountLockoutThreshold: 2, Colour: 'red', MinPasswordLength: 3, AccountLockoutDuration: 'long' },
    });
    expect(mixed.status).toBe(400);
    expect(ids(mixed).sort()).toEqual([
      'Base.1.22.1.PropertyNotWritable',
      'Base.1.22.1.PropertyUnknown',
      'Base.1.22.1.PropertyValueTypeError',
    ]);
    expect(mixed.json.error.code).toBe('Base.1.22.1.GeneralError');
    const range = await h.rf('PATCH', '/redfish/v1/SessionService', { token, body: { SessionTimeout: 5 } });
    expect(ids(range)).toEqual(['Base.1.22.1.PropertyValueOutOfRange']);
    expect(ids(await h.rf('PATCH', '/redfish/v1/AccountService', { token, body: {} }))).toEqual([
      'Base.1.22.1.EmptyJSON',
    ]);
    expect((await h.rf('GET', '/redfish/v1/AccountService', { token })).json).toEqual(before);
  });

  it('refuses bodies over the limit with 413 PayloadTooLarge', async () => {
    const r = await h.rf('PATCH', '/redfish/v1/AccountService', {
      token,
      raw: JSON.stringify({ pad: 'x'.repeat(70_000) }),
    });
    expect(r.status).toBe(413);
    expect(ids(r)).toEqual(['Base.1.22.1.PayloadTooLarge']);
  });

  it('honours If-Match on PATCH and DELETE (412 PreconditionFailed on a stale ETag)', async () => {
    const cur = await h.rf('GET', '/redfish/v1/SessionService', { token });
    const stale = await h.rf('PATCH', '/redfish/v1/SessionService', {
      token,
      body: { SessionTimeout: 900 },
      headers: { 'If-Match': '"stale"' },
    });
    expect(stale.status).toBe(412);
    expect(ids(stale)).toEqual(['Base.1.22.1.PreconditionFailed']);
    const ok = await h.rf('PATCH', '/redfish/v1/SessionService', {
      token,
      body: { SessionTimeout: 900 },
      headers: { 'If-Match': String(cur.headers.etag) },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.SessionTimeout).toBe(900);
    expect(ok.headers.etag).not.toBe(cur.headers.etag);
  });

  it('speaks HTTPS only: a plain HTTP request on the port gets no HTTP answer', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.port, path: '/redfish/v1/', timeout: 5000 }, (res) =>
        resolve(`http ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
  });

  it('never asks the logind of the machine to power off or reboot when the host is simulated', async () => {
    const info = await h.rf('GET', '/redfish/v1/Systems/host/ResetActionInfo', { token });
    expect(info.json.Parameters[0].AllowableValues).not.toContain('GracefulShutdown');
    expect(info.json.Description).toMatch(
      /GracefulShutdown: not offered \(simulated host: the system logind is not used/,
    );
  });

  it('keeps the generated key mode 0600 in the state directory', async () => {
    const s = await stat(join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls', 'key.pem'));
    expect(s.mode & 0o777).toBe(0o600);
    expect(h.ca).toMatch(/BEGIN CERTIFICATE/);
  });
});

describe('redfish allow-list', () => {
  it('drops connections from addresses outside management.allow before TLS', async () => {
    const other = await bootRedfish({ core: { management: { address: '127.0.0.1', allow: ['10.9.0.0/16'] } } });
    try {
      await expect(other.rf('GET', '/redfish/v1/')).rejects.toThrow(/socket hang up|ECONNRESET|disconnected/);
    } finally {
      await other.stop();
    }
  });
});
