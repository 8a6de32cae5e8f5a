import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCrossPluginImports } from '../../scripts/lint.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-lint-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  return dir;
}

describe('lint: plugins never import each other', () => {
  it('flags static, dynamic and re-export imports into another plugin, with file and line', async () => {
    const root = await tree({
      'plugins/redfish/index.ts': "import { x } from '../../core/index.js';\nimport { y } from './routes.js';\n",
      'plugins/redfish/routes.ts': "\nimport { bmc } from '../ipmi/session.js';\nexport * from '../snmp/mib.js';\nconst m = await import('../libvirt-caps/index.js');\n",
      'plugins/ipmi/session.ts': 'export const bmc = 1;\n',
      'plugins/snmp/mib.ts': 'export const mib = 1;\n',
      'plugins/libvirt-caps/index.ts': "import { BUILTIN_PLUGINS } from '../index.js';\n",
    });
    const v = findCrossPluginImports(root);
    expect(v.map((x) => `${x.file}:${x.line} ${x.specifier}`)).toEqual([
      'plugins/libvirt-caps/index.ts:1 ../index.js',
      'plugins/redfish/routes.ts:2 ../ipmi/session.js',
      'plugins/redfish/routes.ts:3 ../snmp/mib.js',
      'plugins/redfish/routes.ts:4 ../libvirt-caps/index.js',
    ]);
    expect(v[1]?.message).toContain("plugin 'redfish' imports plugin 'ipmi'");
  });

  it('passes the real tree', () => {
    expect(findCrossPluginImports(join(new URL('../..', import.meta.url).pathname))).toEqual([]);
  });
});
