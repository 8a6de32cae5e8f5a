/**
 * The host cap through the host's BMC: the power plugin hands cap + headroom to a Redfish BMC
 * (DMTF's Redfish Mockup Server, its `Chassis/1U/Controls/PowerLimit`) through bmcs@1 and the
 * redfish plugin's driver, and the kill switch puts the BMC's own limit back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, startRedfishMockup, type BootedAgent, type RedfishMockup } from '../../../testkit/index.js';
import power from '../../../plugins/power/index.js';
import redfish from '../../../plugins/redfish/index.js';
import { waitFor } from '../../plugins/redfish/poller-support.js';

let mock: RedfishMockup;
let agent: BootedAgent;

async function bmcSetPoint(): Promise<{ SetPoint?: number; ControlMode?: string }> {
  const r = await fetch(`${mock.url}/redfish/v1/Chassis/1U/Controls/PowerLimit`, {
    headers: { Authorization: `Basic ${Buffer.from('Administrator:Password').toString('base64')}` },
  });
  return (await r.json()) as { SetPoint?: number; ControlMode?: string };
}

beforeAll(async () => {
  mock = await startRedfishMockup();
  agent = await bootAgent({
    plugins: [redfish, power],
    sections: {
      redfish: {
        serve: false,
        targets: [{ name: 'bmc1', url: mock.url, username: 'Administrator', password: 'Password', plainHttp: true }],
        poll: { interval: 3600, timeout: 2, retries: 1, backoffMin: 0.1, backoffMax: 1 },
      },
      power: { periodMs: 200, cap: { watts: 60 }, bmc: { target: 'bmc1', headroomWatts: 250 } },
    },
    startTimeout: 30,
  });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await mock?.stop();
});

describe('host cap through a Redfish BMC', () => {
  it('sets the BMC limit to cap + headroom and puts its own back on pause', async () => {
    const found = await bmcSetPoint();
    expect(found.SetPoint).toBe(500); // the mockup's own limit
    await waitFor(async () => (await bmcSetPoint()).SetPoint === 310, 'the BMC limit at 60 + 250 W');
    expect(await agent.json(['power', 'cap'])).toMatchObject({ watts: 60, bmc: 'bmc1' });
    await agent.json(['power', 'cap', '50']);
    expect((await bmcSetPoint()).SetPoint).toBe(300);
    await agent.json(['power', 'policy', 'pause']);
    expect(await bmcSetPoint()).toMatchObject({ SetPoint: 500, ControlMode: 'Automatic' });
  });
});
