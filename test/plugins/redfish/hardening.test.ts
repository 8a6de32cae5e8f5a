/**
 * Service hardening (#14): TLS 1.2 limited to ECDHE with AEAD ciphers plus TLS 1.3, the
 * EventService SubmitTestEvent action, and the message Registries collection.
 */
import { connect, type ConnectionOptions } from 'node:tls';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { bootRedfish, loginAdminAndViewer, openSse, type RedfishHarness } from './support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
let h: RedfishHarness;
let admin: string;
let viewer: string;

beforeAll(async () => {
  h = await bootRedfish();
  ({ admin, viewer } = await loginAdminAndViewer(h));
});
afterAll(async () => {
  await h?.stop();
});

/** The negotiated protocol and cipher, or the handshake error's code. */
function handshake(opts: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: h.port, ca: h.ca, servername: '127.0.0.1', ...opts }, () => {
      const c = s.getCipher();
      resolve(`${s.getProtocol() ?? '?'} ${c.name}`);
      s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`refused ${e.code ?? e.message}`));
  });
}

describe('TLS', () => {
  it('offers TLS 1.3 and, for TLS 1.2, ECDHE with AEAD ciphers only', async () => {
    expect(await handshake({})).toMatch(/^TLSv1\.3 TLS_AES_/);
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toBe('TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384');
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' })).toBe(
      'TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305',
    );
    // CBC with SHA-1 or SHA-256 MACs is refused, even with ECDHE.
    for (const cbc of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256'])
      expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: cbc })).toMatch(/^refused/);
    expect(await handshake({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).toMatch(/^refused/);
  });
});

describe('EventService.SubmitTestEvent', () => {
  it('is advertised, sends the event to open streams, and needs ConfigureManager', async () => {
    const es = await h.rf('GET', '/redfish/v1/EventService', { token: admin });
    const target = '/redfish/v1/EventService/Actions/EventService.SubmitTestEvent';
    expect(es.json.Actions).toEqual({ '#EventService.SubmitTestEvent': { target } });
    expect(schemas.check(es.json)).toEqual([]);
    const sse = await openSse(h, admin);
    try {
      expect((await h.rf('POST', target, { token: viewer, body: {} })).status).toBe(403);
      expect((await h.rf('POST', target, { token: admin })).status).toBe(204);
      const first = await sse.waitFor((d) => JSON.stringify(d).includes('TestMessage'));
      expect(first.Events).toEqual([expect.objectContaining({ MessageId: 'ResourceEvent.1.4.3.TestMessage' })]);
      expect(schemas.check(first)).toEqual([]);
      const custom = {
        MessageId: 'ResourceEvent.1.4.3.ResourceErrorsDetected',
        Message: 'drill: fan 3 reported an error',
        MessageSeverity: 'Warning',
        OriginOfCondition: '/redfish/v1/Chassis/host',
        EventId: 'drill-1',
      };
      expect((await h.rf('POST', target, { token: admin, body: custom })).status).toBe(204);
      const second = await sse.waitFor((d) => JSON.stringify(d).includes('drill-1'));
      expect(second.Events).toEqual([
        expect.objectContaining({
          ...custom,
          OriginOfCondition: { '@odata.id': '/redfish/v1/Chassis/host' },
        }),
      ]);
      const bad = await h.rf('POST', target, { token: admin, body: { MessageSeverity: 'Fatal', MessageId: 'nope' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId)).toEqual([
        'Base.1.22.1.PropertyValueNotInList',
        'Base.1.22.1.PropertyValueFormatError',
      ]);
    } finally {
      sse.close();
    }
  });
});

describe('NetworkProtocol', () => {
  it('names the host (FQDN only when the host name is one, else null) and the HTTPS port', async () => {
    const r = await h.rf('GET', '/redfish/v1/Managers/vpmd/NetworkProtocol', { token: viewer });
    const name = hostname();
    expect(r.json.HostName).toBe(name.split('.')[0]);
    if (name.includes('.')) expect(r.json.FQDN).toBe(name);
    else expect(r.json.FQDN).toBeNull();
    expect(r.json.HTTPS).toEqual({ ProtocolEnabled: true, Port: h.port });
    expect(schemas.check(r.json)).toEqual([]);
  });
});

describe('Registries', () => {
  it('lists the Base and ResourceEvent registries, each located at its DMTF publication', async () => {
    const root = await h.rf('GET', '/redfish/v1/', {});
    expect(root.json.Registries).toEqual({ '@odata.id': '/redfish/v1/Registries' });
    const c = await h.rf('GET', '/redfish/v1/Registries', { token: viewer });
    expect(c.json.Members.map((m) => m['@odata.id'])).toEqual([
      '/redfish/v1/Registries/Base',
      '/redfish/v1/Registries/ResourceEvent',
    ]);
    expect(schemas.check(c.json)).toEqual([]);
    const base = await h.rf('GET', '/redfish/v1/Registries/Base', { token: viewer });
    expect(schemas.check(base.json)).toEqual([]);
    expect(base.json).toMatchObject({ Registry: 'Base.1.22', Languages: ['en'] });
    const loc = base.json.Location[0];
    expect(loc.PublicationUri).toBe('https://redfish.dmtf.org/registries/Base.1.22.1.json');
    expect(base.json.Location).toEqual([{ Language: 'en', PublicationUri: loc.PublicationUri }]);
    expect((await h.rf('GET', '/redfish/v1/Registries/Nope', { token: viewer })).status).toBe(404);
    expect((await h.rf('GET', '/redfish/v1/Registries', {})).status).toBe(401);
  });
});
