/**
 * The SDR cache and the accepted cipher suite survive an agent restart (plugin state
 * `bmc-memory`): a restarted agent against the same ipmi_sim checks the repository timestamps
 * and does not read the repository again, nor list cipher suites; a BMC whose repository
 * changed meanwhile (restarted with another sensor) is read again; an unreadable memory file
 * costs a full read, not the plugin.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SIM_SENSORS,
  bootAgent,
  freeUdpPorts,
  startIpmiSim,
  type BootedAgent,
  type IpmiSimPeer,
  type IpmiSimTarget,
} from 'vpmd/testkit';
import ipmi from '../../../plugins/ipmi/index.js';
import { openSessions } from './support/reference-tools.js';

interface Row {
  name: string;
  cipherSuite: number | null;
  session: { sent: number } | null;
  sdr: { key: string | null; sensors: number; checks: number; fullReads: number; getSdr: number };
}

// Each test gets its own state directory (and sets up the memory it needs): any order works.
let parentDir: string;
let stateDir: string;
let ports: number[];
let same: IpmiSimPeer;
let changing: IpmiSimPeer;

const t = (p: IpmiSimPeer): IpmiSimTarget => p.targets[0] as IpmiSimTarget;
const boot = (): Promise<BootedAgent> =>
  bootAgent({
    plugins: [ipmi],
    core: { state: { dir: stateDir } },
    sections: {
      ipmi: {
        // The longest interval: the scheduled first poll (jittered over it) must not overlap the
        // test's own, whose request counts are checked.
        interval: 86400,
        sel: false,
        targets: [same, changing].map((p, i) => ({
          name: i === 0 ? 'same' : 'changing',
          host: t(p).host,
          port: t(p).port,
          username: t(p).username,
          password: t(p).password,
        })),
      },
    },
  });
const rows = async (a: BootedAgent): Promise<Record<string, Row>> =>
  Object.fromEntries((await a.json<Row[]>(['ipmi', 'targets'])).map((r) => [r.name, r]));
const metricNames = async (a: BootedAgent, target: string): Promise<string[]> =>
  (await a.json<Array<{ id: string }>>(['telemetry', 'list', '--target', target])).map((m) => m.id).sort();
const memoryFile = (): string => join(stateDir, 'plugins', 'ipmi', 'bmc-memory.json');

const freshState = async (): Promise<void> => {
  stateDir = await mkdtemp(join(parentDir, 'state-'));
};
/** The first agent on an empty state directory: polls once and stops, saving the memory. */
const firstAgent = async (): Promise<Record<string, Row>> => {
  const a = await boot();
  try {
    await a.json(['ipmi', 'poll']);
    return await rows(a);
  } finally {
    await a.stop();
  }
};
const restartChanging = async (sensors = DEFAULT_SIM_SENSORS): Promise<void> => {
  await changing.stop();
  changing = await startIpmiSim({ bmcs: 1, sel: false, basePort: ports[1], sensors: [...sensors] });
};

beforeAll(async () => {
  parentDir = await mkdtemp(join(tmpdir(), 'vpmd-ipmi-memory-'));
  ports = await freeUdpPorts(2);
  same = await startIpmiSim({ bmcs: 1, sel: false, basePort: ports[0] });
  changing = await startIpmiSim({ bmcs: 1, sel: false, basePort: ports[1] });
});
afterAll(async () => {
  await same?.stop();
  await changing?.stop();
  if (parentDir) await rm(parentDir, { recursive: true, force: true });
});

describe('BMC memory across restarts', () => {
  it('the first agent reads each repository once, negotiates the suite, and saves both on stop', async () => {
    await freshState();
    const first = await firstAgent();
    for (const name of ['same', 'changing']) {
      expect(first[name]?.sdr).toMatchObject({ sensors: 5, checks: 1, fullReads: 1 });
      expect(first[name]?.sdr.getSdr).toBeGreaterThan(5);
      expect(first[name]?.cipherSuite).toBe(3);
    }
    const saved = JSON.parse(await readFile(memoryFile(), 'utf8')) as {
      data: Record<string, { suite: number; sdr: { key: string; records: unknown[] } }>;
    };
    expect(saved.data.same).toMatchObject({ suite: 3, sdr: { key: first.same?.sdr.key, records: expect.any(Array) } });
    expect(saved.data.same?.sdr.records).toHaveLength(5);
    expect(await openSessions(t(same))).toBe(0);
  });

  it('a restarted agent only checks an unchanged repository and logs in without listing suites; a changed one is read again', async () => {
    await freshState();
    const first = await firstAgent();
    // The second BMC comes back with another sensor: a new repository (count and timestamp).
    await restartChanging([
      ...DEFAULT_SIM_SENSORS,
      { kind: 'analog', number: 6, name: 'Cpu Temp', type: 'Temperature', unit: 'degrees_C', m: 1, raw: 51 },
    ]);
    try {
      await restarted(first);
    } finally {
      // The other tests expect the default sensors.
      await restartChanging();
    }
  });

  const restarted = async (first: Record<string, Row>): Promise<void> => {
    const a = await boot();
    const before = await rows(a);
    expect(before.same?.sdr).toMatchObject({ key: first.same?.sdr.key, sensors: 5, checks: 0, fullReads: 0 });
    expect(before.same?.cipherSuite).toBe(3);
    await a.json(['ipmi', 'poll']);
    const after = await rows(a);
    // Unchanged: one Get SDR Repository Info, no Get SDR at all.
    expect(after.same?.sdr).toMatchObject({ key: first.same?.sdr.key, sensors: 5, checks: 1, fullReads: 0, getSdr: 0 });
    // The login skipped the 5 Get Channel Cipher Suites, the poll the Reserve, the Get SDRs and
    // the 4 Get Sensor Thresholds of the first agent's poll.
    expect(after.same?.session?.sent).toBe(
      (first.same?.session?.sent ?? 0) - 5 - 1 - (first.same?.sdr.getSdr ?? 0) - 4,
    );
    expect(await metricNames(a, 'same')).toHaveLength(6); // 5 sensors and system power
    // Changed: read again, with the new sensor.
    expect(after.changing?.sdr).toMatchObject({ sensors: 6, checks: 1, fullReads: 1 });
    expect(after.changing?.sdr.key).not.toBe(first.changing?.sdr.key);
    expect(after.changing?.sdr.getSdr).toBeGreaterThan(first.changing?.sdr.getSdr ?? 0);
    expect(await metricNames(a, 'changing')).toContain('ipmi/changing/6-cpu-temp');
    await a.stop();
    expect(await openSessions(t(same))).toBe(0);
    expect(await openSessions(t(changing))).toBe(0);
  };

  it('an unreadable memory file costs a full read, not the plugin, and is written anew', async () => {
    await freshState();
    await firstAgent();
    await writeFile(memoryFile(), '{"format":"vpmd-state","version":1,"data":{"same":{"host":7}}}');
    const a = await boot();
    await a.json(['ipmi', 'poll']);
    const r = await rows(a);
    expect(r.same?.sdr).toMatchObject({ sensors: 5, fullReads: 1 });
    await a.stop();
    const saved = JSON.parse(await readFile(memoryFile(), 'utf8')) as { data: Record<string, { host: string }> };
    expect(saved.data.same?.host).toBe('127.0.0.1');
  });
});
