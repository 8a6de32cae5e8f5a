import { describe, expect, it } from 'vitest';
import energyReport from '../../examples/plugins/energy-report/index.js';
import { bootAgent } from '../../testkit/index.js';

describe('example plugin energy-report (through the test kit)', () => {
  it('integrates host power, exposes its metric and keeps its total across a restart', async () => {
    const sections = { 'energy-report': { budgetWatts: 1, interval: 0.1 } };
    const first = await bootAgent({ plugins: [energyReport], sections });
    // The plugin integrates power over its own intervals: wait until it has energy to report.
    const report = (): Promise<{ joules: number; watts: number | null }> =>
      first.json<{ joules: number; watts: number | null }>(['energy', 'report']);
    await expect.poll(async () => (await report()).joules, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    const r1 = await report();
    expect(r1.watts).toBeGreaterThan(0);
    // above a 1 W budget: degraded, with the reason
    await expect
      .poll(async () => (await first.status())[0]?.health, { timeout: 20_000, interval: 100 })
      .toMatchObject({ status: 'degraded', detail: expect.stringContaining('exceeds the 1 W budget') as string });
    const metric = await first.json<{ id: string; unit: string; latest: { value: number } }>([
      'telemetry',
      'show',
      'energy-report/host/energy',
    ]);
    expect(metric.unit).toBe('J');
    await first.agent.stop();
    // a second agent on the same state directory continues from the saved total
    const { Agent } = await import('../../core/agent.js');
    const { createLogger } = await import('../../core/logger.js');
    const { readConfigFile } = await import('../../core/config/load-config.js');
    const parsed = await readConfigFile(first.configFile);
    const again = new Agent({
      config: parsed.config,
      configFile: first.configFile,
      builtins: [{ manifest: energyReport, kind: 'testkit', origin: 'testkit' }],
      log: createLogger({ level: 'silent' }),
    });
    await again.start();
    try {
      const { ControlClient } = await import('../../core/control/control-client.js');
      const c = await ControlClient.connect(first.socket);
      const r2 = await c.run(['energy', 'report']);
      c.close();
      expect(r2.type).toBe('result');
      expect((r2 as { result: { joules: number } }).result.joules).toBeGreaterThanOrEqual(r1.joules);
    } finally {
      await again.stop();
      await first.stop();
    }
  });

  it('refuses energy reset to a read-only principal and allows it to the socket owner', async () => {
    const agent = await bootAgent({ plugins: [energyReport], sections: { 'energy-report': { budgetWatts: 100 } } });
    try {
      expect(await agent.json(['energy', 'reset'])).toBe('energy total reset');
      // the same privilege check every surface (Redfish, SNMP) goes through
      await expect(
        agent.agent.runCommand(['energy', 'reset'], { name: 'viewer', role: 'ReadOnly', origin: 'redfish' }),
      ).rejects.toMatchObject({
        code: 'E_ACCESS_DENIED',
        message: "energy reset: 'viewer' (role ReadOnly) lacks the ConfigureComponents privilege",
      });
      expect(
        (await agent.agent.runCommand(['energy', 'reset'], { name: 'op', role: 'Operator', origin: 'redfish' })).human,
      ).toBe('energy total reset');
    } finally {
      await agent.stop();
    }
  });
});
