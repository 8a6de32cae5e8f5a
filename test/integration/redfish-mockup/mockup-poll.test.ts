/**
 * The Redfish poller against DMTF's Redfish Mockup Server (public-rackmount1), over HTTP and
 * HTTPS (certificate pinned by fingerprint, and trusted through a CA file). The mockup server is
 * not in this repository: this file runs in its own stage (npm run test:redfish-mockup, and
 * .ci/run where ../shared/tools/redfish-mockup-server exists), not in `npm test`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedfishMockup, type RedfishMockup } from '../../../testkit/index.js';
import {
  ADMIN,
  bootPoller,
  makeCert,
  removeCert,
  waitFor,
  type PollingAgent,
  type TestCert,
} from '../../plugins/redfish/poller-support.js';

const SENSORS = '/redfish/v1/Chassis/1U/Sensors';

describe('Redfish poller against the DMTF Redfish Mockup Server', () => {
  let cert: TestCert;
  let plain: RedfishMockup;
  let secure: RedfishMockup;
  let secureCa: RedfishMockup;
  let p: PollingAgent;

  beforeAll(async () => {
    cert = await makeCert();
    const tls = { certFile: cert.certFile, keyFile: join(cert.dir, 'key.pem') };
    [plain, secure, secureCa] = await Promise.all([
      startRedfishMockup(),
      startRedfishMockup({ tls }),
      startRedfishMockup({ tls }),
    ]);
    const login = { username: 'Administrator', password: 'Password' };
    p = await bootPoller([
      { name: 'mock-http', url: plain.url, ...login, plainHttp: true },
      { name: 'mock-https', url: secure.url, ...login, fingerprint: cert.fingerprint },
      { name: 'mock-ca', url: secureCa.url, ...login, ca: cert.certFile },
    ]);
    await waitFor(
      async () => [...(await p.targets()).values()].every((t) => t.state === 'ok'),
      'the three mockups polled',
    );
  });

  afterAll(async () => {
    await p?.agent.stop();
    await Promise.all([plain, secure, secureCa].map((m) => m?.stop()));
    if (cert) await removeCert(cert);
  });

  it.each(['mock-http', 'mock-https', 'mock-ca'])('%s: reads every Sensor with its unit and source', async (name) => {
    const metrics = await p.telemetry(name);
    const bySensor = new Map(metrics.map((m) => [m.source.sensor, m]));
    expect(bySensor.get(`${SENSORS}/CPU1Temp`)).toMatchObject({ kind: 'temperature', unit: 'Cel', value: 37 });
    expect(bySensor.get(`${SENSORS}/TotalPower`)).toMatchObject({ kind: 'power', unit: 'W' });
    const energy = bySensor.get(`${SENSORS}/PS1Energy`);
    expect(energy).toMatchObject({ kind: 'energy', unit: 'J' });
    // 42 Sensors in the mockup; every one became a metric (with the system power beside them).
    expect(metrics.filter((m) => m.source.sensor.startsWith(`${SENSORS}/`)).length).toBeGreaterThanOrEqual(42);
    expect(metrics.find((m) => m.id === `redfish/${name}/system-power`)?.value).toBeGreaterThan(0);
    for (const m of metrics) expect(m.source.plugin).toBe('redfish');
  });

  it('reads PowerState, the allowed ResetType values, and uses $expand', async () => {
    const t = (await p.targets()).get('mock-http');
    expect(t).toMatchObject({ state: 'ok', powerState: 'On' });
    expect(t?.resetTypes).toEqual([
      'On',
      'ForceOff',
      'GracefulShutdown',
      'GracefulRestart',
      'ForceRestart',
      'Nmi',
      'ForceOn',
      'PushPowerButton',
    ]);
    // Discovery and one poll with the Sensors collection expanded: far fewer GETs than Sensors.
    expect(t?.requests).toBeLessThan(60);
  });

  it('turns the LogService entries into hw.log.v1 events, by polling: the mockup has no SSE stream', async () => {
    // Its EventService has no ServerSentEventUri (it pushes to subscribed destinations only):
    // with poll.events on, the poller falls back to reading the logs at every poll.
    const root = await p.agent.json<Record<string, unknown>>([
      'redfish',
      'walk',
      'mock-http',
      '/redfish/v1/EventService',
    ]);
    expect(root.ServerSentEventUri).toBeUndefined();
    expect((await p.targets()).get('mock-http')?.events).toBe('polled');
    await waitFor(() => p.hwLog.some((e) => e.source === 'redfish/mock-http'), 'log entries');
    const e = p.hwLog.find((x) => x.source === 'redfish/mock-http' && /Melting/.test(x.message));
    expect(e).toMatchObject({ severity: 'critical', timestamp: Date.parse('2012-03-07T14:44:00Z') });
    const logs = await p.agent.json<Array<{ log: string }>>(['redfish', 'logs', 'mock-https']);
    expect(logs.length).toBeGreaterThan(0);
  });

  it('reads and writes the PowerLimit Control through bmcs@1', async () => {
    const bmcs = p.bmcs();
    expect(await bmcs.powerLimit('mock-http')).toMatchObject({
      watts: 500,
      active: true,
      allowableMin: 150,
      allowableMax: 1000,
    });
    const set = await bmcs.setPowerLimit('mock-http', { watts: 320 }, ADMIN);
    expect(set?.watts).toBe(320);
    expect((await bmcs.powerLimit('mock-http'))?.watts).toBe(320);
  });

  it('sends Reset through bmcs@1 (vpmctl wake goes this way) and identify', async () => {
    await p.bmcs().chassis('mock-https', 'off', ADMIN);
    await p.bmcs().chassis('mock-https', 'on', ADMIN);
    await p.bmcs().identify('mock-https', true, ADMIN);
    const sys = await p.agent.json<{ LocationIndicatorActive?: boolean; IndicatorLED?: string }>([
      'redfish',
      'walk',
      'mock-https',
      '/redfish/v1/Systems/437XR1138R2',
    ]);
    expect(sys.LocationIndicatorActive === true || sys.IndicatorLED === 'Blinking').toBe(true);
  });

  it('degrades a hung mockup only, and recovers it', async () => {
    secureCa.process.suspend();
    try {
      await p.agent.json(['redfish', 'poll']);
      const t = await p.targets();
      expect(t.get('mock-ca')?.state).not.toBe('ok');
      expect(t.get('mock-http')?.state).toBe('ok');
      expect(t.get('mock-https')?.state).toBe('ok');
    } finally {
      secureCa.process.resume();
    }
    await waitFor(async () => {
      await p.agent.json(['redfish', 'poll']);
      return (await p.targets()).get('mock-ca')?.state === 'ok';
    }, 'mock-ca back');
  });
});
