/**
 * Budget exhaustion and recovery reach Redfish's SSE stream (an event on
 * `Controls/PowerLimit`) and the audit trail, through a real agent: a domains@1 and an energy@1
 * stand-in report a VM drawing 30 W against a 20 W budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryDomains, inMemoryDomainsPlugin } from '../../../testkit/in-memory-domains.js';
import power from '../../../plugins/power/index.js';
import { fixedPowerVm } from './fixed-power-vm.js';
import { bootRedfish, openSse, type RedfishHarness } from '../redfish/support.js';

const UUID = '55555555-5555-4555-8555-555555555555';
const domains = new InMemoryDomains();
const vm = fixedPowerVm(UUID, 'web', 30);

let h: RedfishHarness;
let token: string;
beforeAll(async () => {
  domains.start({ uuid: UUID, name: 'web', vcpus: [{ pins: [2] }, { pins: [3] }], emulator: { pins: [2, 3] } });
  h = await bootRedfish({
    plugins: [power, inMemoryDomainsPlugin(domains), vm.plugin],
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
      vm.watts = 5; // the guest calms down: the ceiling rises until it is released
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
