import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIpmitool, startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from '../../../testkit/peers/index.js';
import { requireProgram } from '../../../testkit/peers/program-lookup.js';
import { expectNoProcess } from './process-state.js';

/** `ipmitool sdr list` as name -> "value | status". */
async function sdrList(target: IpmiSimTarget): Promise<Map<string, string>> {
  const { stdout } = await runIpmitool(target, ['sdr', 'list']);
  const rows = stdout
    .split('\n')
    .filter((line) => line.includes('|'))
    .map((line) => line.split('|').map((cell) => cell.trim()));
  return new Map(rows.map(([name, value, status]) => [name ?? '', `${value ?? ''} | ${status ?? ''}`]));
}

function target(sim: IpmiSimPeer, index: number): IpmiSimTarget {
  const t = sim.targets[index];
  if (t === undefined) throw new Error(`no BMC ${index}`);
  return t;
}

describe('startIpmiSim with 3 BMCs and the default sensors', () => {
  let sim: IpmiSimPeer;

  beforeAll(async () => {
    sim = await startIpmiSim({ bmcs: 3, power: 0 });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  it('gives each BMC its own loopback port, IPMB address and the admin login', () => {
    expect(sim.targets.map((t) => t.name)).toEqual(['bmc0', 'bmc1', 'bmc2']);
    expect(new Set(sim.targets.map((t) => t.port)).size).toBe(3);
    expect(
      sim.targets.every(
        (t) => t.host === '127.0.0.1' && t.port >= 1024 && t.username === 'admin' && t.password === 'password',
      ),
    ).toBe(true);
    expect(sim.targets.map((t) => t.ipmb)).toEqual([0x20, 0x22, 0x24]);
  });

  it('answers ipmitool sdr list on every port with the configured sensors and converted values', async () => {
    for (const t of sim.targets) {
      const sdr = await sdrList(t);
      expect(sdr.get('Inlet Temp')).toBe('24 degrees C | ok');
      expect(sdr.get('Fan 1')).toBe('4800 RPM | ok');
      expect(sdr.get('12V Rail')).toBe('11.97 Volts | ok');
      expect(sdr.get('Pwr Consumption')).toBe('220 Watts | ok');
      expect(sdr.get('PSU1 Status')).toBe('0x01 | ok');
    }
  });

  it('answers FreeIPMI ipmi-sensors on every port too (sensors are read from each BMC, not bridged)', async () => {
    const ipmiSensors = await requireProgram('freeipmi', 'ipmi-sensors', 'freeipmi-tools');
    const cache = await mkdtemp(join(tmpdir(), 'vpmd-sdr-cache-'));
    try {
      const hosts = sim.targets.map((t) => `127.0.0.1:${t.port}`).join(',');
      const args = [
        '-D',
        'LAN_2_0',
        '-h',
        hosts,
        '-u',
        'admin',
        '-p',
        'password',
        '-l',
        'ADMIN',
        '-I',
        '3',
        '-W',
        'opensesspriv',
        `--sdr-cache-directory=${cache}`,
      ];
      const { stdout } = await promisify(execFile)(ipmiSensors, args, { timeout: 20_000 });
      for (const t of sim.targets) {
        expect(stdout).toMatch(
          new RegExp(`^127\\.0\\.0\\.1:${t.port}: 1\\s+\\| Inlet Temp\\s+\\| Temperature\\s+\\| 24\\.00 `, 'm'),
        );
        expect(stdout).toMatch(
          new RegExp(`^127\\.0\\.0\\.1:${t.port}: 2\\s+\\| Fan 1\\s+\\| Fan\\s+\\| 4800\\.00 `, 'm'),
        );
      }
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('reports the thresholds from the SDRs (ipmitool sensor list)', async () => {
    const { stdout } = await runIpmitool(target(sim, 0), ['sensor', 'list']);
    const inlet = stdout
      .split('\n')
      .find((line) => line.startsWith('Inlet Temp'))
      ?.split('|')
      .map((c) => c.trim());
    // columns: name, value, unit, status, lnr, lc, lnc, unc, uc, unr
    expect(inlet?.slice(4)).toEqual(['na', '3.000', '5.000', '38.000', '42.000', '45.000']);
  });

  it('keeps a SEL with the default entries', async () => {
    const { stdout } = await runIpmitool(target(sim, 1), ['sel', 'list']);
    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('Upper Non-critical going high');
    expect(lines[1]).toContain('Lower Critical going low');
    expect(lines[2]).toContain('Presence detected');
  });

  it('chassis power on changes only that BMC’s power-state file', async () => {
    // Each test sets up the power states it asserts on: the tests of this file run in any order.
    await sim.setPowerState(1, 0);
    const others = [await sim.powerState(0), await sim.powerState(2)];
    const logged = (await sim.chassisLog(1)).length;
    await runIpmitool(target(sim, 1), ['chassis', 'power', 'on']);
    expect(await sim.powerState(1)).toBe(1);
    expect([await sim.powerState(0), await sim.powerState(2)]).toEqual(others);
    expect((await sim.chassisLog(1)).slice(logged)).toEqual(['power 1']);
    expect((await runIpmitool(target(sim, 1), ['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is on');
  });

  it('reports a power state changed behind the BMC’s back', async () => {
    await sim.setPowerState(2, 1);
    expect((await runIpmitool(target(sim, 2), ['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is on');
  });

  it('setSensor changes one BMC’s reading, threshold status included', async () => {
    await sim.setSensor(2, 1, 40);
    try {
      expect((await sdrList(target(sim, 2))).get('Inlet Temp')).toBe('40 degrees C | nc');
      expect((await sdrList(target(sim, 0))).get('Inlet Temp')).toBe('24 degrees C | ok');
      await expect(sim.setSensor(2, 99, 1)).rejects.toMatchObject({
        message: expect.stringContaining('Unable to set sensor value'),
      });
    } finally {
      // The other tests read the default sensors, before or after this one.
      await sim.setSensor(2, 1, 24);
    }
  });

  it('refuses a wrong password', async () => {
    await expect(runIpmitool({ ...target(sim, 0), password: 'wrong' }, ['mc', 'info'])).rejects.toMatchObject({
      message: expect.stringContaining('ipmitool mc info'),
    });
  });
});

describe('startIpmiSim options', () => {
  it('serves custom sensors, users and an empty SEL', async () => {
    const sim = await startIpmiSim({
      users: [{ name: 'operator', password: 'op-secret', privilege: 'operator' }],
      sensors: [
        { kind: 'analog', number: 7, name: 'CPU0 Temp', type: 'Temperature', unit: 'degrees_C', m: 2, b: 10, raw: 30 },
      ],
      sel: false,
    });
    try {
      const t = target(sim, 0);
      expect(t.username).toBe('operator');
      const sdr = await sdrList(t);
      expect([...sdr.keys()]).toEqual(['CPU0 Temp']);
      expect(sdr.get('CPU0 Temp')).toBe('70 degrees C | ok'); // 2 * 30 + 10
      expect((await runIpmitool(t, ['sel', 'info'])).stdout).toMatch(/^Entries\s*:\s*0$/m);
    } finally {
      await sim.stop();
    }
  });

  it('spreads more than 100 BMCs over several ipmi_sim processes', async () => {
    const sim = await startIpmiSim({ bmcs: 101, sel: false });
    try {
      expect(sim.pids).toHaveLength(2);
      expect(target(sim, 100).ipmb).toBe(0x20);
      await sim.setSensor(100, 1, 30);
      expect((await sdrList(target(sim, 100))).get('Inlet Temp')).toBe('30 degrees C | ok');
      expect((await sdrList(target(sim, 99))).get('Inlet Temp')).toBe('24 degrees C | ok');
    } finally {
      await sim.stop();
    }
  });

  it('fails at once, quoting ipmi_sim, when its port is taken', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      await expect(startIpmiSim({ basePort: socket.address().port })).rejects.toMatchObject({
        code: 'E_PEER_FAILED',
        message: expect.stringMatching(
          /ipmi_sim: exited \(exit code 1\) while starting[\s\S]*Unable to bind to LAN port: Address already in use/,
        ),
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      socket.close();
    }
  });

  it('refuses a port another ipmi_sim serves too (both bind it with SO_REUSEADDR)', async () => {
    const first = await startIpmiSim();
    try {
      const port = target(first, 0).port;
      await expect(startIpmiSim({ basePort: port })).rejects.toMatchObject({
        code: 'E_PEER_FAILED',
        message: expect.stringContaining(`UDP ${port} also bound by another process`),
      });
      // The first BMC still answers as itself.
      expect((await sdrList(target(first, 0))).get('Inlet Temp')).toBe('24 degrees C | ok');
    } finally {
      await first.stop();
    }
  });

  it('rejects an all-caps sensor name and a privileged base port before starting anything', async () => {
    await expect(
      startIpmiSim({
        sensors: [
          { kind: 'analog', number: 1, name: 'CPU TEMP', type: 'Temperature', unit: 'degrees_C', m: 1, raw: 1 },
        ],
      }),
    ).rejects.toMatchObject({ code: 'E_PEER_OPTIONS', message: expect.stringContaining('sensors[0].name') });
    await expect(startIpmiSim({ basePort: 623 })).rejects.toMatchObject({
      code: 'E_PEER_OPTIONS',
      message: expect.stringContaining('basePort'),
    });
  });
});

describe('IpmiSimPeer.stop', () => {
  it('ends ipmi_sim and its process group and removes the temp directory', async () => {
    const sim = await startIpmiSim({ bmcs: 2 });
    await runIpmitool(target(sim, 0), ['chassis', 'power', 'off']); // runs the chassis script once
    await sim.stop();
    for (const pid of sim.pids) {
      expectNoProcess(pid);
      expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    }
    expect(existsSync(sim.dir)).toBe(false);
  });
});
