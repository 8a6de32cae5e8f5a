/**
 * The per-VM energy OEM resource (`Systems/host/Oem/Vpmd/VmEnergy`) with the stand-in energy@1:
 * linked from the ComputerSystem's Oem.Vpmd, one entry per VM with source, model and Nova ids,
 * valid against its OEM JSON schema, and described in the OEM CSDL (well-formed, checked with
 * xmllint) that $metadata references for the DMTF Service Validator.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { StandInEnergy, energyStandInPlugin, standInVms } from '../../support/energy-stand-in.js';
import { bootRedfish, type RedfishHarness } from './support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());

function xmllint(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('xmllint', ['--noout', '-'], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, output: `${stdout}${stderr}` }),
    );
    child.stdin?.end(text);
  });
}

describe('redfish per-VM energy (OEM VpmdVmEnergy)', () => {
  let h: RedfishHarness;
  let admin: string;

  beforeAll(async () => {
    h = await bootRedfish({ plugins: [energyStandInPlugin(new StandInEnergy(standInVms()))] });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  });
  afterAll(async () => h?.stop());

  it('links the resource from the host and lists every VM with its figures', async () => {
    const sys = await h.rf('GET', '/redfish/v1/Systems/host', { token: admin });
    const uri = sys.json.Oem.Vpmd.VmEnergy['@odata.id'];
    expect(uri).toBe('/redfish/v1/Systems/host/Oem/Vpmd/VmEnergy');
    expect(schemas.check(sys.json.Oem.Vpmd)).toEqual([]);
    const r = await h.rf('GET', uri, { token: admin });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      '@odata.id': uri,
      '@odata.type': '#VpmdVmEnergy.v1_0_0.VmEnergy',
      Id: 'VmEnergy',
      Available: true,
    });
    const vms = r.json.VirtualMachines as Array<Record<string, unknown>>;
    expect(vms.map((v) => v.Name)).toEqual(['db-1', 'web-1', 'batch "x"']);
    expect(vms[1]).toMatchObject({
      DomainUuid: '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01',
      Running: true,
      PowerWatts: 12,
      Model: 'rapl-cputime-freq-v1',
      WallPowerWatts: 15,
      WallModel: 'wall-scaled-v1',
      WallSource: 'ipmi:bmc1/dcmi',
      NovaProjectId: 'b2d0c1f4e5a6478990abcdef12345678',
    });
    expect(vms[1]?.EnergyJoules).toBeGreaterThanOrEqual(100);
    expect(vms[0]).toMatchObject({ WallEnergyJoules: null, NovaInstanceId: null, NovaProjectId: 'p-1' });
    expect(schemas.check(r.json)).toEqual([]);
  });

  it('describes the type in the OEM CSDL and serves its JSON schema', async () => {
    const meta = await h.rf('GET', '/redfish/v1/$metadata');
    expect(meta.text).toContain('<edmx:Include Namespace="VpmdVmEnergy.v1_0_0"/>');
    const csdl = await h.rf('GET', '/redfish/v1/Schemas/Vpmd_v1.xml');
    expect(await xmllint(csdl.text)).toEqual({ code: 0, output: '' });
    expect(csdl.text).toContain('Type="Collection(VpmdVmEnergy.v1_0_0.VirtualMachine)"');
    expect(csdl.text).toContain('<ComplexType Name="VirtualMachine">');
    const file = await h.rf('GET', '/redfish/v1/JsonSchemas/VpmdVmEnergy', { token: admin });
    expect(schemas.check(file.json)).toEqual([]);
    const schema = await h.rf('GET', file.json.Location[0].Uri, { token: admin });
    expect(schema.json).toEqual(oemJsonSchemaFiles()['VpmdVmEnergy.v1_0_0.json']);
  });
});
