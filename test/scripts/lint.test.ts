import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findForbiddenImports } from '../../scripts/lint.js';

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

describe('lint: the house has one door', () => {
  it('flags imports into another plugin or the built-in list, in every import form, with file and line', async () => {
    const root = await tree({
      'plugins/redfish/index.ts':
        "import { x } from 'vpmd';\nimport { y } from './routes.js';\nimport { readFile } from 'node:fs';\n",
      'plugins/redfish/routes.ts':
        "\nimport { bmc } from '../ipmi/session.js';\nexport * from '../snmp/mib.js';\nconst m = await import('../libvirt-caps/index.js');\n",
      'plugins/ipmi/session.ts': 'export const bmc = 1;\n',
      'plugins/snmp/mib.ts': 'export const mib = 1;\n',
      'plugins/libvirt-caps/index.ts': "import { BUILTIN_PLUGINS } from '../../app/builtin-plugins.js';\n",
    });
    const v = findForbiddenImports(root);
    expect(v.map((x) => `${x.file}:${x.line} ${x.specifier}`)).toEqual([
      'plugins/libvirt-caps/index.ts:1 ../../app/builtin-plugins.js',
      'plugins/redfish/routes.ts:2 ../ipmi/session.js',
      'plugins/redfish/routes.ts:3 ../snmp/mib.js',
      'plugins/redfish/routes.ts:4 ../libvirt-caps/index.js',
    ]);
    expect(v[0]?.message).toContain('the built-in plugin list');
    expect(v[1]?.message).toContain("plugin 'redfish' imports plugin 'ipmi'");
  });

  it("refuses a plugin's or an example's deep import of core and any vpmd/<subpath>", async () => {
    const root = await tree({
      'plugins/libvirt-caps/host-facts.ts':
        "import { readOptional } from '../../core/host/index.js';\nimport { Type } from 'vpmd';\n",
      'plugins/libvirt-caps/docs.ts': "import { writeFileAtomic } from 'vpmd/state';\n",
      'examples/plugins/energy-report/index.ts': "import { definePlugin } from '../../../core/index.js';\n",
    });
    const v = findForbiddenImports(root);
    expect(v.map((x) => `${x.file}:${x.line} ${x.specifier}`)).toEqual([
      'examples/plugins/energy-report/index.ts:1 ../../../core/index.js',
      'plugins/libvirt-caps/docs.ts:1 vpmd/state',
      'plugins/libvirt-caps/host-facts.ts:1 ../../core/host/index.js',
    ]);
    expect(v[0]?.message).toContain("example plugin 'energy-report'");
    expect(v[2]?.message).toContain("core's internals (core/host/index.js)");
  });

  it('refuses core importing anything above it and the test kit importing app or a plugin', async () => {
    const root = await tree({
      'core/agent.ts':
        "import { BUILTIN_PLUGINS } from '../app/builtin-plugins.js';\nimport { x } from './kernel/kernel.js';\n",
      'core/sim/index.ts': "export { bootAgent } from '../../testkit/boot-agent.js';\n",
      'testkit/boot-agent.ts':
        "import { Agent } from '../core/agent.js';\nimport ipmi from '../plugins/ipmi/index.js';\n",
    });
    const v = findForbiddenImports(root);
    expect(v.map((x) => `${x.file}:${x.line} ${x.specifier}`)).toEqual([
      'core/agent.ts:1 ../app/builtin-plugins.js',
      'core/sim/index.ts:1 ../../testkit/boot-agent.js',
      'testkit/boot-agent.ts:2 ../plugins/ipmi/index.js',
    ]);
    expect(v[0]?.message).toContain('core (a library');
  });

  it('refuses import cycles between files of plugins/ and core/, type-only imports included', async () => {
    const root = await tree({
      'plugins/snmp/engine/agent-identity.ts':
        "import { weakUser } from './weak-users.js';\nexport const checkUserInput = 1;\n",
      'plugins/snmp/engine/weak-users.ts': "import type { checkUserInput } from './agent-identity.js';\n",
      'core/kernel/a.ts': "import { b } from '../state/b.js';\n",
      'core/state/b.ts': "\nexport { c } from './c';\n",
      'core/state/c/index.ts': "const a = await import('../../kernel/a.js');\n",
      // A diamond is not a cycle: d imports e and f, both import g.
      'plugins/ipmi/d.ts': "import { e } from './e.js';\nimport { f } from './f.js';\n",
      'plugins/ipmi/e.ts': "import { g } from './g.js';\n",
      'plugins/ipmi/f.ts': "import { g } from './g.js';\n",
      'plugins/ipmi/g.ts': "import { readFile } from 'node:fs';\nimport { Type } from 'vpmd';\n",
    });
    const v = findForbiddenImports(root);
    expect(v.map((x) => `${x.file}:${x.line} ${x.specifier}`)).toEqual([
      'core/state/c/index.ts:1 ../../kernel/a.js',
      'plugins/snmp/engine/weak-users.ts:1 ./agent-identity.js',
    ]);
    expect(v[0]?.message).toBe(
      'import cycle: core/kernel/a.ts -> core/state/b.ts -> core/state/c/index.ts -> core/kernel/a.ts; move the shared piece into a file both can import',
    );
    expect(v[1]?.message).toContain(
      'import cycle: plugins/snmp/engine/agent-identity.ts -> plugins/snmp/engine/weak-users.ts -> plugins/snmp/engine/agent-identity.ts',
    );
  });

  it('passes the real tree', () => {
    expect(findForbiddenImports(join(new URL('../..', import.meta.url).pathname))).toEqual([]);
  });
});
