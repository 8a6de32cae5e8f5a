/**
 * An external plugin's own vocabulary, end to end: the example plugin's error code reaches the
 * compiled vpmctl (which loads no plugin) with the exit code the plugin declared, its event type
 * reaches another plugin's subscriber, and a plugin whose vocabulary breaks the rules is refused
 * when the agent loads it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type, defineCommand } from '../../core/index.js';
import energyReport from '../../examples/plugins/energy-report/index.js';
import type { BudgetCrossing } from '../../examples/plugins/energy-report/vocabulary.js';
import { bootAgent, testPlugin, type BootedAgent } from '../../testkit/index.js';
import { pollUntil } from '../../testkit/peers/wait.js';
import { ensureBuilt, runCli, VPMCTL } from '../support/built-cli.js';

/** A second plugin that subscribes to energy-report's event type and shows what it saw. */
function budgetWatcher(seen: BudgetCrossing[]) {
  return testPlugin({
    name: 'budget-watcher',
    description: 'records energy-report.budget.v1 events',
    register(ctx) {
      ctx.events.on('energy-report.budget.v1', (e) => void seen.push(e));
      ctx.commands.register(
        defineCommand({
          name: 'watcher names',
          summary: 'declared event types',
          privilege: 'Login',
          args: Type.Object({}),
          handler: () => ctx.events.names(),
        }),
      );
      return { start() {}, stop() {} };
    },
  });
}

describe('a plugin that owns its vocabulary (example energy-report)', () => {
  let agent: BootedAgent;
  const seen: BudgetCrossing[] = [];

  beforeAll(async () => {
    ensureBuilt();
    agent = await bootAgent({
      plugins: [budgetWatcher(seen), energyReport],
      sections: { 'energy-report': { budgetWatts: 1, interval: 0.1 } },
    });
  }, 300_000);

  afterAll(async () => {
    await agent?.stop();
  });

  it('delivers its event type to another plugin, which lists it among the declared types', async () => {
    const first = await pollUntil({
      peer: 'energy-report',
      what: 'a budget crossing event',
      timeoutMs: 30_000,
      intervalMs: 50,
      probe: () => Promise.resolve(seen[0]),
    });
    expect(first).toMatchObject({ state: 'over', budgetWatts: 1 });
    expect(first.watts).toBeGreaterThan(1);
    const names = await agent.json<string[]>(['watcher', 'names']);
    expect(names).toContain('energy-report.budget.v1');
    expect(names).toContain('host.power.v1');
  });

  it('gives vpmctl its error with the declared exit code (20), as text and as JSON', async () => {
    // Power is known after two samples: wait for it here, whichever test ran first.
    await pollUntil({
      peer: 'energy-report',
      what: 'a host power reading above the budget',
      timeoutMs: 30_000,
      intervalMs: 50,
      probe: async () => {
        const r = await agent.run(['energy', 'check']);
        return r.type === 'error' && r.error.code === 'E_ENERGY_REPORT_OVER_BUDGET' ? true : undefined;
      },
    });
    const human = await runCli(VPMCTL, ['--socket', agent.socket, 'energy', 'check']);
    expect(human.stderr).toMatch(/^error: energy check: host power [\d.]+ W is above the 1 W budget\n$/);
    expect(human.code).toBe(20);
    const json = await runCli(VPMCTL, ['--socket', agent.socket, '--json', 'energy', 'check']);
    expect(json.code).toBe(20);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: 'E_ENERGY_REPORT_OVER_BUDGET', category: 'conflict', exitCode: 20, details: { budgetWatts: 1 } },
    });
  });
});

describe('refusing a plugin vocabulary at load', () => {
  const noop = () => ({ start() {}, stop() {} });

  it('refuses a code outside the plugin prefix, naming the plugin and the code', async () => {
    const bad = testPlugin({
      name: 'stray-codes',
      description: 'declares a code of another family',
      errors: { prefix: 'E_STRAY_CODES_', codes: { E_SNMP_STRAY: { category: 'invalid', summary: 'not ours' } } },
      register: noop,
    });
    await expect(bootAgent({ plugins: [bad] })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
      message: expect.stringContaining(
        "plugin stray-codes: error code E_SNMP_STRAY does not start with the plugin's prefix E_STRAY_CODES_",
      ) as string,
    });
  });

  it('refuses the second of two plugins claiming one code', async () => {
    const claim = (name: string) =>
      testPlugin({
        name,
        description: 'claims E_SHARED_',
        errors: { prefix: 'E_SHARED_', codes: { E_SHARED_BUSY: { category: 'conflict', summary: 'busy' } } },
        register: noop,
      });
    await expect(bootAgent({ plugins: [claim('first-claim'), claim('second-claim')] })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
      message: expect.stringContaining(
        'plugins.second-claim: error prefix E_SHARED_ overlaps E_SHARED_ of plugin first-claim: two plugins cannot claim the same codes [E_PLUGIN_CLAIMED]',
      ) as string,
    });
  });
});
