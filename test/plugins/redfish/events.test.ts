/**
 * EventService: SSE streams listed as EventDestinations while open, subscriptions to HTTPS
 * destinations only, persisted across a restart of the service, delivered to a real HTTPS
 * server (trusting its CA through plugins.redfish.eventCa) and retried with back-off after a
 * failure; threshold crossings and hardware log entries become ResourceEvent messages.
 */
import { testPlugin } from '../../../testkit/index.js';
import { createServer, type Server } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type, defineCommand } from '../../../core/index.js';
import { loadTls } from '../../../plugins/redfish/http/tls.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { bootRedfish, openSse, type RedfishHarness } from './support.js';
import { emitStatusCommand } from './emit-status.js';

/** Emits vpmd events on the real event bus, as the core and the IPMI plugin do. */
const emitter = testPlugin({
  name: 'event-emitter',
  description: 'test: emits events on command',
  register(ctx) {
    ctx.commands.register(emitStatusCommand(ctx.events));
    ctx.commands.register(
      defineCommand({
        name: 'emit sel',
        summary: 'emit hw.log.v1',
        privilege: 'ConfigureManager',
        args: Type.Object({ source: Type.String(), message: Type.String() }),
        positional: ['source', 'message'],
        handler: (a) =>
          ctx.events.emit('hw.log.v1', {
            source: a.source,
            id: '0x0042',
            timestamp: Date.now(),
            severity: 'critical',
            message: a.message,
          }),
      }),
    );
    ctx.commands.register(
      defineCommand({
        name: 'emit reading',
        summary: 'define a BMC temperature metric and record a reading, as the IPMI poller does',
        privilege: 'ConfigureManager',
        args: Type.Object({ value: Type.Number() }),
        positional: ['value'],
        handler: (a) => {
          const id = 'event-emitter/bmc1/inlet-temp';
          try {
            ctx.telemetry.get(id);
          } catch {
            ctx.telemetry.define({
              id,
              name: 'BMC bmc1 Inlet Temp',
              kind: 'temperature',
              unit: 'Cel',
              source: { plugin: 'event-emitter', target: 'bmc1', sensor: 'Inlet Temp' },
              thresholds: { upperWarning: 35, upperCritical: 40 },
            });
          }
          return ctx.telemetry.record(id, a.value);
        },
      }),
    );
    return { start() {}, stop() {} };
  },
});

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'));
let dir: string;
let receiver: Server;
let receiverPort = 0;
const received: Array<Record<string, unknown>> = [];
const FAIL_ONCE = 'host_thermal_test-zone';
let attempts = 0;
let h: RedfishHarness;
let admin: string;
const ES = '/redfish/v1/EventService';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rf-events-'));
  const tls = await loadTls({ dir, address: '127.0.0.1' });
  receiver = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // The first delivery of the test's own event is refused, so it only arrives by a retry.
      // (The core's own threshold events may arrive too: they are let through.)
      if (body.includes(FAIL_ONCE)) attempts++;
      if (body.includes(FAIL_ONCE) && attempts === 1) {
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverPort = (receiver.address() as { port: number }).port;
  h = await bootRedfish({
    plugins: [emitter],
    sections: { eventCa: join(dir, 'cert.pem') },
  });
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  admin = await h.login('admin', 'Admin-pass-1');
}, 60_000);

afterAll(async () => {
  await h?.stop();
  receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

const until = async (pred: () => boolean, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('redfish events', () => {
  // Each test sets up what it asserts (subscriptions, SEL entries): they run in any order.
  // Member ids, not a count: another test's SSE stream may still be closing (its destination leaves the list).
  const subscriptions = async (): Promise<string[]> =>
    ((await h.rf('GET', `${ES}/Subscriptions`, { token: admin })).json.Members as Array<Record<string, string>>).map(
      (m) => m['@odata.id'] as string,
    );

  it('refuses subscriptions without https destinations or with another Protocol', async () => {
    const before = await subscriptions();
    const http = await h.rf('POST', `${ES}/Subscriptions`, {
      token: admin,
      body: { Destination: 'http://127.0.0.1/x', Protocol: 'Redfish' },
    });
    expect(http.status).toBe(400);
    expect(http.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/must be an https:\/\/ URL/);
    const proto = await h.rf('POST', `${ES}/Subscriptions`, {
      token: admin,
      body: { Destination: 'https://127.0.0.1/x', Protocol: 'SNMPv2c' },
    });
    expect(proto.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyValueNotInList');
    const missing = await h.rf('POST', `${ES}/Subscriptions`, { token: admin, body: { Protocol: 'Redfish' } });
    expect(missing.json.error['@Message.ExtendedInfo'][0].MessageId).toBe(
      'Base.1.22.1.CreateFailedMissingReqProperties',
    );
    expect((await subscriptions()).filter((id) => !before.includes(id))).toEqual([]);
  });

  it('lists an open SSE stream as an EventDestination and removes it when the client goes away', async () => {
    const sseDestinations = async (): Promise<Array<Record<string, unknown>>> => {
      const list = await h.rf('GET', `${ES}/Subscriptions`, { token: admin });
      const members = list.json.Members as Array<Record<string, string>>;
      const dests = await Promise.all(
        members.map(async (m) => (await h.rf('GET', m['@odata.id'] as string, { token: admin })).json),
      );
      return dests.filter((d) => d.SubscriptionType === 'SSE');
    };
    const settled = async (want: number): Promise<number> => {
      let n = (await sseDestinations()).length;
      const end = Date.now() + 10_000;
      while (n !== want && Date.now() < end) n = (await sseDestinations()).length;
      return n;
    };
    // Another test's stream may still be closing.
    expect(await settled(0)).toBe(0);
    const sse = await openSse(h, admin);
    const dests = await sseDestinations();
    expect(dests).toHaveLength(1);
    expect(schemas.check(dests[0] ?? {})).toEqual([]);
    sse.close();
    expect(await settled(0)).toBe(0);
  });

  it('delivers threshold crossings and SEL entries to SSE and to a subscription, retrying after a failure', async () => {
    const sub = await h.rf('POST', `${ES}/Subscriptions`, {
      token: admin,
      body: { Destination: `https://127.0.0.1:${receiverPort}/events`, Protocol: 'Redfish', Context: 'ctx-1' },
    });
    expect(sub.status).toBe(201);
    expect(sub.headers.location).toBe(sub.json['@odata.id']);
    expect((await h.rf('PATCH', ES, { token: admin, body: { DeliveryRetryIntervalSeconds: 1 } })).status).toBe(200);
    const sse = await openSse(h, admin);
    try {
      await h.agent.json(['emit', 'status', 'host/thermal/test-zone', 'critical']);
      const mine = (d: Record<string, unknown>): boolean => JSON.stringify(d).includes(FAIL_ONCE);
      const ev = await sse.waitFor(mine);
      const rec = (ev.Events as Array<Record<string, unknown>>)[0];
      expect(rec).toMatchObject({
        MessageId: 'ResourceEvent.1.4.3.ResourceStatusChangedCritical',
        MessageArgs: ['/redfish/v1/Chassis/host/Sensors/host_thermal_test-zone', 'Critical'],
        OriginOfCondition: { '@odata.id': '/redfish/v1/Chassis/host/Sensors/host_thermal_test-zone' },
      });
      expect(schemas.check(ev)).toEqual([]);
      await until(() => received.some(mine));
      expect(received.find(mine)).toMatchObject({
        Context: 'ctx-1',
        Events: [{ MessageId: 'ResourceEvent.1.4.3.ResourceStatusChangedCritical' }],
      });
      expect(attempts).toBe(2); // refused once, delivered by the retry

      await h.agent.json(['emit', 'sel', 'bmc1', 'Processor IERR']);
      const sel = (d: Record<string, unknown>): boolean => JSON.stringify(d).includes('Processor IERR');
      await until(() => received.some(sel));
      expect(received.find(sel)).toMatchObject({
        Events: [
          {
            MessageId: 'ResourceEvent.1.4.3.ResourceErrorsDetected',
            MessageArgs: ['bmc1', 'Processor IERR'],
            MessageSeverity: 'Critical',
          },
        ],
      });
      expect(schemas.check(received.find(sel) as Record<string, unknown>)).toEqual([]);
      const ids = sse.events.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      sse.close();
    }
  });

  it('keeps SEL entries in the HardwareLog service', async () => {
    await h.agent.json(['emit', 'sel', 'bmc1', 'DIMM A1 uncorrectable ECC']);
    const entries = async (): Promise<Array<Record<string, unknown>>> => {
      const list = await h.rf('GET', '/redfish/v1/Managers/vpmd/LogServices/HardwareLog/Entries', { token: admin });
      const members = list.json.Members as Array<Record<string, string>>;
      return Promise.all(
        members.map(async (m) => (await h.rf('GET', m['@odata.id'] as string, { token: admin })).json),
      );
    };
    let found: Record<string, unknown> | undefined;
    const end = Date.now() + 15_000;
    while (found === undefined && Date.now() < end)
      found = (await entries()).find((e) => e.Message === 'bmc1: DIMM A1 uncorrectable ECC');
    expect(found).toMatchObject({ Severity: 'Critical', Message: 'bmc1: DIMM A1 uncorrectable ECC' });
    expect(schemas.check(found ?? {})).toEqual([]);
  });

  it('serves metrics of another telemetry target (a BMC) as a chassis of its own, with thresholds and health', async () => {
    await h.agent.json(['emit', 'reading', '37.5']);
    const chassis = await h.rf('GET', '/redfish/v1/Chassis', { token: admin });
    expect(chassis.json.Members).toContainEqual({ '@odata.id': '/redfish/v1/Chassis/bmc-bmc1' });
    const sensor = await h.rf('GET', '/redfish/v1/Chassis/bmc-bmc1/Sensors/event-emitter_bmc1_inlet-temp', {
      token: admin,
    });
    expect(sensor.json).toMatchObject({
      Reading: 37.5,
      ReadingType: 'Temperature',
      ReadingUnits: 'Cel',
      Thresholds: { UpperCaution: { Reading: 35 }, UpperCritical: { Reading: 40 } },
      Status: { State: 'Enabled', Health: 'Warning' },
    });
    expect(schemas.check(sensor.json)).toEqual([]);
    const env = await h.rf('GET', '/redfish/v1/Chassis/bmc-bmc1/EnvironmentMetrics', { token: admin });
    expect(env.json.TemperatureCelsius).toEqual({ Reading: 37.5, DataSourceUri: sensor.json['@odata.id'] });
    // The host chassis does not list it.
    const hostSensors = await h.rf('GET', '/redfish/v1/Chassis/host/Sensors', { token: admin });
    expect(JSON.stringify(hostSensors.json)).not.toContain('bmc1');
    expect(
      (await h.rf('GET', '/redfish/v1/Chassis/host/Sensors/event-emitter_bmc1_inlet-temp', { token: admin })).status,
    ).toBe(404);
  });

  it('ends an SSE stream when its session logs out', async () => {
    const login = await h.rf('POST', '/redfish/v1/SessionService/Sessions', {
      body: { UserName: 'admin', Password: 'Admin-pass-1' },
    });
    const token = login.headers['x-auth-token'] as string;
    const sse = await openSse(h, token);
    const ended = new Promise<void>((resolve) => sse.onEnd(resolve));
    expect((await h.rf('DELETE', String(login.headers.location), { token })).status).toBe(204);
    await ended;
  });

  it('persists subscriptions and retry settings in the plugin state', async () => {
    const sub = await h.rf('POST', `${ES}/Subscriptions`, {
      token: admin,
      body: { Destination: `https://127.0.0.1:${receiverPort}/kept`, Protocol: 'Redfish', Context: 'ctx-kept' },
    });
    expect(sub.status).toBe(201);
    expect((await h.rf('PATCH', ES, { token: admin, body: { DeliveryRetryIntervalSeconds: 1 } })).status).toBe(200);
    const state = JSON.parse(
      await readFile(join(h.agent.dir, 'state', 'plugins', 'redfish', 'subscriptions.json'), 'utf8'),
    ) as { data: { subscriptions: unknown[]; retryIntervalSeconds: number } };
    expect(state.data.subscriptions).toContainEqual(
      expect.objectContaining({
        destination: `https://127.0.0.1:${receiverPort}/kept`,
        context: 'ctx-kept',
        owner: 'admin',
      }),
    );
    expect(state.data.retryIntervalSeconds).toBe(1);
    // Gone again, so the delivery test's subscription is the only one its events go to.
    expect((await h.rf('DELETE', String(sub.headers.location), { token: admin })).status).toBe(204);
  });
});
