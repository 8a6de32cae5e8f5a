/**
 * Every table the agent serves, walked with the real net-snmp tools and checked against the
 * telemetry store and the host model: system, ENTITY-MIB, ENTITY-SENSOR-MIB, ENERGY-OBJECT-MIB,
 * HOST-RESOURCES-MIB and VPMD-MIB (with names from our MIB file).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { generateSimulatedHost } from '../../../core/sim/index.js';
import { sensorEncoding, sensorValue } from '../../../plugins/snmp/mib/mibs/entities.js';
import sleepProvider from './sleep-provider.js';
import {
  LOAD_VPMD_MIB,
  MIB_DIR,
  column,
  freeUdpPort,
  parseWalk,
  tool,
  v3,
  withVpmdMib,
  type WalkRow,
} from './helpers.js';
import type { MetricKind, MetricUnit } from 'vpmd';

const AUTH = 'walk-auth-pass';
const PRIV = 'walk-priv-pass';
const ENT = '1.3.6.1.2.1.47.1.1.1.1';
const SENSOR = '1.3.6.1.2.1.99.1.1.1';
const EO_POWER = '1.3.6.1.2.1.229.1.2.1';

interface Metric {
  id: string;
  kind: MetricKind;
  unit: MetricUnit;
  value: number | null;
}
interface Policy {
  affectedCpus: number[];
  cpuinfoMinKHz: number;
  cpuinfoMaxKHz: number;
}

describe('snmp agent MIBs walked with snmpbulkwalk', () => {
  let agent: BootedAgent;
  let target: string;
  let walk: Map<string, WalkRow>;
  let metrics: Metric[];
  let hostRoot: string;
  let walkStart = 0;
  const args = (): string[] => [...v3('walker', AUTH, PRIV), '-Cr50', target];

  /** Every reading of a metric still in the store's history. */
  const history = async (id: string): Promise<(number | null)[]> =>
    (
      await agent.json<{ history: { value: number | null }[] }>(['telemetry', 'show', id, '--history', '1000'])
    ).history.map((h) => h.value);
  /** Whether a metric had no reading at all before the walk (it is then served as unavailable too). */
  const unreadBefore = async (id: string): Promise<boolean> =>
    (
      await agent.json<{ history: { timestamp: number }[] }>(['telemetry', 'show', id, '--history', '1000'])
    ).history.every((h) => h.timestamp > walkStart);

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    // A long cache period: one walk sees one snapshot, so every value can be traced to a reading.
    // A simulated host with /proc/uptime (the generator does not write it; the simulated kernel
    // serves /proc/stat from its own CPU loads).
    hostRoot = await mkdtemp(join(tmpdir(), 'vpmd-snmp-host-'));
    await generateSimulatedHost(hostRoot, { profile: 'intel-acpi-cpufreq-8' });
    await writeFile(join(hostRoot, 'proc/uptime'), '12345.67 1000.00\n');
    agent = await bootAgent({
      plugins: [snmp, sleepProvider],
      sections: { snmp: { port, cacheSeconds: 30, sysLocation: 'rack 7' } },
      core: { host: { root: hostRoot, simulated: true, sampleInterval: 1 } },
    });
    await agent.json(['snmp', 'user', 'add', 'walker'], [AUTH, PRIV]);
    metrics = await agent.json<Metric[]>(['telemetry', 'list']);
    walkStart = Date.now();
    const r = await tool('snmpbulkwalk', [...args(), '1.3.6.1']);
    expect(r.stderr).toBe('');
    walk = parseWalk(r.stdout);
  });
  afterAll(async () => {
    await agent?.stop();
    await rm(hostRoot, { recursive: true, force: true });
  });

  it('serves the system group', () => {
    expect(walk.get('1.3.6.1.2.1.1.2.0')?.value).toBe('.1.3.6.1.4.1.99999.6.1');
    expect(walk.get('1.3.6.1.2.1.1.6.0')?.value).toBe('rack 7');
    expect(walk.get('1.3.6.1.2.1.1.3.0')?.type).toBe('Timeticks');
  });

  it('serves entPhysicalTable: the host chassis, every online CPU, and one sensor per metric', async () => {
    const cls = column(walk, ENT, 5);
    const names = column(walk, ENT, 7);
    const parent = column(walk, ENT, 4);
    expect(cls.get('1')?.value).toBe('3');
    const policies = await agent.json<Policy[]>(['host', 'cpufreq']);
    const cpus = policies.flatMap((p) => p.affectedCpus);
    for (const cpu of cpus) {
      expect(cls.get(String(1000 + cpu))?.value).toBe('12');
      expect(names.get(String(1000 + cpu))?.value).toBe(`cpu${cpu}`);
    }
    const sensorNames = [...names].filter(([i]) => Number(i) >= 10000).map(([, r]) => r.value);
    expect(sensorNames.sort()).toEqual(metrics.map((m) => m.id).sort());
    for (const [i] of names) if (Number(i) >= 10000) expect(parent.get(i)?.value).toBe('1');
  });

  it('serves entPhySensorTable with every telemetry reading, scaled as declared', async () => {
    const names = column(walk, ENT, 7);
    const indexOf = new Map([...names].map(([i, r]) => [r.value, i]));
    const type = column(walk, SENSOR, 1);
    const scale = column(walk, SENSOR, 2);
    const precision = column(walk, SENSOR, 3);
    const value = column(walk, SENSOR, 4);
    const status = column(walk, SENSOR, 5);
    expect(metrics.length).toBeGreaterThan(5);
    for (const m of metrics) {
      const i = indexOf.get(m.id) as string;
      const enc = sensorEncoding(m.kind, m.unit);
      expect(type.get(i)?.value, m.id).toBe(String(enc.type));
      expect(scale.get(i)?.value).toBe(String(enc.scale));
      expect(precision.get(i)?.value).toBe(String(enc.precision));
      const served = Number(value.get(i)?.value);
      const readings = await history(m.id);
      // The snapshot holds one reading of the history: unavailable (status 2, e.g. a power
      // metric's first sample) or a value, scaled as the row declares.
      if (status.get(i)?.value === '2') {
        expect(readings.includes(null) || (await unreadBefore(m.id)), m.id).toBe(true);
        continue;
      }
      expect(status.get(i)?.value, m.id).toBe('1');
      const values = readings.filter((v): v is number => v !== null);
      expect(
        values.map((v) => sensorValue(v, enc.scale, enc.precision)),
        m.id,
      ).toContain(served);
    }
    expect(metrics.some((m) => m.kind === 'power')).toBe(true);
    expect(metrics.some((m) => m.kind === 'temperature')).toBe(true);
  });

  it('serves eoPowerTable: host power as the RAPL package sum, host state dmtfOn', async () => {
    const power = column(walk, EO_POWER, 1);
    const mult = column(walk, EO_POWER, 3);
    const oper = column(walk, EO_POWER, 9);
    expect(mult.get('1')?.value).toBe('-1');
    expect(oper.get('1')?.value).toBe('513');
    const pkgs = metrics.filter((m) => /^host\/rapl\/package-\d+\/power$/.test(m.id));
    expect(pkgs.length).toBeGreaterThan(0);
    const hist = await Promise.all(
      pkgs.map((p) =>
        agent.json<{ history: { value: number; timestamp: number }[] }>([
          'telemetry',
          'show',
          p.id,
          '--history',
          '1000',
        ]),
      ),
    );
    const byTime = new Map<number, number>();
    for (const h of hist) for (const r of h.history) byTime.set(r.timestamp, (byTime.get(r.timestamp) ?? 0) + r.value);
    const sums = [...byTime.values()].map((w) => Math.round(w * 10));
    expect(sums).toContain(Number(power.get('1')?.value));
    // Each RAPL domain is an energy object of its own, at its sensor's entPhysicalIndex.
    const names = column(walk, ENT, 7);
    const pkgIndex = [...names].find(([, r]) => r.value === pkgs[0]?.id)?.[0] as string;
    expect(power.get(pkgIndex)).toBeDefined();
  });

  it('serves HOST-RESOURCES hrSystemUptime from /proc/uptime and a hrProcessorLoad row per CPU', async () => {
    expect(walk.get('1.3.6.1.2.1.25.1.1.0')).toEqual({ type: 'Timeticks', value: '(1234567) 3:25:45.67' });
    const cpus = (await agent.json<Policy[]>(['host', 'cpufreq'])).flatMap((p) => p.affectedCpus);
    const loads = column(walk, '1.3.6.1.2.1.25.3.3.1', 2);
    // One row per CPU, each the percentage of busy time in the simulated kernel's /proc/stat.
    expect([...loads.keys()].sort()).toEqual(cpus.map((c) => String(196608 + c)).sort());
    for (const row of loads.values()) {
      expect(row.type).toBe('INTEGER');
      expect(Number(row.value)).toBeGreaterThanOrEqual(0);
      expect(Number(row.value)).toBeLessThanOrEqual(100);
    }
  });

  it('serves VPMD-MIB with names from the shipped MIB file', async () => {
    const policies = await agent.json<Policy[]>(['host', 'cpufreq']);
    const r = await tool('snmpbulkwalk', [...withVpmdMib(v3('walker', AUTH, PRIV)), target, 'VPMD-MIB::vpmdObjects']);
    expect(r.stderr).toBe('');
    const p0 = policies[0] as Policy;
    const cpu = p0.affectedCpus[0] as number;
    expect(r.stdout).toContain(`VPMD-MIB::vpmdCpuHwMaxFreq.${cpu} = Gauge32: ${p0.cpuinfoMaxKHz} kHz`);
    expect(r.stdout).toContain(`VPMD-MIB::vpmdCpuHwMinFreq.${cpu} = Gauge32: ${p0.cpuinfoMinKHz} kHz`);
    // Sleep targets from the host-sleep capability, as its provider reports them.
    expect(r.stdout).toContain('VPMD-MIB::vpmdSleepTargetName.1 = STRING: mem');
    expect(r.stdout).toContain('VPMD-MIB::vpmdSleepTargetSupported.1 = INTEGER: true(1)');
    expect(r.stdout).toContain('VPMD-MIB::vpmdSleepTargetSupported.2 = INTEGER: false(2)');
    expect(r.stdout).toContain('VPMD-MIB::vpmdHostPowerState.0 = INTEGER: on(1)');
    // No guest-channels provider: the guest table is absent, not faked.
    expect(r.stdout).not.toContain('vpmdGuestVmName');
  });

  it('answers noSuchInstance and noSuchObject as RFC 3416 says', async () => {
    const r = await tool('snmpget', [
      ...v3('walker', AUTH, PRIV),
      target,
      `${ENT}.7.999999`,
      '1.3.6.1.4.1.99999.1.3.1.1.2.1',
      '1.3.6.1.2.1.2.1.0',
    ]);
    const rows = parseWalk(r.stdout);
    expect(rows.get(`${ENT}.7.999999`)?.value).toMatch(/No Such Instance/);
    expect(rows.get('1.3.6.1.2.1.2.1.0')?.value).toMatch(/No Such Object/);
  });
});

describe('VPMD-MIB file', () => {
  it('passes smilint at its strictest level', async () => {
    const r = await tool('smilint', ['-l', '9', `${MIB_DIR}/VPMD-MIB.txt`], { SMIPATH: `${MIB_DIR}/ietf:${MIB_DIR}` });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('loads in snmptranslate', async () => {
    const r = await tool('snmptranslate', [...LOAD_VPMD_MIB, '-On', 'VPMD-MIB::vpmdSuspendAction.0']);
    expect(r.stdout.trim()).toBe('.1.3.6.1.4.1.99999.1.1.5.0');
  });
});
