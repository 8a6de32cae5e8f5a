/**
 * The plugin's IPMI client against a real ipmi_sim BMC, checked value for value against what
 * ipmitool and FreeIPMI report for the same BMC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SIM_SENSORS,
  runIpmitool,
  startIpmiSim,
  type IpmiSimPeer,
  type IpmiSimTarget,
  type SimSensorSpec,
} from 'vpmd/testkit';
import { chassisControl, chassisStatus, dcmiPower, deviceId } from '../../../plugins/ipmi/commands/chassis.js';
import { loadSensors, type SdrCache } from '../../../plugins/ipmi/commands/sdr-repository.js';
import { clearSel, readSel } from '../../../plugins/ipmi/commands/sel.js';
import { readSensors, type SensorReading } from '../../../plugins/ipmi/commands/sensors.js';
import { IpmiSession } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { freeIpmiSensors, ipmitoolSensors, openSessions } from './support/reference-tools.js';

const EXTRA: readonly SimSensorSpec[] = [
  // (2x + (-10)*10^1) * 10^-1 with raw 120 -> 14
  {
    kind: 'analog',
    number: 6,
    name: 'Cpu Temp',
    type: 'Temperature',
    unit: 'degrees_C',
    entity: 'processor',
    m: 2,
    b: -10,
    bExp: 1,
    rExp: -1,
    raw: 120,
    thresholds: { unc: 170, uc: 190 },
  },
  // 13x * 10^-3 with raw 231 -> 3.003
  {
    kind: 'analog',
    number: 7,
    name: 'Vbat',
    type: 'Voltage',
    unit: 'Volts',
    m: 13,
    rExp: -3,
    raw: 231,
    thresholds: { lc: 200 },
  },
  // (5x + 3) * 10^-2 with raw 100 -> 5.03
  {
    kind: 'analog',
    number: 8,
    name: 'Psu Current',
    type: 'Current',
    unit: 'Amps',
    entity: 'power_supply',
    m: 5,
    b: 3,
    rExp: -2,
    raw: 100,
  },
  {
    kind: 'discrete',
    number: 9,
    name: 'Cpu Presence',
    type: 'Processor',
    entity: 'processor',
    eventReadingType: 0x6f,
    asserted: [7],
  },
  {
    kind: 'discrete',
    number: 10,
    name: 'Chassis Intru',
    type: 'Physical_Security',
    entity: 'system_chassis',
    eventReadingType: 0x6f,
    asserted: [0],
  },
];

let sim: IpmiSimPeer;
let target: IpmiSimTarget;
let endpoint: UdpEndpoint;
let session: IpmiSession;
let cache: SdrCache;
let readings: SensorReading[];

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 1, sensors: [...DEFAULT_SIM_SENSORS, ...EXTRA] });
  target = sim.targets[0] as IpmiSimTarget;
  endpoint = await UdpEndpoint.open('127.0.0.1');
  session = await IpmiSession.open(
    endpoint,
    { ...target, privilege: 'administrator', cipherFloor: 'confidentiality' },
    { timeoutMs: 1000, retries: 2 },
  );
  cache = (await loadSensors(session, undefined)).cache;
  readings = await readSensors(session, cache.sensors);
});
afterAll(async () => {
  await session?.close();
  await endpoint?.close();
  await sim?.stop();
});

const byName = (name: string): SensorReading => {
  const r = readings.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no reading for ${name}`);
  return r;
};

describe('sensors', () => {
  it('negotiates cipher suite 3 (ipmi_sim offers no 17) and reads every sensor of the repository', () => {
    expect(session.suite?.id).toBe(3);
    expect(readings.map((r) => r.name)).toEqual([
      'Inlet Temp',
      'Fan 1',
      '12V Rail',
      'Pwr Consumption',
      'PSU1 Status',
      'Cpu Temp',
      'Vbat',
      'Psu Current',
      'Cpu Presence',
      'Chassis Intru',
    ]);
  });

  it('converts values and thresholds exactly as ipmitool sensor list does', async () => {
    const ref = await ipmitoolSensors(target);
    const analog = readings.filter((r) => !r.discrete);
    expect(analog.length).toBe(7);
    for (const r of analog) {
      const row = ref.find((x) => x.name === r.name);
      expect(row, r.name).toBeDefined();
      expect(r.value?.toFixed(3), r.name).toBe(row?.value);
      expect(r.unit, r.name).toBe(row?.unit);
      expect(r.ipmiStatus, r.name).toBe(row?.status);
      const ours = (['lnr', 'lc', 'lnc', 'unc', 'uc', 'unr'] as const).map((k) =>
        r.thresholds[k] === undefined ? 'na' : (r.thresholds[k] ?? 0).toFixed(3),
      );
      expect(ours, `${r.name} thresholds`).toEqual(row?.thresholds);
    }
    expect(byName('Cpu Temp').value).toBe(14);
    expect(byName('Vbat').value).toBe(3.003);
    expect(byName('Psu Current').value).toBe(5.03);
  });

  it('reads the same values, units and discrete states as FreeIPMI ipmi-sensors', async () => {
    const ref = await freeIpmiSensors(target);
    const units: Record<string, string> = { 'degrees C': 'C', Volts: 'V', Amps: 'A', Watts: 'W', RPM: 'RPM' };
    for (const r of readings) {
      const row = ref.find((x) => x.name === r.name);
      expect(row, r.name).toBeDefined();
      if (r.discrete) {
        expect(row?.reading).toBe('N/A');
        // FreeIPMI words some states its own way ('Processor Presence detected'): same state, same order.
        const theirs = (row?.event ?? '').split("' '").map((x) => x.replace(/'/g, '').toLowerCase());
        expect(theirs.length, r.name).toBe(r.states.length);
        r.states.forEach((st, i) => expect(theirs[i], r.name).toContain(st.toLowerCase()));
      } else {
        expect(r.value?.toFixed(2), r.name).toBe(row?.reading);
        expect(units[r.unit], r.name).toBe(row?.units);
      }
    }
    expect(byName('Cpu Presence').states).toEqual(['Presence detected']);
    expect(byName('Chassis Intru').states).toEqual(['General Chassis intrusion']);
  });

  it('reports a crossed threshold with the status ipmitool shows', async () => {
    await sim.setSensor(0, 1, 43); // Inlet Temp above upper critical (42)
    await sim.setSensor(0, 2, 14); // Fan 1 below lower non-critical (16)
    try {
      const now = await readSensors(session, cache.sensors);
      const ref = await ipmitoolSensors(target);
      const inlet = now.find((r) => r.name === 'Inlet Temp');
      const fan = now.find((r) => r.name === 'Fan 1');
      expect(inlet).toMatchObject({ value: 43, status: 'critical', ipmiStatus: 'cr' });
      expect(fan).toMatchObject({ value: 700, status: 'warning', ipmiStatus: 'nc' });
      expect(ref.find((x) => x.name === 'Inlet Temp')?.status).toBe('cr');
      expect(ref.find((x) => x.name === 'Fan 1')?.status).toBe('nc');
    } finally {
      // The other tests compare the default readings with ipmitool's, in any order.
      await sim.setSensor(0, 1, 24);
      await sim.setSensor(0, 2, 96);
    }
  });

  it('serves the SDR cache with one request while the repository timestamps are unchanged', async () => {
    const before = session.stats.sent;
    const again = await loadSensors(session, cache);
    expect(again.fromCache).toBe(true);
    expect(session.stats.sent - before).toBe(1);
    const stale = await loadSensors(session, { ...cache, key: 'other' });
    expect(stale.fromCache).toBe(false);
    expect(stale.cache.sensors.map((s) => s.record.name)).toEqual(cache.sensors.map((s) => s.record.name));
  });
});

describe('device, chassis, DCMI', () => {
  it('reads Get Device ID like ipmitool mc info', async () => {
    const ours = await deviceId(session);
    const { stdout } = await runIpmitool(target, ['mc', 'info']);
    expect(stdout).toMatch(new RegExp(`Firmware Revision\\s*:\\s*${ours.firmware.replace('.', '\\.')}`));
    expect(stdout).toMatch(new RegExp(`IPMI Version\\s*:\\s*${ours.ipmiVersion.replace('.', '\\.')}`));
    expect(stdout).toMatch(new RegExp(`Manufacturer ID\\s*:\\s*${ours.manufacturerId}\\b`));
  });

  it('reads and controls chassis power; ipmitool and the BMC agree', async () => {
    expect((await chassisStatus(session)).power).toBe('on');
    await chassisControl(session, 'off');
    expect(await sim.powerState(0)).toBe(0);
    expect((await chassisStatus(session)).power).toBe('off');
    expect((await runIpmitool(target, ['chassis', 'status'])).stdout).toMatch(/System Power\s*:\s*off/);
    await chassisControl(session, 'on');
    expect(await sim.powerState(0)).toBe(1);
    expect(await sim.chassisLog(0)).toEqual(expect.arrayContaining(['power 0', 'power 1']));
  });

  it('finds no DCMI on ipmi_sim (the poller then uses the power sensors)', async () => {
    expect(await dcmiPower(session)).toBeUndefined();
  });
});

// Read, then clear: the clear test empties what the read test compares, so the two keep their order.
describe('SEL', { shuffle: false }, () => {
  it('decodes the entries as ipmitool sel list does', async () => {
    const ours = await readSel(session);
    const { stdout } = await runIpmitool(target, ['sel', 'list']);
    const lines = stdout.split('\n').filter((l) => l.includes('|'));
    expect(ours).toHaveLength(lines.length);
    ours.forEach((e, i) => {
      const cols = (lines[i] ?? '').split('|').map((c) => c.trim());
      expect(parseInt(cols[0] ?? '', 16)).toBe(e.id);
      expect(cols[3]).toBe(`${e.sensorType} #0x${e.sensorNumber.toString(16).padStart(2, '0')}`);
      expect(cols[4]).toBe(e.description);
      expect(cols[5]).toBe(e.direction);
    });
    expect(ours.map((e) => e.severity)).toEqual(['warning', 'critical', 'info']);
  });

  it('clears the SEL', async () => {
    await clearSel(session);
    expect(await readSel(session)).toEqual([]);
    const ref = await runIpmitool(target, ['sel', 'list']);
    expect(ref.stdout + ref.stderr).toMatch(/SEL has no entries/);
  });
});

describe('session lifetime', () => {
  it('closes its session on the BMC', async () => {
    const extra = await IpmiSession.open(
      endpoint,
      { ...target, name: 'second', port: target.port, privilege: 'user', cipherFloor: 'confidentiality' },
      { timeoutMs: 1000, retries: 2 },
    ).catch((e: unknown) => e);
    // The endpoint routes one session per BMC address: a second one is refused, not leaked.
    expect(extra).toMatchObject({ code: 'E_IPMI_CONFIG' });
    // A session of its own (on its own endpoint): the file's session serves the other tests.
    const before = await openSessions(target);
    const ownEndpoint = await UdpEndpoint.open('127.0.0.1');
    try {
      const own = await IpmiSession.open(
        ownEndpoint,
        { ...target, privilege: 'user', cipherFloor: 'confidentiality' },
        { timeoutMs: 1000, retries: 2 },
      );
      expect(await openSessions(target)).toBe(before + 1);
      await own.close();
      expect(await openSessions(target)).toBe(before);
    } finally {
      await ownEndpoint.close();
    }
  });
});
