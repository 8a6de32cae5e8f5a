/**
 * The privilege table and message texts are generated from the vendored DMTF registries, and the
 * vendored JSON schemas are exactly the closure of what the service emits: regenerating gives
 * the committed files, so nobody edits them by hand and nothing extra is shipped.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLUGIN_DIR, renderAll } from '../../../plugins/redfish/tools/generate-tables.js';
import { closure, csdlFiles, rootFiles } from '../../../plugins/redfish/tools/vendor-schemas.js';
import { metadataXml } from '../../../plugins/redfish/resources/service-root.js';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { PRIVILEGE_TABLE } from '../../../plugins/redfish/generated/privilege-table.js';

describe('generated tables', () => {
  it('regenerating the privilege table and the message registries gives the committed files', () => {
    for (const [rel, text] of Object.entries(renderAll()))
      expect(readFileSync(join(PLUGIN_DIR, rel), 'utf8'), rel).toBe(text);
  });

  it('carries the registry rows the service relies on (ManagerAccount own Password, Session, ServiceRoot NoAuth)', () => {
    const reg = JSON.parse(
      readFileSync(join(PLUGIN_DIR, 'dmtf/registries/Redfish_1.8.0_PrivilegeRegistry.json'), 'utf8'),
    ) as { Mappings: Array<{ Entity: string; OperationMap: Record<string, Array<{ Privilege: string[] }>> }> };
    expect(Object.keys(PRIVILEGE_TABLE).length).toBe(reg.Mappings.length);
    for (const m of reg.Mappings) {
      for (const [method, alts] of Object.entries(m.OperationMap)) {
        expect(PRIVILEGE_TABLE[m.Entity]?.operations[method as 'GET'], `${m.Entity} ${method}`).toEqual(
          alts.map((a) => a.Privilege),
        );
      }
    }
    expect(PRIVILEGE_TABLE.ManagerAccount?.propertyOverrides?.[0]).toEqual({
      targets: ['Password'],
      operations: { PATCH: [['ConfigureUsers'], ['ConfigureSelf']] },
    });
    expect(PRIVILEGE_TABLE.ServiceRoot?.operations.GET).toContainEqual(['NoAuth']);
  });

  it('vendors exactly the JSON schema closure of the emitted types', () => {
    const dir = join(PLUGIN_DIR, 'dmtf/json-schema');
    expect(readdirSync(dir).sort()).toEqual(closure(dir, rootFiles()));
  });

  it('vendors exactly the CSDL that $metadata references, and each holds the namespaces it includes', () => {
    const dir = join(PLUGIN_DIR, 'dmtf/csdl');
    expect(readdirSync(dir).sort()).toEqual(csdlFiles());
    const refs = [
      ...metadataXml().matchAll(
        /<edmx:Reference Uri="http:\/\/redfish\.dmtf\.org\/schemas\/v1\/([^"]+)">([\s\S]*?)<\/edmx:Reference>/g,
      ),
    ];
    expect(refs.length).toBeGreaterThan(30);
    for (const [, file, body] of refs) {
      const csdl = readFileSync(join(dir, file as string), 'utf8');
      for (const [, ns] of (body as string).matchAll(/Namespace="([^"]+)"/g))
        expect(csdl, `${file} ${ns}`).toMatch(
          new RegExp(
            `<Schema xmlns="http://docs\\.oasis-open\\.org/odata/ns/edm"\\s+Namespace="${(ns as string).replace(/\./g, '\\.')}"`,
          ),
        );
    }
  });

  it('the schema validator rejects a payload that breaks its schema', () => {
    const s = new RedfishSchemas(join(PLUGIN_DIR, 'dmtf/json-schema'));
    const ok = {
      '@odata.id': '/redfish/v1/Managers/vpmd/LogServices/AuditLog',
      '@odata.type': '#LogService.v1_9_0.LogService',
      Id: 'AuditLog',
      Name: 'Audit',
    };
    expect(s.check(ok)).toEqual([]);
    expect(s.check({ ...ok, OverWritePolicy: 'Sometimes' }).join('\n')).toMatch(/OverWritePolicy/);
    expect(s.check({ ...ok, Surprise: true }).join('\n')).toMatch(/additional/);
  });
});
