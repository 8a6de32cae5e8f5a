/**
 * Budget exhaustion and recovery reach Redfish's SSE stream (an event on
 * `Controls/PowerLimit`) and the audit trail, through a real agent: a domains@1 and an energy@1
 * stand-in report a VM drawing 30 W against a 20 W budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENERGY, type EnergyAccounting } from '../../../core/contracts/energy.js';
import { InMemoryDomains, inMemoryDomainsPlugin } from '../../../testkit/in-memory-domains.js';
import { testPlugin } from '../../../testkit/test-plugin.js';
import power from '../../../plugins/power/index.js';
import { bootRedfish, openSse, type RedfishHarness } from '../redfish/support.js';

const UUID = '55555555-5555-4555-8555-555555555555';
const domains = new InMemoryDomains();
let watts = 30;
let joules = 0;
let last = Date.now();
const energy: EnergyAccounting = {
  vms: () => [],
  vm: (id) => {
    if (id !== UUID && id !== 'web') return undefined;
    const now = Date.now();
    joules += (watts * (now - last)) / 1000;
    last = now;
    const fig = { joules, watts, source: 'rapl' as const, model: 'fixed', origin: 'test' };
    return { uuid: UUID, name: 'web', running: true, rapl: fig, zones: {} };
  },
  host: () => ({ zones: [], idleFloor: {}, sampledAt: Date.now(), intervalMs: 1000 }),
  history: () => [],
};
const energyPlugin = testPlugin({
  name: 'test-energy',
  description: 'a VM drawing a fixed power',
  provides: [ENERGY.id],
  register: (ctx) => ({ start: () => ctx.capabilities.provide(ENERGY, energy), stop: () => undefined }),
});

let h: RedfishHarness;
let token: string;
beforeAll(async () => {
  domains.start({ uuid: UUID, name: 'web', vcpus: [{ pins: [2] }, { pins: [3] }], emulator: { pins: [2, 3] } });
  h = await bootRedfish({
    plugins: [power, inMemoryDomainsPlugin(domains), energyPlugin],
    extraSections: { power: { periodMs: 200 }, 'test-domains': {}, 'test-energy': {} },
  });
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  token = await h.login('admin', 'Admin-pass-1');
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

describe('budget events', () => {
  it('sends exhaustion and recovery on SSE and audits them with the cause', async () => {
    const sse = await openSse(h, token);
    try {
      await h.agent.json(['power', 'budget', 'web', '--watts', '20']);
      const exhausted = await sse.waitFor((d) => JSON.stringify(d).includes('budget of VM web exhausted'), 20_000);
      expect(JSON.stringify(exhausted)).toContain('/Controls/PowerLimit');
      watts = 5; // the guest calms down: the ceiling rises until it is released
      await sse.waitFor((d) => JSON.stringify(d).includes('budget of VM web recovered'), 30_000);
    } finally {
      sse.close();
    }
    const audit = await h.agent.json<{ action: string; detail?: string }[]>(['audit', '--limit', '200']);
    expect(
      audit.some((a) => /web: frequency ceiling \d+ kHz on CPUs 2,3 \(cause: web drew 30\.0 W/.test(a.detail ?? '')),
    ).toBe(true);
  });
});
