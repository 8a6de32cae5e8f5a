/**
 * The Redfish poller following a BMC's SSE stream (test/plugins/redfish/fault-bmc.ts): an event
 * re-reads what its OriginOfCondition names (a chassis' Sensors, the system) without a poll, and
 * the new values land in telemetry; a dropped stream leaves polling (logs included) going and
 * comes back by itself. The routing of event payloads is checked on its own as well.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rereadsFor } from '../../../plugins/redfish/poller/event-routing.js';
import { startFaultBmc, type FaultBmc } from './fault-bmc.js';
import { bootPoller, waitFor, type PollingAgent } from './poller-support.js';

const CHASSIS = '/redfish/v1/Chassis/1';
const SYSTEM = '/redfish/v1/Systems/1';

describe('what an event makes the poller read again', () => {
  const d = {
    systems: [SYSTEM],
    chassis: [
      { id: '1', uri: CHASSIS },
      { id: '10', uri: '/redfish/v1/Chassis/10' },
    ],
  };
  const event = (...origins: Array<string | undefined>): string =>
    JSON.stringify({
      Events: origins.map((o, i) => ({
        MessageId: 'ResourceEvent.1.0.ResourceChanged',
        EventId: String(i),
        ...(o ? { OriginOfCondition: { '@odata.id': o } } : {}),
      })),
    });

  it('a resource under a chassis re-reads that chassis only (not a chassis whose Id merely starts alike)', () => {
    const r = rereadsFor(event(`${CHASSIS}/Sensors/Temp1`), d);
    expect([...r.chassis]).toEqual(['1']);
    expect(r.system).toBe(false);
    expect(r.logs).toBe(true);
  });

  it('the system, several records, an absolute URL; a log or an unknown origin reads the logs only', () => {
    const r = rereadsFor(event(SYSTEM, 'https://bmc.example/redfish/v1/Chassis/10/Controls/PowerLimit'), d);
    expect(r.system).toBe(true);
    expect([...r.chassis]).toEqual(['10']);
    const logsOnly = rereadsFor(event(`${SYSTEM}/LogServices/Log1/Entries/7`, '/redfish/v1/Managers/1', undefined), d);
    expect(logsOnly).toEqual({ system: false, chassis: new Set(), logs: true });
  });

  it('a payload that is not a Redfish Event re-reads everything', () => {
    for (const data of ['not json', '{"Id": "1"}', '[]']) {
      const r = rereadsFor(data, d);
      expect(r.system).toBe(true);
      expect([...r.chassis].sort()).toEqual(['1', '10']);
    }
  });
});

// One agent's life against one streaming BMC: the tests keep their order under shuffle.
describe('Redfish poller following an SSE stream', { shuffle: false }, () => {
  let bmc: FaultBmc;
  let p: PollingAgent;
  const temp = async (): Promise<number | null | undefined> =>
    (await p.telemetry('ev')).find((m) => m.source.sensor === `${CHASSIS}/Sensors/Temp1`)?.value;
  const target = async () => (await p.targets()).get('ev');

  beforeAll(async () => {
    bmc = await startFaultBmc({ sse: true });
    p = await bootPoller([{ name: 'ev', url: bmc.url, username: 'poller', password: 'secret', plainHttp: true }]);
    await waitFor(async () => (await target())?.events === 'sse' && bmc.streams() === 1, 'SSE stream open');
  });

  afterAll(async () => {
    await p?.agent.stop();
    await bmc?.vanish();
  });

  it("a Sensor's event re-reads its chassis, no poll: the new reading is in telemetry", async () => {
    const polls = (await target())?.polls;
    const from = bmc.requests.length;
    bmc.setReading('Temp1', 47);
    bmc.sendEvent('ResourceEvent.1.0.ResourceStatusChangedWarning', `${CHASSIS}/Sensors/Temp1`);
    await waitFor(async () => (await temp()) === 47, 'Temp1 at 47 after the event');
    const after = bmc.requests.slice(from);
    expect(after.some((r) => r.startsWith(`GET ${CHASSIS}/Sensors`))).toBe(true);
    // Targeted: the system was not read, and no poll ran.
    expect(after.some((r) => r === `GET ${SYSTEM}`)).toBe(false);
    expect((await target())?.polls).toBe(polls);
    expect((await target())?.eventRereads).toBeGreaterThanOrEqual(1);
  });

  it("a power event re-reads the system's PowerState, not the sensors", async () => {
    const from = bmc.requests.length;
    bmc.powerState = 'Off';
    bmc.sendEvent('ResourceEvent.1.0.ResourcePoweredOff', SYSTEM);
    await waitFor(async () => (await target())?.powerState === 'Off', 'PowerState Off after the event');
    expect(bmc.requests.slice(from).some((r) => r.includes('/Sensors'))).toBe(false);
  });

  it('a dropped stream: polls go on and read the logs meanwhile; the stream comes back by itself', async () => {
    bmc.refuseStreams = true;
    bmc.dropStreams();
    await waitFor(async () => (await target())?.events === 'polled', 'stream seen down');
    bmc.addLogEntry('PSU 2 lost input', 'Critical');
    bmc.setReading('Temp1', 44);
    await p.agent.json(['redfish', 'poll']);
    // With the stream down the poll reads the logs itself.
    expect(p.hwLog.some((e) => e.source === 'redfish/ev' && e.message.startsWith('PSU 2 lost input'))).toBe(true);
    expect(await temp()).toBe(44);
    bmc.refuseStreams = false;
    await waitFor(async () => (await target())?.events === 'sse' && bmc.streams() === 1, 'stream reopened');
    bmc.setReading('Temp1', 52);
    bmc.sendEvent('ResourceEvent.1.0.ResourceStatusChangedCritical', `${CHASSIS}/Sensors/Temp1`);
    await waitFor(async () => (await temp()) === 52, 'events flow again');
  });
});
