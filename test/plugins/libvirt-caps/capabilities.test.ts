/**
 * `vpmctl capabilities` on every simulated host profile: the XML validates against libvirt's
 * own schema (xmllint + capability.rng), has the structure `virsh capabilities` prints, and
 * `<power_management>` lists exactly what logind answers; `--power` validates against the
 * shipped JSON schema with ajv.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent } from '../../../testkit/index.js';
import { startLogindMock, startPrivateBus, type LogindMock, type PrivateBus } from '../../../testkit/peers/index.js';
import { SIM_PROFILES } from '../../../core/sim/index.js';
import plugin from '../../../plugins/libvirt-caps/index.js';
import { POWER_DOCUMENT_SCHEMA } from '../../../plugins/libvirt-caps/power-document-schema.js';

const run = promisify(execFile);
const RNG = '/usr/share/libvirt/schemas/capability.rng';
let bus: PrivateBus;
let logind: LogindMock;
let tmp: string;

beforeAll(async () => {
  bus = await startPrivateBus();
  logind = await startLogindMock(bus, {
    CanSuspend: 'yes',
    CanHibernate: 'challenge',
    CanHybridSleep: 'no',
    CanSuspendThenHibernate: 'na',
  });
  tmp = await mkdtemp(join(tmpdir(), 'libvirt-caps-xml-'));
});
afterAll(async () => {
  await bus?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** xmllint's verdict: exit 0 "validates", else the reason. */
async function validate(xml: string, name: string): Promise<{ ok: boolean; output: string }> {
  const file = join(tmp, `${name}.xml`);
  await writeFile(file, xml);
  try {
    const r = await run('xmllint', ['--noout', '--relaxng', RNG, file]);
    return { ok: true, output: r.stderr };
  } catch (e) {
    return { ok: false, output: (e as { stderr?: string }).stderr ?? String(e) };
  }
}

/** Names of `<host>`'s child elements in order. */
function hostChildren(xml: string): string[] {
  const host = /<host>([\s\S]*?)\n {2}<\/host>/.exec(xml)?.[1] ?? '';
  return [...host.matchAll(/^ {4}<([a-z_]+)/gm)].map((m) => m[1] as string);
}

const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const validatePower = ajv.compile(POWER_DOCUMENT_SCHEMA);

describe.each(SIM_PROFILES.map((p) => p.name))('profile %s', (profile) => {
  let agent: Awaited<ReturnType<typeof bootAgent>>;
  beforeAll(async () => {
    agent = await bootAgent({
      plugins: [plugin],
      profile,
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address } },
    });
  });
  afterAll(async () => agent?.stop());

  it('prints capabilities XML that validates against libvirt 9.0 capability.rng', async () => {
    const { xml } = await agent.json<{ xml: string }>(['capabilities']);
    const verdict = await validate(xml, profile);
    expect(verdict.output).toContain('validates');
    expect(verdict.ok).toBe(true);
  });

  it('lists exactly the states logind offers (yes, challenge) in <power_management>', async () => {
    const { xml } = await agent.json<{ xml: string }>(['capabilities']);
    const pm = /<power_management>([\s\S]*?)<\/power_management>/.exec(xml)?.[1] ?? '';
    expect([...pm.matchAll(/<(suspend_[a-z]+)\/>/g)].map((m) => m[1])).toEqual(['suspend_mem', 'suspend_disk']);
  });

  it('describes every online CPU with socket_id, die_id, core_id and siblings, cell by cell', async () => {
    const { xml } = await agent.json<{ xml: string }>(['capabilities']);
    const cpus = [
      ...xml.matchAll(/<cpu id='(\d+)' socket_id='(\d+)' die_id='(\d+)' core_id='(\d+)' siblings='([\d,-]+)'\/>/g),
    ];
    const topo = /<topology sockets='(\d+)' dies='(\d+)' cores='(\d+)' threads='(\d+)'\/>/.exec(xml);
    expect(topo).not.toBeNull();
    const [, s, d, c, t] = (topo as RegExpExecArray).map(Number);
    expect(cpus.length).toBe((s as number) * (d as number) * (c as number) * (t as number));
    // Each CPU's siblings list contains the CPU itself.
    for (const m of cpus) expect(m[5]).toMatch(new RegExp(`(^|,)${m[1]}(,|$)|-`));
    const cells = Number(/<cells num='(\d+)'>/.exec(xml)?.[1]);
    expect([...xml.matchAll(/<cell id='\d+'>/g)].length).toBe(cells);
    expect(xml).toMatch(/<memory unit='KiB'>\d+<\/memory>/);
  });

  it('keeps the host UUID stable between calls', async () => {
    const a = (await agent.json<{ xml: string }>(['capabilities'])).xml;
    const b = (await agent.json<{ xml: string }>(['capabilities'])).xml;
    const uuid = /<uuid>([0-9a-f-]{36})<\/uuid>/.exec(a)?.[1];
    expect(uuid).toBeDefined();
    expect(b).toContain(`<uuid>${uuid}</uuid>`);
  });

  it('prints the power document valid against the shipped JSON schema', async () => {
    const { power } = await agent.json<{ power: Record<string, unknown> }>(['capabilities', '--power']);
    expect(validatePower(power), JSON.stringify(validatePower.errors)).toBe(true);
  });
});

describe('structure and schema files', () => {
  let agent: Awaited<ReturnType<typeof bootAgent>>;
  beforeAll(async () => {
    agent = await bootAgent({
      plugins: [plugin],
      profile: 'intel-pstate-hwp-32',
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address } },
    });
  });
  afterAll(async () => agent?.stop());

  it('orders <host> children as virsh capabilities does', async () => {
    const virsh = (await run('virsh', ['-c', 'test:///default', 'capabilities'])).stdout;
    const ours = hostChildren((await agent.json<{ xml: string }>(['capabilities'])).xml);
    const theirs = hostChildren(virsh);
    const order = [
      'uuid',
      'cpu',
      'power_management',
      'iommu',
      'migration_features',
      'topology',
      'cache',
      'memory_bandwidth',
      'secmodel',
    ];
    expect(ours).toEqual([...ours].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    // Every element libvirt's Test driver prints for the facts we have, we print too.
    for (const e of ['cpu', 'power_management', 'iommu', 'topology']) {
      expect(theirs).toContain(e);
      expect(ours).toContain(e);
    }
    const attrsOf = (x: string): string[] =>
      [...(/<cpu (id='\d+'[^/]*)\/>/.exec(x)?.[1]?.matchAll(/([a-z_]+)=/g) ?? [])].map((m) => m[1] as string);
    expect(attrsOf((await agent.json<{ xml: string }>(['capabilities'])).xml)).toEqual(attrsOf(virsh));
  });

  it('reports a two-socket, two-node host with L3 banks per socket', async () => {
    const { xml } = await agent.json<{ xml: string }>(['capabilities']);
    expect(xml).toMatch(/<topology sockets='2' dies='1' cores='\d+' threads='2'\/>/);
    expect(xml).toContain("<cells num='2'>");
    expect(xml).toMatch(/<sibling id='1' value='21'\/>/);
    expect(
      [...xml.matchAll(/<bank id='\d+' level='3' type='both' size='\d+' unit='(KiB|MiB)' cpus='[\d,-]+'\/>/g)].length,
    ).toBe(2);
    expect(xml).toContain('<vendor>Intel</vendor>');
    expect(xml).toContain('<model>Skylake-Server</model>');
    // From /proc/cpuinfo: microcode 0xf4, 46 physical address bits.
    expect(xml).toContain("<microcode version='244'/>");
    expect(xml).toContain("<maxphysaddr mode='emulate' bits='46'/>");
  });

  it('uses an oracle that rejects what libvirt 9.0 rejects (cpu attributes not all together, a dotted feature name)', async () => {
    const { xml } = await agent.json<{ xml: string }>(['capabilities']);
    const partial = xml.replace(
      /<cpu id='0' socket_id='(\d+)' die_id='\d+' core_id='\d+' siblings='[\d,-]+'\/>/,
      "<cpu id='0' socket_id='$1'/>",
    );
    expect(partial).not.toBe(xml);
    expect((await validate(partial, 'partial')).ok).toBe(false);
    const dotted = xml.replace(
      '</cpu>\n    <power_management',
      "  <feature name='sse4.1'/>\n    </cpu>\n    <power_management",
    );
    expect(dotted).not.toBe(xml);
    expect((await validate(dotted, 'dotted')).ok).toBe(false);
  });

  it('ships power-capabilities.schema.json identical to the schema the code validates with', async () => {
    const file = new URL('../../../plugins/libvirt-caps/power-capabilities.schema.json', import.meta.url);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(POWER_DOCUMENT_SCHEMA)));
  });

  it('carries the richer power facts an operator looks for (HWP host)', async () => {
    interface Doc {
      cpufreq: {
        drivers: string[];
        driverStatus?: string;
        hardwareMaxKHz?: number;
        policies: Array<{ epp?: string; availableEpp?: string[]; baseKHz?: number }>;
      };
      turbo: { supported: boolean; mechanism: string };
      cstates: { states: Array<{ name: string; latencyUs: number }> };
      rapl: Array<{ name: string; constraints: unknown[] }>;
      sleep: { kernel: { memSleep?: { selected?: string } } };
      wake: { rtc?: { device: string; name: string }; wakeOnLan: { port: number } };
    }
    const { power } = await agent.json<{ power: Doc }>(['capabilities', '--power']);
    expect(power.cpufreq.drivers).toEqual(['intel_pstate']);
    expect(power.cpufreq.driverStatus).toBe('intel_pstate active');
    expect(power.cpufreq.policies[0]?.availableEpp).toContain('balance_power');
    expect(power.cpufreq.policies[0]?.baseKHz).toBeGreaterThan(0);
    expect(power.turbo.supported).toBe(true);
    expect(power.cstates.states.map((c) => c.name)).toContain('C6');
    expect(power.cstates.states.find((c) => c.name === 'C6')?.latencyUs).toBeGreaterThan(0);
    expect(power.rapl.map((d) => d.name)).toEqual(expect.arrayContaining(['package-0', 'package-1']));
    expect(power.sleep.kernel.memSleep?.selected).toBe('deep');
    expect(power.wake).toMatchObject({ rtc: { device: 'rtc0', name: 'rtc_cmos' }, wakeOnLan: { port: 9 } });
  });

  it('rejects a power document with an unknown field or a wrong type (the schema is not a rubber stamp)', async () => {
    const { power } = await agent.json<{ power: Record<string, unknown> }>(['capabilities', '--power']);
    expect(validatePower({ ...power, extra: 1 })).toBe(false);
    expect(validatePower({ ...power, version: 2 })).toBe(false);
  });
});
