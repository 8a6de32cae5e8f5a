/**
 * ENERGY-OBJECT-MIB energy from RAPL, read with snmpget: the meter capabilities, the host's
 * energy parameters row and the energy consumed since collection started, checked against the
 * RAPL package energy totals in the telemetry store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import { freeUdpPort, parseWalk, tool, v3 } from './helpers.js';

const CONSUMED = '1.3.6.1.2.1.229.1.5.1.2.1.0';
const MULT = '1.3.6.1.2.1.229.1.5.1.5.1.0';
const MODE = '1.3.6.1.2.1.229.1.4.1.5.1.1';
const METER = '1.3.6.1.2.1.229.1.1.1.1.1';

describe('ENERGY-OBJECT-MIB energy from RAPL', () => {
  let agent: BootedAgent;
  let target: string;

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    agent = await bootAgent({ plugins: [snmp], sections: { snmp: { port, cacheSeconds: 0.2 } } });
    await agent.json(['snmp', 'user', 'add', 'e'], ['energy-auth-1', 'energy-priv-1']);
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('serves the energy consumed since the collection started, in mWh, matching RAPL', async () => {
    const get = async (): Promise<Map<string, { type: string; value: string }>> =>
      parseWalk(
        (
          await tool('snmpget', [
            ...v3('e', 'energy-auth-1', 'energy-priv-1'),
            '-Ox',
            target,
            CONSUMED,
            MULT,
            MODE,
            METER,
          ])
        ).stdout,
      );
    const first = await get();
    expect(first.get(MULT)?.value).toBe('-3');
    expect(first.get(MODE)?.value).toBe('3'); // total
    expect(first.get(METER)?.value).toMatch(/^60/); // powermetering + energymetering
    // Wait for the first whole mWh (3.6 J of simulated package energy) rather than for a time.
    const readConsumed = async (): Promise<number> => Number((await get()).get(CONSUMED)?.value.replace(/^0x/i, ''));
    await expect.poll(readConsumed, { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
    const consumed = await readConsumed();
    // The packages' energy totals by sample time: consumed = sum(now) - sum(baseline), in mWh.
    const pkgs = (await agent.json<{ id: string }[]>(['telemetry', 'list'])).filter((m) =>
      /^host\/rapl\/package-\d+\/energy$/.test(m.id),
    );
    const byTime = new Map<number, number>();
    for (const p of pkgs) {
      const h = await agent.json<{ history: { value: number; timestamp: number }[] }>([
        'telemetry',
        'show',
        p.id,
        '--history',
        '1000',
      ]);
      for (const r of h.history) byTime.set(r.timestamp, (byTime.get(r.timestamp) ?? 0) + r.value);
    }
    const sums = [...byTime.values()];
    const candidates = sums.flatMap((a) => sums.map((b) => Math.round(((b - a) / 3600) * 1000)));
    expect(candidates).toContain(consumed);
  });
});
