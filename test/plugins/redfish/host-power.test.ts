/**
 * The host as a Redfish ComputerSystem: processors' frequency ranges read from and written to
 * cpufreq (the simulated kernel's files), Reset offering only what this host can do, and with
 * the real libvirt-caps plugin over dbusmock's logind: Suspend through logind, PowerState and
 * the power event on the SSE stream, the libvirt capabilities document. With the real
 * virtio-channels plugin, a processor range also bounds what guests may ask for.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLogindMock, startPrivateBus, type LogindMock, type PrivateBus } from '../../../testkit/peers/index.js';
import libvirtCaps from '../../../plugins/libvirt-caps/index.js';
import virtioChannels from '../../../plugins/virtio-channels/index.js';
import { bootRedfish, openSse, type RedfishHarness } from './support.js';

const S = '/redfish/v1/Systems/host';
const cpufreq = async (root: string, policy: number, file: string): Promise<string> =>
  (await readFile(join(root, 'sys/devices/system/cpu/cpufreq', `policy${policy}`, file), 'utf8')).trim();
const ids = (r: { json: { error: { '@Message.ExtendedInfo': Array<{ MessageId: string }> } } }): string[] =>
  r.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId);

describe('without host-sleep, capabilities-documents or guest-channels providers', () => {
  let h: RedfishHarness;
  let admin: string;
  beforeAll(async () => {
    h = await bootRedfish({
      core: { hostPower: { busAddress: 'unix:path=/nonexistent/vpmd-test-bus', timeout: 2 } },
    });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('offers only On, and says why Suspend and the others are not offered', async () => {
    const info = await h.rf('GET', `${S}/ResetActionInfo`, { token: admin });
    expect(info.json.Parameters[0].AllowableValues).toEqual(['On']);
    expect(info.json.Description).toMatch(/Suspend: not offered \(no host-sleep provider is running/);
    expect(info.json.Description).toMatch(
      /GracefulShutdown: not offered \(systemd-logind unavailable: logind connect on unix:path=\/nonexistent/,
    );
    expect(
      ids(
        await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
          token: admin,
          body: { ResetType: 'GracefulShutdown' },
        }),
      ),
    ).toEqual(['Base.1.22.1.ActionParameterValueNotInList']);
    const r = await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, { token: admin, body: { ResetType: 'Suspend' } });
    expect(r.status).toBe(400);
    expect(ids(r)).toEqual(['Base.1.22.1.ActionParameterValueNotInList']);
    expect(r.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/no host-sleep provider/);
    expect(ids(await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, { token: admin, body: {} }))).toEqual([
      'Base.1.22.1.ActionParameterMissing',
    ]);
    expect(
      ids(
        await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
          token: admin,
          body: { ResetType: 'On', Force: true },
        }),
      ),
    ).toEqual(['Base.1.22.1.ActionParameterUnknown']);
    expect(
      (await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, { token: admin, body: { ResetType: 'On' } })).status,
    ).toBe(204);
    const sys = await h.rf('GET', S, { token: admin });
    expect(sys.json.PowerState).toBe('On');
    const docs = await h.rf('GET', sys.json.Oem.Vpmd.CapabilitiesDocuments['@odata.id'], { token: admin });
    expect(docs.json).toMatchObject({
      Available: false,
      Reason: expect.stringMatching(/no capabilities-documents provider/),
    });
    const doc = await h.rf('GET', `${S}/Oem/Vpmd/CapabilitiesDocuments/libvirt-capabilities.xml`, { token: admin });
    expect(doc.status).toBe(503);
    expect(doc.text).toMatch(/enable the libvirt-caps plugin/);
  });

  it('reports the processor summary and each package with current and allowed frequencies from cpufreq', async () => {
    const sys = await h.rf('GET', S, { token: admin });
    expect(sys.json.ProcessorSummary).toMatchObject({ Count: 1, CoreCount: 4, LogicalProcessorCount: 8 });
    const cpu = await h.rf('GET', `${S}/Processors/CPU0`, { token: admin });
    const max = Number(await cpufreq(h.agent.hostRoot, 0, 'cpuinfo_max_freq')) / 1000;
    const min = Number(await cpufreq(h.agent.hostRoot, 0, 'cpuinfo_min_freq')) / 1000;
    expect(cpu.json.OperatingSpeedRangeMHz).toMatchObject({
      AllowableMin: Math.round(min),
      AllowableMax: Math.round(max),
    });
    expect(cpu.json.MaxSpeedMHz).toBe(Math.round(max));
    expect(cpu.json.TotalThreads).toBe(8);
  });

  it('PATCHes OperatingSpeedRangeMHz into every policy of the package; refuses out-of-range or crossed values, changing nothing', async () => {
    const cur = await h.rf('GET', `${S}/Processors/CPU0`, { token: admin });
    const ok = await h.rf('PATCH', `${S}/Processors/CPU0`, {
      token: admin,
      body: { OperatingSpeedRangeMHz: { SettingMax: 2000 } },
      headers: { 'If-Match': String(cur.headers.etag) },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.OperatingSpeedRangeMHz.SettingMax).toBe(2000);
    for (let p = 0; p < 8; p++) expect(await cpufreq(h.agent.hostRoot, p, 'scaling_max_freq')).toBe('2000000');
    const far = await h.rf('PATCH', `${S}/Processors/CPU0`, {
      token: admin,
      body: { OperatingSpeedRangeMHz: { SettingMax: 99999 } },
    });
    expect(ids(far)).toEqual(['Base.1.22.1.PropertyValueOutOfRange']);
    const crossed = await h.rf('PATCH', `${S}/Processors/CPU0`, {
      token: admin,
      body: { OperatingSpeedRangeMHz: { SettingMin: 1900, SettingMax: 1500 } },
    });
    expect(ids(crossed)).toEqual(['Base.1.22.1.PropertyValueConflict']);
    expect(ids(await h.rf('PATCH', `${S}/Processors/CPU0`, { token: admin, body: { MaxSpeedMHz: 1 } }))).toEqual([
      'Base.1.22.1.PropertyNotWritable',
    ]);
    expect(
      ids(
        await h.rf('PATCH', `${S}/Processors/CPU0`, {
          token: admin,
          body: { OperatingSpeedRangeMHz: { SettingMax: '2GHz' } },
        }),
      ),
    ).toEqual(['Base.1.22.1.PropertyValueTypeError']);
    expect(await cpufreq(h.agent.hostRoot, 0, 'scaling_max_freq')).toBe('2000000');
    expect(
      (
        await h.rf('PATCH', `${S}/Processors/CPU0`, {
          token: admin,
          body: { OperatingSpeedRangeMHz: { SettingMax: 2000 } },
          headers: { 'If-Match': String(cur.headers.etag) },
        })
      ).status,
    ).toBe(412);
  });
});

describe('with libvirt-caps over logind and virtio-channels', () => {
  let bus: PrivateBus;
  let logind: LogindMock;
  let h: RedfishHarness;
  let admin: string;
  let oper: string;
  let ro: string;
  let dir: string;
  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus, { CanSuspend: 'yes' });
    // The Can* answers the test kit sets are the sleep states' only: CanReboot is redefined here.
    await logind.addMethod('CanReboot', '', 's', 'ret = "challenge"');
    dir = await mkdtemp(join(tmpdir(), 'rf-vc-'));
    h = await bootRedfish({
      plugins: [libvirtCaps, virtioChannels],
      core: { hostPower: { busAddress: bus.address } },
      extraSections: { 'libvirt-caps': {}, 'virtio-channels': { dir, libvirt: false } },
      profile: 'intel-pstate-hwp-32',
    });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    await h.addAccount('oper', 'Operator', 'Operator-pass-1');
    await h.addAccount('ro', 'ReadOnly', 'Readonly-pass-1');
    [admin, oper, ro] = [
      await h.login('admin', 'Admin-pass-1'),
      await h.login('oper', 'Operator-pass-1'),
      await h.login('ro', 'Readonly-pass-1'),
    ];
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await bus?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the libvirt capabilities XML through the OEM link', async () => {
    const sys = await h.rf('GET', S, { token: ro });
    const docs = await h.rf('GET', sys.json.Oem.Vpmd.CapabilitiesDocuments['@odata.id'], { token: ro });
    expect(docs.json.Available).toBe(true);
    const power = await h.rf('GET', docs.json.PowerDocumentUri, { token: ro });
    expect(power.status).toBe(200);
    expect(power.headers['content-type']).toMatch(/^application\/json/);
    const doc = await h.rf('GET', docs.json.LibvirtCapabilitiesUri, { token: ro });
    expect(doc.status).toBe(200);
    expect(doc.headers['content-type']).toMatch(/^application\/xml/);
    expect(doc.text).toMatch(/<capabilities>[\s\S]*<host>/);
  });

  it('offers Suspend, refuses it to ReadOnly, and suspends through logind for an Operator with the event on SSE', async () => {
    const info = await h.rf('GET', `${S}/ResetActionInfo`, { token: ro });
    expect(info.json.Parameters[0].AllowableValues).toEqual(['On', 'Suspend', 'GracefulShutdown']);
    expect(info.json.Description).toMatch(/GracefulRestart: not offered \(systemd-logind answers CanReboot=challenge/);
    const sse = await openSse(h, ro);
    expect(sse.status).toBe(200);
    expect(sse.contentType).toBe('text/event-stream');
    try {
      await logind.clearCalls();
      expect(
        (await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, { token: ro, body: { ResetType: 'Suspend' } })).status,
      ).toBe(403);
      expect(await logind.calls()).toEqual([]);
      const r = await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
        token: oper,
        body: { ResetType: 'Suspend' },
      });
      expect(r.status, r.text).toBe(204);
      const calls = (await logind.calls()).map((c) => c.method);
      expect(calls.some((m) => m.startsWith('Suspend'))).toBe(true);
      expect((await h.rf('GET', S, { token: ro })).json.PowerState).toBe('PoweringOff');
      const ev = await sse.waitFor((d) => JSON.stringify(d).includes('ResourcePoweringOff'));
      expect(ev).toMatchObject({
        '@odata.type': '#Event.v1_13_0.Event',
        Events: [{ MessageId: 'ResourceEvent.1.4.3.ResourcePoweringOff', OriginOfCondition: { '@odata.id': S } }],
      });
    } finally {
      sse.close();
    }
  });

  it('powers the host off through logind PowerOff for GracefulShutdown, with the event on SSE', async () => {
    const sse = await openSse(h, ro);
    try {
      await logind.clearCalls();
      expect(
        (
          await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
            token: ro,
            body: { ResetType: 'GracefulShutdown' },
          })
        ).status,
      ).toBe(403);
      const r = await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
        token: oper,
        body: { ResetType: 'GracefulShutdown' },
      });
      expect(r.status, r.text).toBe(204);
      expect((await logind.calls()).filter((c) => c.method === 'PowerOff').map((c) => c.args)).toEqual([[false]]);
      await sse.waitFor((d) => JSON.stringify(d).includes('ResourcePoweredOff'));
      const refused = await h.rf('POST', `${S}/Actions/ComputerSystem.Reset`, {
        token: oper,
        body: { ResetType: 'GracefulRestart' },
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/CanReboot=challenge/);
      expect((await logind.calls()).filter((c) => c.method === 'Reboot')).toEqual([]);
    } finally {
      sse.close();
    }
  });

  it('bounds guest requests on every pCPU of the package when a processor range is PATCHed', async () => {
    const boundedTo = async (minKHz: number, maxKHz: number): Promise<number[]> => {
      const shown = await h.agent.json<Array<{ scope: string; minKHz: number | null; maxKHz: number | null }>>([
        'show_bounds',
      ]);
      return shown
        .filter((b) => b.minKHz === minKHz && b.maxKHz === maxKHz)
        .map((b) => Number(b.scope.replace('pcpu ', '')));
    };
    for (const [pkg, min, max] of [
      [1, 1500, 2500],
      [0, 1400, 2400],
    ] as const) {
      const topo = await h.rf('GET', `${S}/Processors/CPU${pkg}`, { token: admin });
      expect(topo.status).toBe(200);
      const r = await h.rf('PATCH', `${S}/Processors/CPU${pkg}`, {
        token: admin,
        body: { OperatingSpeedRangeMHz: { SettingMin: min, SettingMax: max } },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.OperatingSpeedRangeMHz).toMatchObject({ SettingMin: min, SettingMax: max });
      // The package's own GET shows it at once (the write retired any cached reply).
      expect((await h.rf('GET', `${S}/Processors/CPU${pkg}`, { token: ro })).json.OperatingSpeedRangeMHz).toMatchObject(
        { SettingMin: min, SettingMax: max },
      );
      const bounded = await boundedTo(min * 1000, max * 1000);
      expect(bounded.length).toBe(topo.json.TotalThreads);
      // Package 0 holds pCPU 0, which a bound must reach like any other.
      if (pkg === 0) expect(bounded).toContain(0);
      else expect(bounded).not.toContain(0);
    }
    expect((await h.rf('GET', S, { token: ro })).json.Oem.Vpmd.GuestChannels).toMatch(/^running/);
  });
});
