/**
 * The host cap through Redfish: `Chassis/{id}/Controls/PowerLimit` (GET, PATCH as
 * Administrator, refused to an Operator by DMTF's privilege registry) and its excerpt
 * `EnvironmentMetrics.PowerLimitWatts`, every body checked against DMTF's JSON schemas; a PATCH
 * lands in RAPL and in `vpmctl power cap`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import power from '../../../plugins/power/index.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { bootRedfish, type RedfishHarness } from '../redfish/support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
let h: RedfishHarness;
let admin: string;
let operator: string;
let chassis: string;

beforeAll(async () => {
  h = await bootRedfish({ plugins: [power], extraSections: { power: { cap: { watts: 50, correctionMs: 2000 } } } });
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  await h.addAccount('op', 'Operator', 'Operator-pass-1');
  admin = await h.login('admin', 'Admin-pass-1');
  operator = await h.login('op', 'Operator-pass-1');
  const list = await h.rf('GET', '/redfish/v1/Chassis', { token: admin });
  chassis = String((list.json.Members as { '@odata.id': string }[])[0]?.['@odata.id']);
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

// One agent's story: the configured cap as found, then PATCHed, then removed.
describe('Controls/PowerLimit', { shuffle: false }, () => {
  it('shows the cap as a Control and as EnvironmentMetrics.PowerLimitWatts, schema-valid', async () => {
    const ch = await h.rf('GET', chassis, { token: admin });
    expect(ch.json.Controls).toEqual({ '@odata.id': `${chassis}/Controls` });
    const coll = await h.rf('GET', `${chassis}/Controls`, { token: admin });
    expect(coll.json.Members).toEqual([{ '@odata.id': `${chassis}/Controls/PowerLimit` }]);
    const c = await h.rf('GET', `${chassis}/Controls/PowerLimit`, { token: admin });
    expect(c.status).toBe(200);
    expect(c.json).toMatchObject({
      ControlType: 'Power',
      ControlMode: 'Automatic',
      SetPoint: 50,
      SetPointUnits: 'W',
      ControlDelaySeconds: 2,
    });
    expect(Number(c.json.AllowableMax)).toBeGreaterThan(Number(c.json.AllowableMin));
    const env = await h.rf('GET', `${chassis}/EnvironmentMetrics`, { token: admin });
    expect(env.json.PowerLimitWatts).toMatchObject({ SetPoint: 50, ControlMode: 'Automatic' });
    for (const body of [coll.json, c.json, env.json, ch.json]) expect(schemas.check(body)).toEqual([]);
  });

  it('PATCH sets the cap (RAPL, vpmctl power cap), Disabled removes it; bad input changes nothing', async () => {
    const p = await h.rf('PATCH', `${chassis}/Controls/PowerLimit`, { token: admin, body: { SetPoint: 40 } });
    expect(p.status, p.text).toBe(200);
    expect(schemas.check(p.json)).toEqual([]);
    expect(p.json.SetPoint).toBe(40);
    const limit = await readFile(
      join(h.agent.hostRoot, 'sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw'),
      'utf8',
    );
    expect(limit.trim()).toBe('40000000');
    expect(await h.agent.json(['power', 'cap'])).toMatchObject({ watts: 40, mode: 'Automatic' });
    const bad = await h.rf('PATCH', `${chassis}/Controls/PowerLimit`, {
      token: admin,
      body: { SetPoint: 100000, ControlMode: 'Manual' },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/PropertyValueOutOfRange/);
    expect(bad.text).toMatch(/PropertyValueNotInList/);
    expect(await h.agent.json(['power', 'cap'])).toMatchObject({ watts: 40 });
    const denied = await h.rf('PATCH', `${chassis}/Controls/PowerLimit`, { token: operator, body: { SetPoint: 45 } });
    expect(denied.status).toBe(403);
    const off = await h.rf('PATCH', `${chassis}/Controls/PowerLimit`, {
      token: admin,
      body: { ControlMode: 'Disabled' },
    });
    expect(off.json).toMatchObject({ ControlMode: 'Disabled', SetPoint: null });
    expect(schemas.check(off.json)).toEqual([]);
  });
});
