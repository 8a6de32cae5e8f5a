/**
 * `vpmctl power cap|budget|status|policy` through a real agent on a simulated host: human and
 * JSON output, coded errors for bad input (nothing changed), the kill switch, and the policy
 * kept across a restart of the agent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/boot-agent.js';
import power from '../../../plugins/power/index.js';
import type { PowerCapStatus, PowerControlStatus } from '../../../core/contracts/power-control.js';

let agent: BootedAgent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

const PL1 = 'sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw';

async function pl1(a: BootedAgent): Promise<string> {
  return (await readFile(join(a.hostRoot, PL1), 'utf8')).trim();
}

describe('vpmctl power', () => {
  it('sets and shows the cap, refuses bad input, pauses and resumes', async () => {
    const a = (agent = await bootAgent({ plugins: [power], sections: { power: { periodMs: 500 } } }));
    const found = await pl1(a);
    const none = await a.json<PowerCapStatus>(['power', 'cap']);
    expect(none).toMatchObject({ watts: null, mode: 'Disabled', allowableMax: 71 });
    const set = await a.json<PowerCapStatus>(['power', 'cap', '50', '--correction', '2000']);
    expect(set).toMatchObject({ watts: 50, effectiveWatts: 50, correctionMs: 2000, mode: 'Automatic' });
    expect(await pl1(a)).toBe('50000000');
    const human = await a.run(['power', 'cap']);
    expect(human.type === 'result' && human.human).toMatch(/Cap:\s+50 W/);
    for (const bad of [
      ['power', 'cap', '5000'],
      ['power', 'cap', 'lots'],
    ]) {
      const r = await a.run(bad);
      expect(r.type).toBe('error');
      if (r.type === 'error') expect(r.error.code).toBe('E_POWER_INVALID');
    }
    expect(await pl1(a)).toBe('50000000');
    const missing = await a.run(['power', 'budget', 'nope', '--remove']);
    expect(missing.type === 'error' && missing.error.code).toBe('E_POWER_NOT_FOUND');
    const b = await a.json<{ budgets: { vm: string; state: string }[] }>(['power', 'budget', 'web', '--watts', '20']);
    expect(b.budgets[0]).toMatchObject({ vm: 'web', watts: 20, priority: 50, windowS: 60 });
    const both = await a.run(['power', 'budget', 'web', '--watts', '20', '--joules', '5']);
    expect(both.type === 'error' && both.error.code).toBe('E_POWER_INVALID');
    const status = await a.json<PowerControlStatus>(['power', 'status']);
    expect(status.lastActions.some((x) => /PL1 50000000/.test(x.action))).toBe(true);
    const text = await a.run(['power', 'status']);
    expect(text.type === 'result' && text.human).toMatch(/Last actions:[\s\S]*cause: host cap 50\.0 W/);
    await a.json(['power', 'policy', 'pause']);
    expect(await pl1(a)).toBe(found);
    expect(await a.json<PowerCapStatus>(['power', 'cap'])).toMatchObject({ health: 'paused', mode: 'Disabled' });
    await a.json(['power', 'policy', 'resume']);
    expect(await pl1(a)).toBe('50000000');
  });

  it('keeps the policy across an agent restart', async () => {
    const a = (agent = await bootAgent({ plugins: [power] }));
    await a.json(['power', 'cap', '45']);
    await a.json(['power', 'budget', 'db', '--joules', '3600', '--window', '3600', '--priority', '90']);
    await a.agent.stop();
    await a.agent.start();
    const s = await a.json<PowerControlStatus>(['power', 'status']);
    expect(s.cap.watts).toBe(45);
    expect(s.budgets).toEqual([expect.objectContaining({ vm: 'db', joules: 3600, windowS: 3600, priority: 90 })]);
  });
});
