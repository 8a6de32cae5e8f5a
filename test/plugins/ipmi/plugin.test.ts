/**
 * The ipmi plugin in a real agent polling three ipmi_sim BMCs: telemetry, SEL events, chassis
 * power, vpmctl commands, privileges, and sessions closed on stop.
 */
import { testPlugin } from '../../../testkit/index.js';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, runIpmitool, startIpmiSim, type BootedAgent, type IpmiSimPeer } from 'vpmd/testkit';
import { BMCS, type Bmcs, type MetricSnapshot, type VpmdEventMap } from '../../../core/index.js';
import ipmi from '../../../plugins/ipmi/index.js';
import { openSessions } from './support/reference-tools.js';

/** Records hw.log.v1 events and holds the BMC capability, as any consumer plugin would. */
const seen: VpmdEventMap['hw.log.v1'][] = [];
let bmcs: Bmcs | undefined;
const recorder = testPlugin({
  name: 'hw-log-recorder',
  description: 'test consumer of hw.log.v1',
  optional: [BMCS.id],
  register(ctx) {
    ctx.events.on('hw.log.v1', (e) => void seen.push(e));
    return {
      start() {
        bmcs = ctx.capabilities.find(BMCS);
      },
      stop() {},
    };
  },
});

let sim: IpmiSimPeer;
let booted: BootedAgent;
let pwFile: string;
let targets: Record<string, unknown>[];

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 3 });
  pwFile = join(sim.dir, 'bmc1.password');
  await writeFile(pwFile, `${sim.targets[1]?.password}\n`);
  await chmod(pwFile, 0o600);
  targets = sim.targets.map((t, i) => ({
    name: t.name,
    host: t.host,
    port: t.port,
    username: t.username,
    ...(i === 1 ? { passwordFile: pwFile } : { password: t.password }),
    interval: 3600,
  }));
  booted = await bootAgent({ plugins: [ipmi, recorder], sections: { ipmi: { targets } } });
});
afterAll(async () => {
  await booted?.stop();
  await sim?.stop();
});

interface Sweep {
  targets: number;
  successes: number;
  failures: number;
}

// The targets poll once an hour: a test that asserts polled state polls first (tests run in any order).
const poll = (): Promise<Sweep> => booted.json<Sweep>(['ipmi', 'poll']);

describe('polling', () => {
  it('polls every target and reports the sweep', async () => {
    const r = await booted.json<Sweep>(['ipmi', 'poll']);
    expect(r).toMatchObject({ targets: 3, successes: 3, failures: 0 });
  });

  it('records every reading in the telemetry store with unit, status, thresholds and source', async () => {
    await poll();
    const metric = (id: string): Promise<MetricSnapshot> => booted.json<MetricSnapshot>(['telemetry', 'show', id]);
    expect(await metric('ipmi/bmc1/1-inlet-temp')).toMatchObject({
      kind: 'temperature',
      unit: 'Cel',
      source: { plugin: 'ipmi', target: 'bmc1', sensor: 'Inlet Temp' },
      thresholds: { lowerCritical: 3, lowerWarning: 5, upperWarning: 38, upperCritical: 42 },
      latest: { value: 24, status: 'ok' },
    });
    expect(await metric('ipmi/bmc2/3-12v-rail')).toMatchObject({
      kind: 'voltage',
      unit: 'V',
      latest: { value: 11.97 },
    });
    expect(await metric('ipmi/bmc0/2-fan-1')).toMatchObject({
      kind: 'fan',
      unit: 'RPM',
      latest: { value: 4800 },
      thresholds: { lowerCritical: 600, lowerWarning: 800 },
    });
    expect(await metric('ipmi/bmc0/5-psu1-status')).toMatchObject({
      kind: 'other',
      unit: 'count',
      latest: { value: 1, status: 'ok' },
    });
    // ipmi_sim has no DCMI: system power falls back to the power sensor.
    expect(await metric('ipmi/bmc0/system-power')).toMatchObject({
      kind: 'power',
      unit: 'W',
      source: { sensor: 'Pwr Consumption' },
      latest: { value: 220 },
    });
    const all = await booted.json<Array<{ source: { plugin: string } }>>(['telemetry', 'list']);
    expect(all.filter((m) => m.source.plugin === 'ipmi')).toHaveLength(3 * 6);
  });

  it('follows a sensor change on the next poll', async () => {
    await sim.setSensor(2, 1, 43);
    try {
      await poll();
      const inlet = await booted.json<MetricSnapshot>(['telemetry', 'show', 'ipmi/bmc2/1-inlet-temp']);
      expect(inlet.latest).toMatchObject({ value: 43, status: 'critical' });
    } finally {
      await sim.setSensor(2, 1, 24);
    }
  });

  it('turns SEL entries into hw.log.v1 events once', async () => {
    await poll();
    await poll();
    // bmc0's SEL is never cleared (the sel test clears bmc1's): its three entries, once each.
    const forBmc0 = seen.filter((e) => e.source === 'ipmi/bmc0');
    expect(forBmc0.map((e) => [e.severity, e.message])).toEqual([
      ['warning', 'Temperature #0x01 | Upper Non-critical going high | Asserted'],
      ['critical', 'Fan #0x02 | Lower Critical going low | Asserted'],
      ['info', 'Power Supply #0x05 | Presence detected | Asserted'],
    ]);
    for (const bmc of ['bmc1', 'bmc2']) {
      const messages = seen.filter((e) => e.source === `ipmi/${bmc}`).map((e) => e.message);
      expect(new Set(messages).size).toBe(messages.length);
    }
  });
});

describe('vpmctl ipmi', () => {
  it('sensors: JSON objects with name, value, unit, status; human output like ipmitool sdr list', async () => {
    const rows = await booted.json<Array<{ name: string; value: number | null; unit: string; status: string }>>([
      'ipmi',
      'sensors',
      'bmc0',
    ]);
    expect(rows[0]).toMatchObject({ name: 'Inlet Temp', value: 24, unit: 'degrees C', status: 'ok' });
    expect(rows.find((r) => r.name === 'PSU1 Status')).toMatchObject({
      unit: 'discrete',
      status: 'ok',
      states: ['Presence detected'],
    });
    const human = await booted.run(['ipmi', 'sensors', 'bmc0']);
    if (human.type !== 'result') throw new Error(human.error.message);
    const ref = (
      await runIpmitool(sim.targets[0] ?? { host: '', port: 0, username: '', password: '' }, ['sdr', 'list'])
    ).stdout
      .split('\n')
      .filter((l) => l.includes('|'));
    const ours = human.human.split('\n');
    // Analog rows match ipmitool character for character (discrete rows name the state).
    for (let i = 0; i < 4; i++) expect(ours[i]).toBe(ref[i]?.trimEnd());
  });

  it('chassis: status and power control, checked on the BMC', async () => {
    await poll();
    const off = await booted.run(['ipmi', 'chassis', 'bmc2', 'off']);
    expect(off.type === 'result' && off.human).toBe('Chassis Power Control: Down/Off');
    expect(await sim.powerState(2)).toBe(0);
    const status = await booted.run(['ipmi', 'chassis', 'bmc2', 'status']);
    expect(status.type === 'result' && status.human).toMatch(/^System Power\s+: off$/m);
    const targets = await booted.json<Array<{ name: string; power: string; state: string }>>(['ipmi', 'targets']);
    expect(targets.find((t) => t.name === 'bmc2')).toMatchObject({ power: 'off', state: 'ok' });
    await booted.run(['ipmi', 'chassis', 'bmc2', 'on']);
    expect(await sim.powerState(2)).toBe(1);
  });

  it('refuses chassis control and SEL clearing to a read-only principal, audited, BMC untouched', async () => {
    const ro = { name: 'viewer', role: 'ReadOnly', origin: 'control-socket' } as const;
    await expect(booted.agent.runCommand(['ipmi', 'chassis', 'bmc0', 'off'], ro)).rejects.toMatchObject({
      code: 'E_ACCESS_DENIED',
    });
    await expect(booted.agent.runCommand(['ipmi', 'sel', 'bmc0', '--clear'], ro)).rejects.toMatchObject({
      code: 'E_ACCESS_DENIED',
    });
    expect(await sim.powerState(0)).toBe(1);
    const status = await booted.agent.runCommand(['ipmi', 'chassis', 'bmc0', 'status'], ro);
    expect(status.human).toMatch(/System Power\s+: on/);
  });

  it('sel: lists like ipmitool, clears on request', async () => {
    const list = await booted.run(['ipmi', 'sel', 'bmc1']);
    const ref = (
      await runIpmitool(sim.targets[1] ?? { host: '', port: 0, username: '', password: '' }, ['sel', 'list'])
    ).stdout
      .split('\n')
      .filter((l) => l.includes('|'));
    expect(ref).toHaveLength(3);
    // ipmitool's own table spells one state with a trailing blank ("Lower Critical going low ").
    const norm = (l: string): string => l.trimEnd().replace(/ +\|/g, ' |');
    expect(list.type === 'result' && list.human.split('\n').map(norm)).toEqual(ref.map(norm));
    expect(list.type === 'result' && list.human.split('\n')[0]).toMatch(
      /^ {3}1 \| {2}Pre-Init {2}\|\d{10}\| Temperature/,
    );
    await booted.run(['ipmi', 'sel', 'bmc1', '--clear']);
    const after = await booted.run(['ipmi', 'sel', 'bmc1']);
    expect(after.type === 'result' && after.human).toBe('SEL has no entries');
  });

  it('names an unknown target', async () => {
    const r = await booted.run(['ipmi', 'sensors', 'nope']);
    expect(r.type === 'error' && r.error).toMatchObject({
      code: 'E_IPMI_TARGET',
      message: expect.stringContaining('bmc0, bmc1, bmc2'),
    });
  });

  it('targets: state, power and last poll per target, one open session each', async () => {
    await poll();
    const rows = await booted.json<Array<{ name: string; state: string; lastPoll: number; hasSession: boolean }>>([
      'ipmi',
      'targets',
    ]);
    expect(rows.map((r) => [r.name, r.state, r.hasSession])).toEqual([
      ['bmc0', 'ok', true],
      ['bmc1', 'ok', true],
      ['bmc2', 'ok', true],
    ]);
    for (const t of sim.targets) expect(await openSessions(t)).toBe(1);
  });
});

describe('BMC capability (bmcs@1, routed to the ipmi driver)', () => {
  it('lists the targets with state and power, and controls chassis power with a privilege check', async () => {
    if (bmcs === undefined) throw new Error('bmcs@1 not provided');
    await poll();
    expect(bmcs.targets().map((t) => [t.name, t.state, t.power])).toEqual([
      ['bmc0', 'ok', 'on'],
      ['bmc1', 'ok', 'on'],
      ['bmc2', 'ok', 'on'],
    ]);
    const viewer = { name: 'viewer', role: 'ReadOnly', origin: 'redfish' } as const;
    const admin = { name: 'admin', role: 'Administrator', origin: 'redfish' } as const;
    await expect(bmcs.chassis('bmc1', 'off', viewer)).rejects.toMatchObject({ code: 'E_ACCESS_DENIED' });
    await expect(bmcs.chassis('nope', 'off', admin)).rejects.toMatchObject({ code: 'E_BMC_NOT_FOUND' });
    await expect(bmcs.powerLimit('nope')).rejects.toThrow(/no BMC named 'nope'; configured: bmc0, bmc1, bmc2/);
    await bmcs.chassis('bmc1', 'off', admin);
    expect(await sim.powerState(1)).toBe(0);
    expect(bmcs.targets().find((t) => t.name === 'bmc1')?.power).toBe('off');
    await bmcs.chassis('bmc1', 'on', admin);
    expect(await sim.powerState(1)).toBe(1);
  });
});

describe('stop', () => {
  it('closes every session on the BMCs', async () => {
    // An agent of its own: the file's agent serves the other tests, which may run after this one.
    const before = await Promise.all(sim.targets.map((t) => openSessions(t)));
    const own = await bootAgent({ plugins: [ipmi], sections: { ipmi: { targets } } });
    try {
      await own.json<Sweep>(['ipmi', 'poll']);
      expect(await Promise.all(sim.targets.map((t) => openSessions(t)))).toEqual(before.map((n) => n + 1));
    } finally {
      await own.stop();
    }
    expect(await Promise.all(sim.targets.map((t) => openSessions(t)))).toEqual(before);
  });
});
