/**
 * Host inventory (#14, OCP Baseline): ComputerSystem identity from the host's DMI tree through
 * the core host model, a writable AssetTag kept in state, and facts the host lacks left out.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDmi } from '../../../core/host/dmi.js';
import { RealSysfs } from '../../../core/host/real-sysfs.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { bootRedfish, loginAdminAndViewer, type RedfishHarness } from './support.js';

const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
const SYS = '/redfish/v1/Systems/host';

describe('DMI identity', () => {
  it('reads /sys/class/dmi/id, dropping firmware placeholders and missing files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dmi-'));
    try {
      const dir = join(root, 'sys/class/dmi/id');
      await mkdir(dir, { recursive: true });
      const files: Record<string, string> = {
        sys_vendor: 'Acme Servers\n',
        product_name: 'R-100\n',
        product_serial: 'To Be Filled By O.E.M.\n',
        product_uuid: '4C4C4544-0042-3510-8050-B2C04F4A4B32\n',
        bios_version: '2.3.1\n',
        chassis_asset_tag: 'Default string\n',
      };
      for (const [f, v] of Object.entries(files)) await writeFile(join(dir, f), v);
      expect(await readDmi(new RealSysfs(root))).toEqual({
        manufacturer: 'Acme Servers',
        model: 'R-100',
        uuid: '4c4c4544-0042-3510-8050-b2c04f4a4b32',
        biosVersion: '2.3.1',
      });
      expect(await readDmi(new RealSysfs(join(root, 'nothing')))).toEqual({});
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// One agent's story: the DMI identity as found (empty AssetTag), then an AssetTag written into it.
describe('ComputerSystem inventory on a simulated host', { shuffle: false }, () => {
  let h: RedfishHarness;
  let admin: string;
  let viewer: string;
  beforeAll(async () => {
    h = await bootRedfish();
    ({ admin, viewer } = await loginAdminAndViewer(h));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('serves Manufacturer, Model, SerialNumber, UUID, SKU and BiosVersion from DMI, no PartNumber', async () => {
    const r = await h.rf('GET', SYS, { token: viewer });
    expect(r.json).toMatchObject({
      Manufacturer: 'vpmd Simulated Systems',
      Model: 'Simulated intel-acpi-cpufreq-8',
      SKU: expect.stringMatching(/^SIM-\dS-\d+C$/),
      BiosVersion: 'SIM.1.4.2',
      AssetTag: '',
    });
    expect(r.json.SerialNumber).toMatch(/^SIM[0-9A-F]{10}$/);
    expect(r.json.UUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.json).not.toHaveProperty('PartNumber');
    expect(schemas.check(r.json)).toEqual([]);
  });

  it('lets ConfigureComponents set AssetTag, keeps it in state, refuses bad values and ReadOnly', async () => {
    const ok = await h.rf('PATCH', SYS, { token: admin, body: { AssetTag: 'rack4-u12' } });
    expect(ok.status).toBe(200);
    expect(ok.json.AssetTag).toBe('rack4-u12');
    expect((await h.rf('GET', SYS, { token: viewer })).json.AssetTag).toBe('rack4-u12');
    const saved = await readFile(join(h.agent.dir, 'state', 'plugins', 'redfish', 'inventory.json'), 'utf8');
    expect(saved).toContain('rack4-u12');
    expect((await h.rf('PATCH', SYS, { token: viewer, body: { AssetTag: 'x' } })).status).toBe(403);
    const long = await h.rf('PATCH', SYS, { token: admin, body: { AssetTag: 'x'.repeat(65) } });
    expect(long.status).toBe(400);
    expect(long.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyValueFormatError');
    const ro = await h.rf('PATCH', SYS, { token: admin, body: { SerialNumber: 'forged' } });
    expect(ro.json.error['@Message.ExtendedInfo'][0].MessageId).toBe('Base.1.22.1.PropertyNotWritable');
    expect((await h.rf('GET', SYS, { token: viewer })).json.AssetTag).toBe('rack4-u12');
  });
});
