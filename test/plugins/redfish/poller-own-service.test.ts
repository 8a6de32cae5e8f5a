/**
 * The Redfish poller against vpmd's own Redfish service (a second agent as the BMC): TLS
 * verified against the service's certificate, readings of its host chassis with units and
 * source, PowerState and Reset's allowed values, its LogServices, its SSE stream followed (an
 * event the service sends re-reads the chassis it names), and `redfish walk`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugin } from '../../../testkit/index.js';
import { bootRedfish, type RedfishHarness } from './support.js';
import { emitStatusCommand } from './emit-status.js';
import { bootPoller, waitFor, type PollingAgent } from './poller-support.js';

/** On the BMC's side: emits a threshold crossing, which its Redfish service sends as an event. */
const statusEmitter = testPlugin({
  name: 'status-emitter',
  description: 'test: emits telemetry.status.v1 on command',
  register(ctx) {
    ctx.commands.register(emitStatusCommand(ctx.events));
    return { start: () => undefined, stop: () => undefined };
  },
});

describe("Redfish poller against vpmd's own Redfish service", () => {
  let bmc: RedfishHarness;
  let p: PollingAgent;

  beforeAll(async () => {
    bmc = await bootRedfish({ plugins: [statusEmitter] });
    await bmc.addAccount('poller', 'Operator', 'Poller-pass-1234');
    p = await bootPoller([
      {
        name: 'vpmd-bmc',
        url: `https://127.0.0.1:${bmc.port}`,
        username: 'poller',
        password: 'Poller-pass-1234',
        ca: join(bmc.agent.dir, 'state', 'plugins', 'redfish', 'tls', 'cert.pem'),
      },
    ]);
    await waitFor(async () => (await p.targets()).get('vpmd-bmc')?.state === 'ok', 'vpmd-bmc polled');
  });

  afterAll(async () => {
    await p?.agent.stop();
    await bmc?.stop();
  });

  it("records the service's host chassis readings with units and source", async () => {
    const metrics = await p.telemetry('vpmd-bmc');
    const temps = metrics.filter((m) => m.kind === 'temperature');
    expect(temps.length).toBeGreaterThan(0);
    for (const t of temps) {
      expect(t.unit).toBe('Cel');
      expect(t.source.plugin).toBe('redfish');
      expect(t.source.sensor).toMatch(/^\/redfish\/v1\/Chassis\/host\/Sensors\//);
    }
    expect(metrics.some((m) => m.kind === 'power' && m.unit === 'W')).toBe(true);
    // The same readings as the BMC's own store, as its Sensors serve them.
    const served = await bmc.agent.json<Array<{ kind: string }>>(['telemetry', 'list', '--target', 'host']);
    expect(temps.length).toBe(served.filter((m) => m.kind === 'temperature').length);
  });

  it('reads PowerState and the allowed ResetType values', async () => {
    const t = (await p.targets()).get('vpmd-bmc');
    expect(t?.powerState).toBe('On');
    expect(t?.resetTypes.length).toBeGreaterThan(0);
    expect(t?.logins).toBe(1);
  });

  it('follows the SSE stream the service offers: its event re-reads the chassis it names, no poll', async () => {
    const target = async () => (await p.targets()).get('vpmd-bmc');
    await waitFor(async () => (await target())?.events === 'sse', 'SSE stream open');
    const before = await target();
    const temp = (
      await bmc.agent.json<Array<{ id: string; kind: string }>>(['telemetry', 'list', '--target', 'host'])
    ).find((m) => m.kind === 'temperature');
    expect(temp).toBeDefined();
    await bmc.agent.json(['emit', 'status', temp?.id ?? '', 'warning']);
    await waitFor(async () => ((await target())?.eventRereads ?? 0) > (before?.eventRereads ?? 0), 'a re-read');
    const after = await target();
    // The chassis was read again (its Sensors), without a poll.
    expect(after?.polls).toBe(before?.polls);
    expect(after?.requests).toBeGreaterThan(before?.requests ?? 0);
  });

  it("lists the service's log entries and walks any URI", async () => {
    const logs = await p.agent.json<Array<{ log: string; message: string }>>(['redfish', 'logs', 'vpmd-bmc']);
    // The account creation above is in the service's audit log.
    expect(logs.some((l) => l.log.endsWith('/AuditLog/Entries') && /account add poller/.test(l.message))).toBe(true);
    const root = await p.agent.json<{ RedfishVersion: string }>(['redfish', 'walk', 'vpmd-bmc', '/redfish/v1/']);
    expect(root.RedfishVersion).toMatch(/^1\./);
    const human = await p.agent.run(['redfish', 'sensors', 'vpmd-bmc']);
    expect(human.type).toBe('result');
  });
});
