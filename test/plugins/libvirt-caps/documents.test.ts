/**
 * The documents written to files (atomically, only when they change), the stable host UUID
 * (SMBIOS, machine-id, or generated once and persisted), and the demo hook's configuration.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { watch } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostModel, RealSysfs } from '../../../core/host/index.js';
import { StateStore } from '../../../core/state/index.js';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import { startLogindMock, startPrivateBus, type LogindMock, type PrivateBus } from '../../../testkit/peers/index.js';
import plugin from '../../../plugins/libvirt-caps/index.js';
import { resolveHostUuid } from '../../../plugins/libvirt-caps/host-facts.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'libvirt-caps-docs-'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

describe('document files', () => {
  let bus: PrivateBus;
  let logind: LogindMock;
  let agent: BootedAgent;
  const xmlFile = (): string => join(tmp, 'caps.xml');
  const jsonFile = (): string => join(tmp, 'power.json');
  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus, { CanHibernate: 'na' });
    agent = await bootAgent({
      plugins: [plugin],
      sections: {
        'libvirt-caps': {
          documents: { libvirtFile: xmlFile(), powerFile: jsonFile(), interval: 3600 },
        },
      },
      core: { hostPower: { busAddress: bus.address } },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await bus?.stop();
  });

  it('writes both documents at start, equal to what vpmctl prints', async () => {
    expect(await readFile(xmlFile(), 'utf8')).toBe((await agent.json<{ xml: string }>(['capabilities'])).xml);
    expect(JSON.parse(await readFile(jsonFile(), 'utf8'))).toEqual(
      (await agent.json<{ power: unknown }>(['capabilities', '--power'])).power,
    );
  });

  it('leaves the files alone when nothing changed, rewrites them when logind answers differently', async () => {
    // Every atomic write renames a new file onto the document: one 'rename' event per write.
    const renames: string[] = [];
    const watcher = watch(tmp, (event, name) => {
      if (event === 'rename' && name !== null) renames.push(name);
    });
    try {
      await agent.run(['sleep', 'states', '--refresh']); // nothing changed: nothing is written
      await logind.setProps({ CanHibernate: 'yes' });
      await agent.run(['sleep', 'states', '--refresh']);
      // Writes are serialised, the XML before the power file: once the power file's rename is
      // seen, a write the first refresh might have caused would have been seen before it.
      await expect.poll(() => renames.filter((n) => n === basename(jsonFile())).length, { timeout: 20_000 }).toBe(1);
      expect(renames.filter((n) => n === basename(xmlFile()))).toHaveLength(1);
    } finally {
      watcher.close();
    }
    expect(await readFile(xmlFile(), 'utf8')).toContain('<suspend_disk/>');
    const power = JSON.parse(await readFile(jsonFile(), 'utf8')) as {
      sleep: { targets: Array<{ target: string; supported: boolean }> };
    };
    expect(power.sleep.targets.find((t) => t.target === 'disk')?.supported).toBe(true);
  });
});

describe('host UUID', () => {
  it('prefers SMBIOS, then machine-id, then one generated once and kept', async () => {
    const root = join(tmp, 'root');
    await mkdir(join(root, 'sys/class/dmi/id'), { recursive: true });
    await mkdir(join(root, 'etc'), { recursive: true });
    const host = createHostModel(new RealSysfs(root));
    const state = new StateStore(join(tmp, 'state'));
    const generated = await resolveHostUuid(host, state);
    expect(generated.source).toBe('generated');
    expect(await resolveHostUuid(host, new StateStore(join(tmp, 'state')))).toEqual(generated);
    await writeFile(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
    expect(await resolveHostUuid(host, state)).toEqual({
      uuid: '01234567-89ab-cdef-0123-456789abcdef',
      source: 'machine-id',
    });
    // Firmware placeholders are not identities.
    await writeFile(join(root, 'sys/class/dmi/id/product_uuid'), '00000000-0000-0000-0000-000000000000\n');
    expect((await resolveHostUuid(host, state)).source).toBe('machine-id');
    await writeFile(join(root, 'sys/class/dmi/id/product_uuid'), '4C4C4544-0042-3510-8052-B4C04F4E4B32\n');
    expect(await resolveHostUuid(host, state)).toEqual({
      uuid: '4c4c4544-0042-3510-8052-b4c04f4e4b32',
      source: 'smbios',
    });
    expect((await resolveHostUuid(host, state, '11111111-2222-3333-4444-555555555555')).source).toBe('config');
  });
});

describe('demo hook', () => {
  it('runs without logind, degraded but working, and keeps the documents in the demo directory', async () => {
    const setup = await plugin.demo?.({
      dir: tmp,
      address: '127.0.0.1',
      freePort: () => Promise.resolve(0),
      password: () => 'x',
    });
    expect(setup?.notes?.join('\n')).toContain('logind unavailable');
    const agent = await bootAgent({ plugins: [plugin], sections: { 'libvirt-caps': setup?.config ?? {} } });
    try {
      const status = (await agent.status()).find((p) => p.name === 'libvirt-caps');
      expect(status).toMatchObject({ state: 'running', health: { status: 'degraded' } });
      expect(await readFile(join(tmp, 'capabilities.xml'), 'utf8')).toContain('<power_management/>');
    } finally {
      await agent.stop();
    }
  });
});
