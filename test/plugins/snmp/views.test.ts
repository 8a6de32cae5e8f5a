/**
 * MIB views on communities and users (snmpd's `view ... included|excluded`), against the real
 * net-snmp tools: what a limited community walks is exactly the unlimited walk filtered by the
 * view (longest matching subtree decides, computed here independently), a Get outside gets the
 * exception snmpd gives per version, and an authPriv rw user's SET outside its view is noAccess.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';
import sleepProvider from './sleep-provider.js';
import { startError, freeUdpPort, tool, v3, v3NoAuth } from './helpers.js';

const QUICK = ['-t', '2', '-r', '1', '-On'];
const SYSTEM = '1.3.6.1.2.1.1';
const EO_POWER_TABLE = '1.3.6.1.2.1.229.1.2';
const ENERGY_OBJECT_MIB = '1.3.6.1.2.1.229';
/** eoPowerEntry column 1 (eoPower), included again inside the excluded eoPowerTable. */
const EO_POWER_COLUMN = '1.3.6.1.2.1.229.1.2.1.1';
const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const SYS_CONTACT = '1.3.6.1.2.1.1.4.0';
const ENGINE_ID = '1.3.6.1.6.3.10.2.1.1.0';
const SUSPEND_TARGET = '1.3.6.1.4.1.99999.1.1.3.0';
const SUSPEND_WAKE = '1.3.6.1.4.1.99999.1.1.4.0';
const END_OF_VIEW = 'No more variables left in this MIB View';
const NO_SUCH_OBJECT = 'No Such Object available on this agent at this OID';

interface Rules {
  readonly include: readonly string[];
  readonly exclude?: readonly string[];
}

/** Longest-match view semantics, written out plainly for the test (not the agent's ranges). */
function inView(oid: string, rules: Rules): boolean {
  let depth = -1;
  let included = false;
  for (const [list, flag] of [
    [rules.include, true],
    [rules.exclude ?? [], false],
  ] as const) {
    for (const p of list) {
      const d = p.split('.').length;
      if ((oid === p || oid.startsWith(`${p}.`)) && d > depth) {
        depth = d;
        included = flag;
      }
    }
  }
  return included;
}

/** The OIDs a walk printed, in order, and whether it ended with an endOfMibView line. */
async function walkOids(
  cmd: string,
  args: readonly string[],
): Promise<{ oids: string[]; endOfView: boolean; stderr: string }> {
  const r = await tool(cmd, args);
  const oids: string[] = [];
  let endOfView = false;
  for (const line of r.stdout.split('\n')) {
    const m = /^\.([\d.]+) = (.*)$/.exec(line);
    if (!m) continue;
    if ((m[2] as string).startsWith(END_OF_VIEW)) endOfView = true;
    else oids.push(m[1] as string);
  }
  return { oids, endOfView, stderr: r.stderr };
}

const SYS_POWER: Rules = { include: [SYSTEM, EO_POWER_TABLE] };
const CARVED: Rules = { include: [ENERGY_OBJECT_MIB, EO_POWER_COLUMN], exclude: [EO_POWER_TABLE] };
const OPS: Rules = { include: [SYSTEM, SUSPEND_WAKE.replace(/\.0$/, '')] };

describe('snmp views on communities and users', () => {
  let agent: BootedAgent;
  let target: string;
  /** The whole MIB as the unlimited community walks it (v2c) and as SNMPv1 sees it. */
  let full: string[];
  let fullV1: string[];

  const community = (c: string, v = '-v2c'): string[] => [v, '-c', c, ...QUICK, target];

  beforeAll(async () => {
    const port = await freeUdpPort();
    target = `127.0.0.1:${port}`;
    agent = await bootAgent({
      plugins: [snmp, sleepProvider],
      sections: {
        snmp: {
          port,
          communities: [
            { name: 'everything', community: 'all-secret', versions: ['v1', 'v2c'] },
            { name: 'sys-power', community: 'sp-secret', versions: ['v1', 'v2c'], view: SYS_POWER },
            { name: 'carved', community: 'carved-secret', versions: ['v2c'], view: CARVED },
          ],
          users: [
            { name: 'watcher', securityLevel: 'noAuthNoPriv', view: { include: [SYSTEM] } },
            {
              name: 'ops',
              auth: 'sha256',
              priv: 'aes',
              authPassphrase: 'ops-auth-pass',
              privPassphrase: 'ops-priv-pass',
              access: 'rw',
              view: OPS,
            },
          ],
        },
      },
    });
    // The power table has rows once telemetry has sampled (normally before boot returns): make sure,
    // since every expectation below is the unlimited walk taken here, filtered.
    for (let i = 0; i < 50; i++) {
      const t = await walkOids('snmpbulkwalk', [...community('all-secret'), EO_POWER_TABLE]);
      if (t.oids.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    full = (await walkOids('snmpbulkwalk', ['-Cr50', ...community('all-secret'), '1.3.6.1'])).oids;
    fullV1 = (await walkOids('snmpwalk', [...community('all-secret', '-v1'), '1.3.6.1'])).oids;
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('walks exactly system and the power table for a community limited to them, with every tool and version', async () => {
    const expected = full.filter((o) => inView(o, SYS_POWER));
    expect(expected.some((o) => o.startsWith(`${EO_POWER_TABLE}.`))).toBe(true);
    expect(expected.some((o) => o.startsWith(`${SYSTEM}.`))).toBe(true);
    expect(full.length).toBeGreaterThan(expected.length + 50);
    const bulk = await walkOids('snmpbulkwalk', ['-Cr25', ...community('sp-secret'), '1.3.6.1']);
    expect(bulk.stderr).toBe('');
    expect(bulk.oids).toEqual(expected);
    const walk = await walkOids('snmpwalk', [...community('sp-secret'), '1.3.6.1']);
    expect(walk.oids).toEqual(expected);
    const v1 = await walkOids('snmpwalk', [...community('sp-secret', '-v1'), '1.3.6.1']);
    expect(v1.oids).toEqual(fullV1.filter((o) => inView(o, SYS_POWER)));
  });

  it('answers GetBulk with endOfMibView after the last visible instance', async () => {
    const visible = full.filter((o) => inView(o, SYS_POWER));
    const last = visible[visible.length - 1] as string;
    const r = await tool('snmpbulkget', ['-Cn0', `-Cr${visible.length + 3}`, ...community('sp-secret'), '1.3.6.1']);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, visible.length).map((l) => l.split(' = ')[0])).toEqual(visible.map((o) => `.${o}`));
    // The repetitions after the end repeat the last visible name with endOfMibView, as snmpd does.
    expect(lines.slice(visible.length)).toEqual([`.${last} = ${END_OF_VIEW} (It is past the end of the MIB tree)`]);
    const next = await tool('snmpgetnext', [...community('sp-secret'), last]);
    expect(next.stdout).toContain(END_OF_VIEW);
  });

  it('gives noSuchObject (v2c, v3) and noSuchName (v1) for a Get outside the view, noSuchInstance for a missing instance inside', async () => {
    expect(full).toContain(ENGINE_ID);
    const v2 = await tool('snmpget', [...community('sp-secret'), SYS_DESCR, ENGINE_ID, `${SYSTEM}.1.5`]);
    const rows = v2.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.1\.0 = STRING: "vpmd SNMPv3 agent/);
    expect(rows[1]).toBe(`.${ENGINE_ID} = ${NO_SUCH_OBJECT}`);
    expect(rows[2]).toBe(`.${SYSTEM}.1.5 = No Such Instance currently exists at this OID`);
    const v1 = await tool('snmpget', [...community('sp-secret', '-v1'), SYS_DESCR, ENGINE_ID]);
    expect(v1.stderr).toMatch(/noSuchName/);
    expect(v1.stderr).toContain(`Failed object: .${ENGINE_ID}`);
    const v1next = await tool('snmpgetnext', [
      ...community('sp-secret', '-v1'),
      full.filter((o) => inView(o, SYS_POWER)).pop() as string,
    ]);
    expect(v1next.stderr).toMatch(/noSuchName/);
    const user = await tool('snmpget', [...v3NoAuth('watcher'), ...QUICK, target, SYS_DESCR, ENGINE_ID]);
    expect(user.stdout).toContain('STRING: "vpmd SNMPv3 agent');
    expect(user.stdout).toContain(`.${ENGINE_ID} = ${NO_SUCH_OBJECT}`);
    const unlimited = await tool('snmpget', [...community('all-secret'), ENGINE_ID]);
    expect(unlimited.stdout).toMatch(/Hex-STRING: 80 01 86 9F 05/);
  });

  it('hides an excluded subtree inside an included one, and shows a subtree included again inside the exclusion', async () => {
    const expected = full.filter((o) => inView(o, CARVED));
    expect(expected.some((o) => o.startsWith(`${EO_POWER_COLUMN}.`))).toBe(true);
    expect(expected.some((o) => o.startsWith('1.3.6.1.2.1.229.1.2.1.2.'))).toBe(false);
    expect(full.some((o) => o.startsWith('1.3.6.1.2.1.229.1.2.1.2.'))).toBe(true);
    const bulk = await walkOids('snmpbulkwalk', ['-Cr7', ...community('carved-secret'), '1.3.6.1']);
    expect(bulk.oids).toEqual(expected);
    const hidden = full.find((o) => o.startsWith('1.3.6.1.2.1.229.1.2.1.2.')) as string;
    const get = await tool('snmpget', [...community('carved-secret'), hidden]);
    expect(get.stdout.trim()).toBe(`.${hidden} = ${NO_SUCH_OBJECT}`);
    // A GetNext from inside the hidden stretch lands on the next visible instance.
    const next = await tool('snmpgetnext', [...community('carved-secret'), hidden]);
    const after = full.slice(full.indexOf(hidden) + 1).find((o) => inView(o, CARVED));
    expect(after).toBeDefined();
    expect(next.stdout.split(' = ')[0]).toBe(`.${after ?? ''}`);
  });

  it('limits a noAuthNoPriv user to its view', async () => {
    const walk = await walkOids('snmpbulkwalk', [...v3NoAuth('watcher'), ...QUICK, target, '1.3.6.1']);
    expect(walk.oids).toEqual(full.filter((o) => inView(o, { include: [SYSTEM] })));
  });

  it('lets an authPriv rw user SET inside its view only: noAccess outside (first hidden varbind), notWritable for a read-only object inside', async () => {
    const ops = [...v3('ops', 'ops-auth-pass', 'ops-priv-pass'), target];
    const ok = await tool('snmpset', [...ops, SUSPEND_WAKE, 'u', '600']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('Gauge32: 600');
    const outside = await tool('snmpset', [...ops, SUSPEND_TARGET, 'i', '1']);
    expect(outside.stderr).toMatch(/Reason: noAccess/);
    expect(outside.stderr).toContain(`Failed object: .${SUSPEND_TARGET}`);
    const mixed = await tool('snmpset', [...ops, SYS_DESCR, 's', 'x', SUSPEND_TARGET, 'i', '1']);
    expect(mixed.stderr).toMatch(/Reason: noAccess/);
    expect(mixed.stderr).toContain(`Failed object: .${SUSPEND_TARGET}`);
    const notWritable = await tool('snmpset', [...ops, SYS_CONTACT, 's', 'x']);
    expect(notWritable.stderr).toMatch(/Reason: notWritable/);
    const audit = await agent.json<{ principal: string; outcome: string; action: string; detail?: string }[]>([
      'audit',
      '--limit',
      '50',
    ]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'ops',
        outcome: 'denied',
        action: `snmp set ${SUSPEND_TARGET}`,
        detail: `${SUSPEND_TARGET} is outside the view of ops`,
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({ principal: 'ops', outcome: 'ok', action: `snmp set ${SUSPEND_WAKE}` }),
    );
    const read = await tool('snmpget', [...ops, SUSPEND_WAKE, SUSPEND_TARGET]);
    expect(read.stdout).toContain(`.${SUSPEND_WAKE} = Gauge32: 600`);
    expect(read.stdout).toContain(`.${SUSPEND_TARGET} = ${NO_SUCH_OBJECT}`);
  });

  it('shows the views in snmp user list', async () => {
    const users = await agent.json<{ name: string; view?: string }[]>(['snmp', 'user', 'list']);
    expect(users.map((u) => [u.name, u.view])).toEqual([
      ['ops', `+${SYSTEM} +1.3.6.1.4.1.99999.1.1.4`],
      ['watcher', `+${SYSTEM}`],
    ]);
  });
});

describe('snmp view configuration errors', () => {
  const withView = (view: unknown): Record<string, unknown> => ({
    communities: [{ name: 'c', community: 'c-secret', view }],
  });

  it('rejects in the configuration an OID that is not dotted numeric, an empty include and unknown keys, naming where', async () => {
    const port = await freeUdpPort();
    const boot = (section: Record<string, unknown>): Promise<BootedAgent> =>
      bootAgent({ plugins: [snmp], sections: { snmp: { port, ...section } } });
    await expect(boot(withView({ include: ['SNMPv2-MIB::system'] }))).rejects.toThrow(
      /plugins\.snmp\.communities\[0\]\.view\.include\[0\]: must be a dotted numeric OID such as 1\.3\.6\.1\.2\.1\.1 \(no MIB names\)/,
    );
    await expect(boot(withView({ include: ['1.3.6.1'], exclude: ['1.3..6'] }))).rejects.toThrow(
      /plugins\.snmp\.communities\[0\]\.view\.exclude\[0\]: must be a dotted numeric OID/,
    );
    await expect(boot(withView({ include: [] }))).rejects.toThrow(
      /plugins\.snmp\.communities\[0\]\.view\.include: must not be empty/,
    );
    await expect(boot(withView({ include: ['1.3'], mask: 'ff' }))).rejects.toThrow(
      /plugins\.snmp\.communities\[0\]\.view\.mask: unknown key/,
    );
    await expect(
      boot({ users: [{ name: 'w', securityLevel: 'noAuthNoPriv', view: { include: ['1.3.6.1.x'] } }] }),
    ).rejects.toThrow(/plugins\.snmp\.users\[0\]\.view\.include\[0\]: must be a dotted numeric OID/);
  });

  it('fails the plugin start for an arc too large, a subtree listed twice or both ways, and an exclusion outside every inclusion', async () => {
    expect(await startError(withView({ include: ['1.3.6.1.4294967296'] }))).toBe(
      "E_SNMP_CONFIG: plugins.snmp.communities[0].view.include[0]: arc 5 of '1.3.6.1.4294967296' is larger than 4294967295",
    );
    expect(await startError(withView({ include: ['1.3.6.1.2.1.1'], exclude: ['.1.3.6.1.2.1.1'] }))).toBe(
      'E_SNMP_CONFIG: plugins.snmp.communities[0].view.exclude[0]: subtree 1.3.6.1.2.1.1 is already listed at plugins.snmp.communities[0].view.include[0]',
    );
    expect(await startError(withView({ include: ['1.3.6.1.2.1.1'], exclude: ['1.3.6.1.4.1'] }))).toBe(
      'E_SNMP_CONFIG: plugins.snmp.communities[0].view.exclude[0]: 1.3.6.1.4.1 is inside no included subtree, so excluding it changes nothing',
    );
    expect(
      await startError({
        users: [{ name: 'w', securityLevel: 'noAuthNoPriv', view: { include: ['1.3.6.1.2.1.1', '1.3.6.1.2.1.1'] } }],
      }),
    ).toBe(
      'E_SNMP_CONFIG: plugins.snmp.users[0].view.include[1]: subtree 1.3.6.1.2.1.1 is already listed at plugins.snmp.users[0].view.include[0]',
    );
  });
});
