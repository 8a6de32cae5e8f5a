/**
 * The Redfish poller against BMCs that misbehave (test/plugins/redfish/fault-bmc.ts): readings
 * with units and source, ETags, one session per BMC with a new login after a 401, logout on stop,
 * the deprecated Power/Thermal fallback, log entries as hw.log.v1, control through bmcs@1, and
 * one bad BMC (slow, 500s, malformed JSON, gone, wrong certificate) degrading only itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultBmc, type FaultBmc } from './fault-bmc.js';
import {
  ADMIN,
  bootPoller,
  makeCert,
  removeCert,
  waitFor,
  type PollingAgent,
  type TestCert,
} from './poller-support.js';

const login = { username: 'poller', password: 'secret' };

// One agent's life against the BMCs, ending with its stop: the block keeps its order under
// `--sequence.shuffle` (the last test stops the agent the others use).
describe('Redfish poller against fault-injecting BMCs', { shuffle: false }, () => {
  let cert: TestCert;
  let good: FaultBmc;
  let legacy: FaultBmc;
  let slow: FaultBmc;
  let failing: FaultBmc;
  let malformed: FaultBmc;
  let vanishing: FaultBmc;
  let pinnedWrong: FaultBmc;
  let streaming: FaultBmc;
  let p: PollingAgent;

  beforeAll(async () => {
    cert = await makeCert();
    const tls = { key: cert.key, cert: cert.cert };
    [good, legacy, slow, failing, malformed, vanishing, pinnedWrong, streaming] = await Promise.all([
      startFaultBmc({ tls }),
      startFaultBmc({ legacyOnly: true }),
      startFaultBmc({ slowMs: 6000 }),
      startFaultBmc(),
      startFaultBmc(),
      startFaultBmc(),
      startFaultBmc({ tls }),
      startFaultBmc({ sse: true }),
    ]);
    const wrong = cert.fingerprint.replace(/^../, cert.fingerprint.startsWith('00') ? '11' : '00');
    p = await bootPoller([
      { name: 'good', url: good.url, ...login, fingerprint: cert.fingerprint },
      { name: 'legacy', url: legacy.url, ...login, plainHttp: true },
      { name: 'slow', url: slow.url, ...login, plainHttp: true },
      { name: 'failing', url: failing.url, ...login, plainHttp: true },
      { name: 'malformed', url: malformed.url, ...login, plainHttp: true },
      { name: 'vanishing', url: vanishing.url, ...login, plainHttp: true },
      { name: 'pinned-wrong', url: pinnedWrong.url, ...login, fingerprint: wrong },
      { name: 'streaming', url: streaming.url, ...login, plainHttp: true },
    ]);
    await waitFor(
      async () => [...(await p.targets()).values()].every((t) => t.state !== 'unknown'),
      'every target polled once',
    );
  });

  afterAll(async () => {
    await p?.agent.stop();
    await Promise.all([good, legacy, slow, failing, malformed, pinnedWrong, streaming].map((b) => b?.vanish()));
    if (cert) await removeCert(cert);
  });

  it('records readings with units and source, the system power and the power state', async () => {
    const metrics = await p.telemetry('good');
    const temp = metrics.find((m) => m.source.sensor === '/redfish/v1/Chassis/1/Sensors/Temp1');
    expect(temp).toMatchObject({ kind: 'temperature', unit: 'Cel', value: 40, status: 'ok' });
    expect(temp?.source).toEqual({ plugin: 'redfish', target: 'good', sensor: '/redfish/v1/Chassis/1/Sensors/Temp1' });
    const energy = metrics.find((m) => m.kind === 'energy');
    expect(energy).toMatchObject({ unit: 'J', value: 12.5 * 3.6e6 });
    expect(metrics.find((m) => m.id === 'redfish/good/system-power')).toMatchObject({ value: 200, unit: 'W' });
    // PowerWatts names Sensors/Power1 as its source: one power metric of the chassis, not two.
    expect(metrics.filter((m) => m.kind === 'power' && m.id !== 'redfish/good/system-power')).toHaveLength(1);
    // Modern resources gave power and temperature: the deprecated ones were not read.
    expect(good.requests).not.toContain('GET /redfish/v1/Chassis/1/Thermal');
    const t = (await p.targets()).get('good');
    expect(t).toMatchObject({ state: 'ok', powerState: 'On', events: 'polled' });
    expect(t?.resetTypes).toContain('ForceOff');
  });

  it('falls back to the deprecated Power and Thermal where a BMC has nothing newer', async () => {
    const metrics = await p.telemetry('legacy');
    expect(metrics.find((m) => m.kind === 'temperature')).toMatchObject({ value: 41, unit: 'Cel' });
    expect(metrics.find((m) => m.kind === 'fan')).toMatchObject({ value: 3000, unit: 'RPM' });
    expect(metrics.find((m) => m.kind === 'voltage')).toMatchObject({ value: 12.1, unit: 'V' });
    expect(metrics.find((m) => m.id === 'redfish/legacy/system-power')).toMatchObject({ value: 201 });
  });

  it('keeps one session, sends If-None-Match, and reads changes', async () => {
    const before = good.notModified;
    good.setReading('Temp1', 43);
    await p.agent.json(['redfish', 'poll']);
    expect(good.notModified).toBeGreaterThan(before);
    expect(good.logins).toBe(1);
    const temp = (await p.telemetry('good')).find((m) => m.source.sensor.endsWith('/Sensors/Temp1'));
    expect(temp?.value).toBe(43);
  });

  it('logs in again when the BMC answers 401 mid-session', async () => {
    good.expireSessions();
    await p.agent.json(['redfish', 'poll']);
    expect(good.logins).toBe(2);
    expect((await p.targets()).get('good')?.state).toBe('ok');
  });

  it('one bad BMC degrades only itself', async () => {
    await p.agent.json(['redfish', 'poll']);
    const withValues = async (name: string): Promise<number> =>
      (await p.telemetry(name)).filter((m) => m.value !== null).length;
    expect(await withValues('failing')).toBeGreaterThan(0);
    failing.fault = 'error500';
    malformed.fault = 'malformed';
    slow.fault = 'slow';
    await vanishing.vanish();
    const sweep = await p.agent.json<{ ok: number; failed: number }>(['redfish', 'poll']);
    expect(sweep.failed).toBeGreaterThanOrEqual(4);
    const t = await p.targets();
    expect(t.get('failing')?.detail).toMatch(/HTTP 500/);
    expect(t.get('malformed')?.detail).toMatch(/not JSON/);
    expect(t.get('slow')?.detail).toMatch(/no answer within 2000 ms/);
    expect(t.get('vanishing')?.detail).toMatch(/ECONNREFUSED|refused|connect/i);
    for (const bad of ['failing', 'malformed', 'slow', 'vanishing']) {
      expect(t.get(bad)?.state).not.toBe('ok');
      expect(await withValues(bad)).toBe(0); // its readings are unavailable, not stale
    }
    expect(t.get('good')?.state).toBe('ok');
    expect(t.get('legacy')?.state).toBe('ok');
    expect(await withValues('good')).toBeGreaterThan(0);
    const status = (await p.agent.status()).find((s) => s.name === 'redfish');
    expect(status?.state).toBe('running');
    failing.fault = 'none';
    await p.agent.json(['redfish', 'poll']);
    expect((await p.targets()).get('failing')?.state).toBe('ok');
  });

  it('never sends credentials to a BMC whose certificate is not the pinned one', async () => {
    const t = (await p.targets()).get('pinned-wrong');
    expect(t?.state).not.toBe('ok');
    expect(t?.detail).toMatch(/fingerprint/);
    expect(pinnedWrong.requests).toEqual([]);
  });

  it('turns log entries into hw.log.v1 events once each', async () => {
    const mine = (): typeof p.hwLog => p.hwLog.filter((e) => e.source === 'redfish/good');
    await waitFor(() => mine().length >= 1, 'the first entry');
    expect(mine()[0]).toMatchObject({ severity: 'warning', message: 'Fan 2 failed' });
    good.addLogEntry('PSU 1 lost input', 'Critical');
    await p.agent.json(['redfish', 'poll']);
    expect(mine().map((e) => e.message)).toEqual(['Fan 2 failed', 'PSU 1 lost input']);
    expect(mine()[1]?.severity).toBe('critical');
    const logs = await p.agent.json<Array<{ message: string }>>(['redfish', 'logs', 'good']);
    expect(logs.map((l) => l.message)).toEqual(['Fan 2 failed', 'PSU 1 lost input']);
  });

  it("follows a BMC's SSE stream: an event reads the logs, no poll needed", async () => {
    await waitFor(async () => (await p.targets()).get('streaming')?.events === 'sse', 'SSE stream open');
    expect(streaming.streams()).toBe(1);
    const mine = (): typeof p.hwLog => p.hwLog.filter((e) => e.source === 'redfish/streaming');
    await waitFor(() => mine().length === 1, 'the first entry');
    streaming.addLogEntry('Chassis intrusion', 'Critical');
    const gets = streaming.requests.length;
    streaming.sendEvent('ResourceEvent.1.0.ResourceErrorsDetected');
    await waitFor(() => mine().length === 2, 'the entry read after the event');
    expect(mine()[1]).toMatchObject({ message: 'Chassis intrusion', severity: 'critical' });
    // Only the log was read for it, not the sensors.
    expect(streaming.requests.slice(gets).every((r) => r.includes('/LogServices/'))).toBe(true);
  });

  it('controls the BMC through bmcs@1: Reset, identify, power limit', async () => {
    const bmcs = p.bmcs();
    expect(bmcs.targets().find((t) => t.name === 'good')).toMatchObject({ protocol: 'redfish', power: 'on' });
    await bmcs.chassis('good', 'off', ADMIN);
    await bmcs.chassis('good', 'on', ADMIN);
    await bmcs.chassis('good', 'cycle', ADMIN);
    expect(good.resets).toEqual(['ForceOff', 'On', 'PowerCycle']);
    await bmcs.identify('good', true, ADMIN);
    expect(good.patches.at(-1)).toEqual({ path: '/redfish/v1/Systems/1', body: { LocationIndicatorActive: true } });
    expect(await bmcs.powerLimit('good')).toEqual({ watts: 500, active: true, allowableMin: 100, allowableMax: 1000 });
    const set = await bmcs.setPowerLimit('good', { watts: 300 }, ADMIN);
    expect(set).toMatchObject({ watts: 300, active: true });
    const off = await bmcs.setPowerLimit('good', { watts: null }, ADMIN);
    expect(off).toMatchObject({ active: false });
    await expect(bmcs.powerLimit('legacy')).rejects.toThrow(/offers no power limit/);
    const reader = { ...ADMIN, role: 'ReadOnly' as const };
    await expect(bmcs.chassis('good', 'off', reader)).rejects.toThrow();
    expect(good.resets).toHaveLength(3);
    const audit = await p.agent.json<Array<{ action: string; outcome: string }>>(['audit']);
    expect(audit.some((a) => a.action === 'redfish chassis good off' && a.outcome === 'ok')).toBe(true);
  });

  it('resets with any allowed ResetType from the CLI, and refuses the others', async () => {
    await p.agent.json(['redfish', 'reset', 'good', 'GracefulShutdown']);
    expect(good.resets.at(-1)).toBe('GracefulShutdown');
    const r = await p.agent.run(['redfish', 'reset', 'good', 'Nmi']);
    expect(r.type).toBe('error');
    const walk = await p.agent.json<{ Members: unknown[] }>(['redfish', 'walk', 'good', '/redfish/v1/Chassis']);
    expect(walk.Members).toHaveLength(1);
  });

  it('logs out of each BMC when stopped', async () => {
    await p.agent.stop();
    expect(good.logouts).toBe(1);
    expect(legacy.logouts).toBe(1);
  });
});

describe('a BMC that pages its log entries', () => {
  let bmc: FaultBmc;
  let p: PollingAgent;
  afterAll(async () => {
    await p?.agent.stop();
    await bmc?.vanish();
  });

  it('follows Members@odata.nextLink and relays every entry once, in order', async () => {
    bmc = await startFaultBmc({ logPageSize: 2 });
    for (const m of ['PSU 1 lost input', 'PSU 1 restored', 'Fan 3 slow', 'Inlet above caution'])
      bmc.addLogEntry(m, 'Warning');
    p = await bootPoller([{ name: 'paged', url: bmc.url, ...login, plainHttp: true }]);
    const mine = (): string[] => p.hwLog.filter((e) => e.source === 'redfish/paged').map((e) => e.message);
    const all = ['Fan 2 failed', 'PSU 1 lost input', 'PSU 1 restored', 'Fan 3 slow', 'Inlet above caution'];
    await waitFor(() => mine().length >= all.length, 'all five entries, from three pages');
    expect(mine()).toEqual(all);
    expect(bmc.requests.filter((r) => r.endsWith('/LogServices/Log/Entries')).length).toBeGreaterThanOrEqual(3);
    // A poll with nothing new relays nothing twice.
    await p.agent.json(['redfish', 'poll']);
    expect(mine()).toEqual(all);
  });
});
