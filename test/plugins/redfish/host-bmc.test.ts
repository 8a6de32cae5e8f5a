/**
 * This host's own BMC (#14, OCP Server profile): an ipmi_sim target marked `hostBmc: true`
 * carries the identify light, ForceOn/PowerCycle (and ForceOff/ForceRestart where the host's
 * systemd is not offered), the boot override and the SEL of `Systems/host`. Every effect is
 * checked on the ipmi_sim side (its chassis-control log, power state, ipmitool). Without a host
 * BMC these properties are absent, never invented.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ipmi from '../../../plugins/ipmi/index.js';
import { ipmiConfigProblems } from '../../../plugins/ipmi/config.js';
import { IpmiConfigSchema } from '../../../plugins/ipmi/config.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { Value } from '@sinclair/typebox/value';
import { pollUntil, runIpmitool, startIpmiSim, type IpmiSimPeer } from '../../../testkit/peers/index.js';
import { bootRedfish, type RedfishHarness, type RfBody } from './support.js';
import { linkProblems } from './links.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
const SYS = '/redfish/v1/Systems/host';
const CH = '/redfish/v1/Chassis/host';
const SEL = `${SYS}/LogServices/SEL`;

/**
 * The mandatory properties of OCP's profiles that this test asserts, written by hand from
 * OCPServerHardwareManagement.v1_1_0.json and OCPBaselineHardwareManagement.v1_1_0.json
 * (opencomputeproject/HWMgmt-OCP-Profiles, `ReadRequirement` Mandatory or absent, which means
 * Mandatory; IndicatorLED of a Physical system is met by its replacement LocationIndicatorActive
 * as the Baseline profile allows). Chassis Model is present as null (SMBIOS has no chassis
 * model), HTTP Port as null (no plain-HTTP listener). Not asserted because not served, with the
 * reason in docs/redfish.md: EthernetInterfaces, the deprecated Power and Thermal (replaced by
 * PowerSubsystem and ThermalSubsystem). Each path is `Property` or `Property/Sub`.
 */
const OCP_MANDATORY: Readonly<Record<string, readonly string[]>> = {
  [SYS]: [
    'AssetTag',
    'SystemType',
    'SerialNumber',
    'Manufacturer',
    'MemorySummary/TotalSystemMemoryGiB',
    'ProcessorSummary/Count',
    'ProcessorSummary/Model',
    'Model',
    'PowerState',
    'BiosVersion',
    'UUID',
    'Status/State',
    'Status/Health',
    'Boot/BootSourceOverrideEnabled',
    'Boot/BootSourceOverrideTarget',
    'Links/Chassis',
    'Links/ManagedBy',
    'LocationIndicatorActive',
  ],
  [CH]: [
    'ChassisType',
    'Model',
    'SerialNumber',
    'LocationIndicatorActive',
    'Controls',
    'PowerState',
    'Status/State',
    'Status/Health',
    'ThermalSubsystem',
    'PowerSubsystem',
    'Links/ComputerSystems',
  ],
  '/redfish/v1/Systems': ['Members'],
  '/redfish/v1/Chassis': ['Members'],
  '/redfish/v1/Managers': ['Members'],
  '/redfish/v1/Managers/vpmd/NetworkProtocol': [
    'HostName',
    'FQDN',
    'Status',
    'HTTPS/ProtocolEnabled',
    'HTTPS/Port',
    'HTTP/Port',
  ],
  '/redfish/v1/': ['AccountService', 'UUID', 'RedfishVersion', 'Chassis', 'Managers', 'SessionService', 'Systems'],
  [SEL]: ['Entries'],
};
/** Server profile: ComputerSystem.Reset must offer these ResetTypes. */
const OCP_RESET_TYPES = ['ForceOff', 'On', 'ForceRestart'];
/** Baseline profile: a LogEntry's mandatory properties. */
const OCP_LOG_ENTRY = ['Created', 'EntryType', 'Message', 'Severity'];

function at(body: RfBody, path: string): unknown {
  return path.split('/').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], body);
}

describe('hostBmc configuration', () => {
  it('refuses two ipmi targets marked hostBmc, naming both and the field', async () => {
    const t = { host: '127.0.0.1', username: 'admin', password: 'password', hostBmc: true };
    const cfg = Value.Default(IpmiConfigSchema, {
      targets: [
        { ...t, name: 'a', port: 1000 },
        { ...t, name: 'b', port: 1001 },
      ],
    }) as Parameters<typeof ipmiConfigProblems>[0];
    expect(await ipmiConfigProblems(cfg)).toEqual([
      {
        path: 'targets[1].hostBmc',
        message: "target b: target a is already marked as this host's BMC; a host has one BMC: mark only one",
      },
    ]);
  });
});

describe('without a host BMC', () => {
  let h: RedfishHarness;
  let admin: string;
  beforeAll(async () => {
    h = await bootRedfish();
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('serves no identify light, Boot or LogServices, and says why the BMC reset types are not offered', async () => {
    const sys = (await h.rf('GET', SYS, { token: admin })).json;
    for (const p of ['LocationIndicatorActive', 'IndicatorLED', 'Boot', 'LogServices'])
      expect(sys).not.toHaveProperty(p);
    expect((await h.rf('GET', CH, { token: admin })).json).not.toHaveProperty('LocationIndicatorActive');
    expect((await h.rf('GET', `${SYS}/LogServices`, { token: admin })).status).toBe(404);
    const info = (await h.rf('GET', `${SYS}/ResetActionInfo`, { token: admin })).json;
    expect(info.Parameters[0].AllowableValues).not.toContain('PowerCycle');
    expect(info.Description).toContain("PowerCycle: not offered (needs this host's own BMC: no BMC is configured");
    const patch = await h.rf('PATCH', SYS, { token: admin, body: { LocationIndicatorActive: true } });
    expect(patch.status).toBe(400);
    expect(patch.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyUnknown');
  });

  it('links the host chassis, system and manager both ways', async () => {
    expect(await linkProblems(async (uri) => (await h.rf('GET', uri, { token: admin })).json)).toEqual([]);
  });
});

// One agent's story against ipmi_sim: BMC 0 is the host's own (`own`), BMC 1 another machine's
// that the agent polls (`other`). The steps change the BMCs' state in order.
describe('with an ipmi_sim BMC marked hostBmc', { shuffle: false }, () => {
  let sim: IpmiSimPeer;
  let h: RedfishHarness;
  let admin: string;
  let operator: string;
  let viewer: string;
  const get = async (path: string): Promise<RfBody> => {
    const r = await h.rf('GET', path, { token: viewer });
    expect(r.status, `${path}: ${r.text}`).toBe(200);
    return r.json;
  };
  const chassisLog = async (): Promise<string[]> => sim.chassisLog(0);

  beforeAll(async () => {
    sim = await startIpmiSim({ bmcs: 2 });
    const [t, o] = sim.targets;
    if (t === undefined || o === undefined) throw new Error('no simulated BMC');
    h = await bootRedfish({
      plugins: [ipmi],
      extraSections: {
        ipmi: {
          targets: [
            { name: 'own', host: t.host, port: t.port, username: t.username, password: t.password, hostBmc: true },
            { name: 'other', host: o.host, port: o.port, username: o.username, password: o.password },
          ],
          interval: 3600,
        },
      },
    });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    await h.addAccount('operator', 'Operator', 'Operator-pass-1');
    await h.addAccount('viewer', 'ReadOnly', 'Viewer-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
    operator = await h.login('operator', 'Operator-pass-1');
    viewer = await h.login('viewer', 'Viewer-pass-1');
  });
  afterAll(async () => {
    await h?.stop();
    await sim?.stop();
  });

  it('serves every OCP-mandatory property asserted here, schema-valid', async () => {
    for (const [uri, paths] of Object.entries(OCP_MANDATORY)) {
      const body = await get(uri);
      // Present; null is the schema's "unknown" (FQDN of a host whose name has no domain).
      for (const p of paths) expect(at(body, p), `${uri} ${p}`).not.toBeUndefined();
      expect(schemas.check(body), uri).toEqual([]);
    }
    const info = await get(`${SYS}/ResetActionInfo`);
    expect(info.Parameters[0].AllowableValues).toEqual(expect.arrayContaining(OCP_RESET_TYPES));
  });

  it('turns the identify light on and off through IPMI Chassis Identify, and reads back what it set', async () => {
    // ipmi_sim does not report the identify state (Get Chassis Status misc bit 6 clear): unknown.
    expect((await get(SYS)).LocationIndicatorActive).toBeNull();
    expect((await h.rf('PATCH', SYS, { token: viewer, body: { LocationIndicatorActive: true } })).status).toBe(403);
    const on = await h.rf('PATCH', SYS, { token: operator, body: { LocationIndicatorActive: true } });
    expect(on.status, on.text).toBe(200);
    expect(on.json.LocationIndicatorActive).toBe(true);
    expect(await chassisLog()).toContain('identify 0 1'); // interval 0, Force Identify On
    expect((await get(CH)).LocationIndicatorActive).toBe(true);
    const off = await h.rf('PATCH', CH, { token: operator, body: { LocationIndicatorActive: false } });
    expect(off.status, off.text).toBe(200);
    expect((await chassisLog()).at(-1)).toBe('identify 0 0');
    expect((await get(SYS)).LocationIndicatorActive).toBe(false);
    expect((await get(SYS))['@Redfish.WriteableProperties']).toEqual(
      expect.arrayContaining(['AssetTag', 'LocationIndicatorActive', 'Boot']),
    );
    // Another polled BMC keeps its own chassis: its light is its own BMC's, not the host's.
    const other = '/redfish/v1/Chassis/bmc-other';
    expect(await get(other)).toMatchObject({ LocationIndicatorActive: null, Model: null, SerialNumber: null });
    expect((await get(other))['@Redfish.WriteableProperties']).toEqual(['LocationIndicatorActive']);
    const viaOther = await h.rf('PATCH', other, { token: operator, body: { LocationIndicatorActive: true } });
    expect(viaOther.status, viaOther.text).toBe(200);
    expect((await sim.chassisLog(1)).at(-1)).toBe('identify 0 1');
    expect((await chassisLog()).at(-1)).toBe('identify 0 0');
    expect((await get(CH)).LocationIndicatorActive).toBe(false);
    expect((await h.rf('PATCH', other, { token: operator, body: { LocationIndicatorActive: false } })).status).toBe(
      200,
    );
    // vpmd exposes no control of the other BMC's chassis: its Controls collection is empty.
    expect((await get(`${other}/Controls`))['Members@odata.count']).toBe(0);
    const bad = await h.rf('PATCH', CH, { token: operator, body: { LocationIndicatorActive: 'on' } });
    expect(bad.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyValueTypeError');
  });

  it("models the host's box as one chassis: the host BMC's readings are its sensors, links go both ways", async () => {
    // The host BMC is the controller inside the host's box, as bmcweb's one chassis: no chassis of its own.
    const chassis = (await get('/redfish/v1/Chassis')).Members.map((m) => m['@odata.id']);
    expect(chassis).toEqual([CH, '/redfish/v1/Chassis/bmc-other']);
    const gone = await h.rf('GET', '/redfish/v1/Chassis/bmc-own', { token: viewer });
    expect(gone.status).toBe(404);
    expect(gone.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.ResourceNotFound');
    const metricsOf = async (uri: string, target: string): Promise<RfBody[]> =>
      (await get(`${uri}/Sensors?$expand=.`)).Members.filter((m) =>
        String(m.Oem.Vpmd.MetricId).startsWith(`ipmi/${target}/`),
      );
    // One poll of both BMCs now (the agent polls hourly here, at a random moment of the hour).
    expect(await h.agent.json(['ipmi', 'poll'])).toMatchObject({ targets: 2, successes: 2 });
    const own = await metricsOf(CH, 'own');
    expect(own.length).toBeGreaterThan(0);
    for (const m of own) expect(m['@odata.id'].startsWith(`${CH}/Sensors/`), m['@odata.id']).toBe(true);
    expect(await metricsOf(CH, 'other')).toEqual([]);
    const first = own[0] as RfBody;
    expect((await get(first['@odata.id'])).Id).toBe(first.Id);
    expect(await metricsOf('/redfish/v1/Chassis/bmc-other', 'own')).toEqual([]);
    expect((await metricsOf('/redfish/v1/Chassis/bmc-other', 'other')).length).toBe(own.length);
    // The box's power is its BMC's input-power reading, not that plus the CPU packages inside it.
    const bmcWatts = own.filter((m) => m.ReadingType === 'Power').reduce((sum, m) => sum + m.Reading, 0);
    expect(bmcWatts).toBeGreaterThan(0);
    expect(((await get(`${CH}/EnvironmentMetrics`)).PowerWatts as { Reading: number }).Reading).toBe(bmcWatts);
    // Symmetric links, and Systems/host held by the host chassis alone (Tacklebox's
    // rf_sys_inventory lists a system's processors once per chassis that holds it).
    expect(await linkProblems(get)).toEqual([]);
    expect((await get(CH)).Links).toEqual({
      ComputerSystems: [{ '@odata.id': SYS }],
      ManagedBy: [{ '@odata.id': '/redfish/v1/Managers/vpmd' }],
      ManagersInChassis: [{ '@odata.id': '/redfish/v1/Managers/vpmd' }],
    });
    expect((await get('/redfish/v1/Chassis/bmc-other')).Links).toEqual({
      ManagedBy: [{ '@odata.id': '/redfish/v1/Managers/vpmd' }],
    });
    const manager = await get('/redfish/v1/Managers/vpmd');
    expect(manager.Links).toMatchObject({
      ManagerForServers: [{ '@odata.id': SYS }],
      ManagerForChassis: chassis.map((c) => ({ '@odata.id': c })),
      ManagerInChassis: { '@odata.id': CH },
    });
    expect(schemas.check(manager)).toEqual([]);
    expect(schemas.check(await get(CH))).toEqual([]);
  });

  it('offers exactly On, ForceOn, PowerCycle, ForceOff and ForceRestart through the BMC on a simulated host', async () => {
    const info = await get(`${SYS}/ResetActionInfo`);
    expect([...info.Parameters[0].AllowableValues].sort()).toEqual(
      ['ForceOff', 'ForceOn', 'ForceRestart', 'On', 'PowerCycle'].sort(),
    );
    expect(info.Description).toContain(
      "PowerCycle: offered (IPMI Chassis Control power cycle through the host's BMC own)",
    );
    expect(info.Description).toContain('FullPowerCycle: not offered (removing and restoring AC power');
  });

  it('powers the BMC chassis off, on and through a cycle, audited by the ipmi driver', async () => {
    const reset = (token: string, t: string): ReturnType<RedfishHarness['rf']> =>
      h.rf('POST', `${SYS}/Actions/ComputerSystem.Reset`, { token, body: { ResetType: t } });
    expect((await reset(viewer, 'ForceOff')).status).toBe(403);
    expect(await sim.powerState(0)).toBe(1);
    expect((await reset(operator, 'ForceOff')).status).toBe(204);
    expect(await sim.powerState(0)).toBe(0);
    expect((await reset(operator, 'ForceOn')).status).toBe(204);
    expect(await sim.powerState(0)).toBe(1);
    const before = (await chassisLog()).length;
    expect((await reset(admin, 'PowerCycle')).status).toBe(204);
    // ipmi_sim powers down at once and up again after a second.
    await pollUntil({
      peer: 'ipmi_sim',
      what: 'power 0 then power 1 after the cycle',
      timeoutMs: 15_000,
      intervalMs: 100,
      probe: async () => {
        const log = (await chassisLog()).slice(before);
        return log.join(',') === 'power 0,power 1' ? log : undefined;
      },
    });
    expect((await reset(operator, 'ForceRestart')).status).toBe(204);
    expect((await chassisLog()).at(-1)).toBe('reset 1');
    const audit = await get('/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries');
    const messages = audit.Members.map((m) => String(m.Message));
    for (const action of ['off', 'on', 'cycle', 'reset'])
      expect(messages.some((m) => m.includes(`ipmi chassis own ${action}`))).toBe(true);
  });

  it('writes the boot override with Set System Boot Options and reads the BMC back', async () => {
    const before = (await get(SYS)).Boot as Record<string, unknown>;
    expect(before).toMatchObject({ BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideMode: 'Legacy' });
    expect(
      (await h.rf('PATCH', SYS, { token: viewer, body: { Boot: { BootSourceOverrideTarget: 'Pxe' } } })).status,
    ).toBe(403);
    const bad = await h.rf('PATCH', SYS, { token: operator, body: { Boot: { BootSourceOverrideTarget: 'Moon' } } });
    expect(bad.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyValueNotInList');
    const r = await h.rf('PATCH', SYS, {
      token: operator,
      body: { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } },
    });
    expect(r.status, r.text).toBe(200);
    expect((await chassisLog()).at(-1)).toBe('boot pxe');
    const t = sim.targets[0];
    if (t === undefined) throw new Error('no simulated BMC');
    expect((await runIpmitool(t, ['chassis', 'bootparam', 'get', '5'])).stdout).toContain('Force PXE');
    // ipmi_sim keeps only the device: the valid and persistent flags read back clear.
    expect((await get(SYS)).Boot).toMatchObject({
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideEnabled: 'Disabled',
    });
    await h.rf('PATCH', SYS, { token: operator, body: { Boot: { BootSourceOverrideTarget: 'Cd' } } });
    expect((await chassisLog()).at(-1)).toBe('boot cdrom');
    expect(((await get(SYS)).Boot as Record<string, unknown>).BootSourceOverrideTarget).toBe('Cd');
  });

  it("serves the BMC's SEL as LogEntries of EntryType SEL, and ClearLog erases it", async () => {
    const t = sim.targets[0];
    if (t === undefined) throw new Error('no simulated BMC');
    // Set the SEL clock (Set SEL Time), then add a record (Add SEL Entry): it gets a real time.
    const now = Buffer.alloc(4);
    now.writeUInt32LE(Math.floor(Date.now() / 1000));
    const raw = (bytes: Iterable<number>): string[] => [...bytes].map((b) => `0x${b.toString(16)}`);
    await runIpmitool(t, ['raw', '0x0a', '0x49', ...raw(now)]);
    await runIpmitool(t, ['raw', '0x0a', '0x44', ...raw([0, 0, 2, 0, 0, 0, 0, 0x20, 0, 4, 1, 1, 1, 0x59, 0x30, 0x28])]);
    const sys = await get(SYS);
    expect(sys.LogServices).toEqual({ '@odata.id': `${SYS}/LogServices` });
    const service = await get(SEL);
    expect(service).toMatchObject({ LogEntryType: 'SEL', Entries: { '@odata.id': `${SEL}/Entries` } });
    expect(schemas.check(service)).toEqual([]);
    const entries = await get(`${SEL}/Entries`);
    expect(entries['Members@odata.count']).toBe(4);
    const [first, , third, fourth] = entries.Members;
    expect(first).toMatchObject({
      Id: '1',
      EntryType: 'SEL',
      SensorType: 'Temperature',
      SensorNumber: 1,
      EntryCode: 'Upper Non-critical - going high',
      GeneratorId: '0x0020',
      MessageId: '0x01572826',
      Severity: 'Warning',
    });
    // ipmi_sim stamped the first three before its clock was set ("Pre-Init"): no Created.
    expect(first).not.toHaveProperty('Created');
    expect(third).toMatchObject({ SensorType: 'Power Supply / Converter', EntryCode: 'Assert' });
    expect(fourth).toMatchObject({ EntryCode: 'Upper Critical - going high', MessageId: '0x01593028' });
    for (const p of OCP_LOG_ENTRY) expect(fourth, p).toHaveProperty(p);
    expect(Date.parse(String(fourth?.Created))).toBeGreaterThan(Date.now() - 3_600_000);
    for (const e of entries.Members) expect(schemas.check(e)).toEqual([]);
    expect(schemas.check(await get(`${SEL}/Entries/4`))).toEqual([]);

    const clear = `${SEL}/Actions/LogService.ClearLog`;
    expect((await h.rf('POST', clear, { token: operator, body: {} })).status).toBe(403); // ConfigureManager
    const ok = await h.rf('POST', clear, { token: admin, body: {} });
    expect(ok.status, ok.text).toBe(204);
    expect((await runIpmitool(t, ['sel', 'info'])).stdout).toMatch(/^Entries\s*:\s*0$/m);
    expect((await get(`${SEL}/Entries`))['Members@odata.count']).toBe(0);
  });
});
