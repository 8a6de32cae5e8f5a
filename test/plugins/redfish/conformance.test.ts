/**
 * Regression tests for each class of failure DMTF's Service and Protocol Validators reported
 * (issue 14): log entry collections whose members were links, `Oem/Vpmd` objects without
 * `@odata.type`, the libvirt capabilities XML served where JSON is expected, an unknown HTTP
 * method answered with Node's bare 400, a PATCH of OData annotations answered EmptyJSON, and
 * an accounts collection linking accounts a ReadOnly caller may not read. The validators
 * themselves run in CI (scripts/redfish-conformance.sh).
 */
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugin } from '../../../testkit/index.js';
import { Type, defineCommand } from '../../../core/index.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { bootRedfish, loginAdminAndViewer, type RedfishHarness, type RfBody } from './support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
const M = '/redfish/v1/Managers/vpmd/LogServices';

/** Emits SEL entries on the real event bus, as the IPMI plugin does. */
const selEmitter = testPlugin({
  name: 'sel-emitter',
  description: 'test: emits hw.log.v1 on command',
  register(ctx) {
    ctx.commands.register(
      defineCommand({
        name: 'emit sel',
        summary: 'emit hw.log.v1',
        privilege: 'ConfigureManager',
        args: Type.Object({ message: Type.String() }),
        positional: ['message'],
        handler: (a) =>
          ctx.events.emit('hw.log.v1', {
            source: 'bmc1',
            id: '0x0042',
            timestamp: Date.now(),
            severity: 'warning',
            message: a.message,
          }),
      }),
    );
    return { start() {}, stop() {} };
  },
});

let h: RedfishHarness;
let admin: string;
let viewer: string;

beforeAll(async () => {
  h = await bootRedfish({ plugins: [selEmitter] });
  ({ admin, viewer } = await loginAdminAndViewer(h));
  await h.agent.json(['emit', 'sel', 'Fan 2 lower critical']);
  await h.agent.json(['emit', 'sel', 'PSU 1 presence']);
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

/** Sends raw bytes over TLS and returns the status line and body of the reply. */
function rawRequest(text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: h.port, ca: h.ca, servername: '127.0.0.1' }, () =>
      socket.write(text),
    );
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), body });
    });
    socket.on('error', reject);
  });
}

describe('log entry collections (LogEntryCollection Members are AutoExpand)', () => {
  it.each([
    ['AuditLog', 'vpmd audit'],
    ['HardwareLog', 'vpmd hw.log'],
  ])('%s carries every entry in full, each valid against LogEntry', async (log, format) => {
    const r = await h.rf('GET', `${M}/${log}/Entries`, { token: admin });
    expect(r.status).toBe(200);
    expect(r.json['Members@odata.count']).toBeGreaterThanOrEqual(2);
    expect(r.json.Members).toHaveLength(r.json['Members@odata.count']);
    for (const m of r.json.Members) {
      expect(m).toMatchObject({
        '@odata.type': '#LogEntry.v1_21_0.LogEntry',
        EntryType: 'Oem',
        OemRecordFormat: format,
      });
      expect(m['@odata.id']).toBe(`${M}/${log}/Entries/${m.Id}`);
      expect(typeof m.Name).toBe('string');
      expect(schemas.check(m)).toEqual([]);
      const one = await h.rf('GET', m['@odata.id'], { token: admin });
      expect(one.json).toEqual(m);
    }
    expect(schemas.check(r.json)).toEqual([]);
  });

  // DMTF's Tacklebox rf_logs (redfish_utilities.print_log_entries) reads entry["MessageId"] of
  // every entry, even one with a Message: without it the tool crashes with KeyError.
  it.each([
    ['AuditLog', /^Vpmd\.Audit\.(Ok|Denied|Failed)$/],
    ['HardwareLog', /^0x0042$/],
  ])('%s gives every entry the MessageId that DMTF Tacklebox rf_logs reads', async (log, id) => {
    const r = await h.rf('GET', `${M}/${log}/Entries`, { token: admin });
    expect(r.json.Members.length).toBeGreaterThanOrEqual(2);
    for (const m of r.json.Members) expect(m.MessageId).toMatch(id);
  });

  it('gives the hardware log entry its OEM object with @odata.type', async () => {
    const r = await h.rf('GET', `${M}/HardwareLog/Entries`, { token: admin });
    expect(r.json.Members[0].Oem.Vpmd).toEqual({
      '@odata.type': '#VpmdLogEntry.v1_0_0.LogEntry',
      Source: 'bmc1',
      SourceId: '0x0042',
    });
  });
});

describe('OEM extensions', () => {
  it('types every Oem/Vpmd object, and each validates against the OEM JSON schema the service serves', async () => {
    const system = await h.rf('GET', '/redfish/v1/Systems/host', { token: admin });
    const oem = system.json.Oem.Vpmd;
    expect(oem['@odata.type']).toBe('#VpmdComputerSystem.v1_0_0.ComputerSystem');
    expect(schemas.check(oem)).toEqual([]);
    const sensors = await h.rf('GET', '/redfish/v1/Chassis/host/Sensors?$expand=.', { token: admin });
    expect(sensors.json.Members.length).toBeGreaterThan(0);
    for (const s of sensors.json.Members) {
      expect(s.Oem.Vpmd['@odata.type']).toBe('#VpmdSensor.v1_0_0.Sensor');
      expect(schemas.check(s.Oem.Vpmd)).toEqual([]);
    }
  });

  it('serves the capabilities documents as a JSON resource that says why they are absent', async () => {
    const system = await h.rf('GET', '/redfish/v1/Systems/host', { token: admin });
    const uri = system.json.Oem.Vpmd.CapabilitiesDocuments['@odata.id'];
    const r = await h.rf('GET', uri, { token: admin });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json).toMatchObject({
      '@odata.id': uri,
      '@odata.type': '#VpmdCapabilitiesDocuments.v1_0_0.CapabilitiesDocuments',
      Id: 'CapabilitiesDocuments',
      Available: false,
      Reason: expect.stringContaining('libvirt-caps'),
    });
    expect(schemas.check(r.json)).toEqual([]);
    const xml = await h.rf('GET', `${uri}/libvirt-capabilities.xml`, { token: admin });
    expect(xml.status).toBe(503);
    expect(xml.text).toContain('libvirt-caps');
  });

  it('references the OEM CSDL from $metadata and lists each OEM JSON schema under JsonSchemas', async () => {
    const meta = await h.rf('GET', '/redfish/v1/$metadata');
    expect(meta.text).toContain('<edmx:Reference Uri="/redfish/v1/Schemas/Vpmd_v1.xml">');
    expect(meta.text).toContain('<edmx:Include Namespace="VpmdSensor.v1_0_0"/>');
    const csdl = await h.rf('GET', '/redfish/v1/Schemas/Vpmd_v1.xml');
    expect(csdl.status).toBe(200);
    expect(csdl.headers['content-type']).toBe('application/xml');
    for (const t of ['VpmdComputerSystem', 'VpmdSensor', 'VpmdLogEntry', 'VpmdCapabilitiesDocuments']) {
      expect(csdl.text).toContain(`Namespace="${t}.v1_0_0"`);
      const file = await h.rf('GET', `/redfish/v1/JsonSchemas/${t}`, { token: admin });
      expect(schemas.check(file.json)).toEqual([]);
      const schema = await h.rf('GET', file.json.Location[0].Uri, { token: admin });
      expect(schema.json).toEqual(oemJsonSchemaFiles()[`${t}.v1_0_0.json`]);
    }
  });
});

describe('HTTP methods and PATCH bodies (Protocol Validator)', () => {
  it('answers a method Node cannot parse with a Redfish 501, not a bare 400', async () => {
    const r = await rawRequest('FAKEMETHODFORTEST /redfish/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(r.status).toBe(501);
    expect((JSON.parse(r.body) as RfBody).error['@Message.ExtendedInfo'][0].MessageId).toBe(
      'Base.1.22.1.OperationNotAllowed',
    );
  });

  it('answers a method Node knows but no resource has with 405 and Allow', async () => {
    const r = await h.rf('PROPFIND', '/redfish/v1/Systems', { token: admin });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('answers a PATCH of OData annotations only with NoOperation, an empty one with EmptyJSON', async () => {
    const accounts = await h.rf('GET', '/redfish/v1/AccountService/Accounts', { token: admin });
    const uri = accounts.json.Members[0]['@odata.id'];
    const before = await h.rf('GET', uri, { token: admin });
    const r = await h.rf('PATCH', uri, { token: admin, body: { '@odata.id': `${uri}/` } });
    expect(r.status).toBe(400);
    expect(r.json.error['@Message.ExtendedInfo'].map((m: { MessageId: string }) => m.MessageId)).toEqual([
      'Base.1.22.1.NoOperation',
    ]);
    const empty = await h.rf('PATCH', uri, { token: admin, body: {} });
    expect(empty.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.EmptyJSON');
    expect((await h.rf('GET', uri, { token: admin })).json).toEqual(before.json);
  });
});

describe('what a ReadOnly account is shown', () => {
  it('lists only its own account, so every member it is given can be read', async () => {
    const r = await h.rf('GET', '/redfish/v1/AccountService/Accounts', { token: viewer });
    expect(r.json.Members).toHaveLength(1);
    const own = await h.rf('GET', r.json.Members[0]['@odata.id'], { token: viewer });
    expect(own.status).toBe(200);
    expect(own.json.UserName).toBe('viewer');
    const all = await h.rf('GET', '/redfish/v1/AccountService/Accounts', { token: admin });
    expect(all.json['Members@odata.count']).toBe(2);
  });
});
