/**
 * ComputerSystem.Reset ForceRestart through the core's host power (host-power@1: the systemd
 * manager's Reboot()), against a real
 * dbus-daemon with python-dbusmock's systemd template (Reboot added through Mock.AddMethod) next
 * to its logind template: offered only when the manager is reachable and has Reboot(), called
 * exactly once per request of an Operator or Administrator, refused to ReadOnly, and a failing
 * or silent Reboot() answered with an error and recorded as failed in the audit log. On a
 * simulated host without busAddress, the system bus (here DBUS_SYSTEM_BUS_ADDRESS pointing at
 * the mocks) is never used. On the host's own bus, the probe first checks that vpmd runs as
 * root (effective uid injected), which that bus requires of a Reboot() caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startLogindMock,
  startPrivateBus,
  startSystemdMock,
  type LogindMock,
  type PrivateBus,
  type SystemdMock,
} from '../../../testkit/peers/index.js';
import { SystemdManager, declaresMethod, notRootReason, systemBusAddress } from '../../../core/host-power/index.js';
import { bootRedfish, lastAudit, type AuditRow, type RedfishHarness } from './support.js';

const S = '/redfish/v1/Systems/host';
const RESET = `${S}/Actions/ComputerSystem.Reset`;
const ACTION = 'host reboot --force (systemd Manager.Reboot)';
const CAUSE = 'redfish ComputerSystem.Reset ForceRestart';
const declaresReboot = (xml: string): boolean => declaresMethod(xml, 'Reboot');
const RESUME_WHY = /Resume: not offered \(a suspended host cannot run vpmd to resume itself/;

type ErrorBody = { json: { error: { '@Message.ExtendedInfo': Array<{ MessageId: string; Message: string }> } } };
const ids = (r: ErrorBody): string[] => r.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId);
const messages = (r: ErrorBody): string => r.json.error['@Message.ExtendedInfo'].map((m) => m.Message).join(' | ');

describe('declaresMethod (introspection of the manager object)', () => {
  const manager = (methods: string): string =>
    `<node><interface name="org.freedesktop.DBus.Peer"><method name="Ping"/></interface>
     <interface name="org.freedesktop.systemd1.Manager">${methods}</interface></node>`;

  it('finds Reboot() as systemd writes it, with annotations and without input arguments', () => {
    const systemdStyle = manager(
      `<method name="PowerOff">\n</method>\n<method name="Reboot">\n<annotation name="org.freedesktop.systemd1.Privileged" value="true"/>\n</method>`,
    );
    expect(declaresReboot(systemdStyle)).toBe(true);
    expect(declaresReboot(manager(`<method name='Reboot'/>`))).toBe(true);
  });

  it('refuses a Reboot on another interface, one that takes arguments, or a similar name', () => {
    expect(
      declaresReboot(
        `<node><interface name="org.freedesktop.login1.Manager"><method name="Reboot"/></interface></node>`,
      ),
    ).toBe(false);
    expect(declaresReboot(manager(`<method name="Reboot"><arg name="interactive" type="b"/></method>`))).toBe(false);
    expect(declaresReboot(manager(`<method name="Reboot"><arg name="i" type="b" direction="in"/></method>`))).toBe(
      false,
    );
    expect(declaresReboot(manager(`<method name="RebootWithFlags"><arg type="t" direction="in"/></method>`))).toBe(
      false,
    );
    expect(declaresReboot(manager(`<method name="SoftReboot"/>`))).toBe(false);
    expect(declaresReboot('')).toBe(false);
  });
});

/** A bus with logind's mock and, optionally, the systemd manager's; the agent uses that bus. */
interface Env {
  readonly bus: PrivateBus;
  readonly logind: LogindMock;
  readonly systemd?: SystemdMock;
  readonly h: RedfishHarness;
  /** A session token of the `admin` Administrator account. */
  readonly admin: string;
}

async function setUp(withSystemd: 'none' | 'template' | 'reboot'): Promise<Env> {
  const bus = await startPrivateBus();
  try {
    const logind = await startLogindMock(bus);
    const systemd = withSystemd === 'none' ? undefined : await startSystemdMock(bus);
    if (withSystemd === 'reboot') await systemd?.addReboot();
    const h = await bootRedfish({ core: { hostPower: { busAddress: bus.address, timeout: 1 } } });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    const admin = await h.login('admin', 'Admin-pass-1');
    return { bus, logind, h, admin, ...(systemd ? { systemd } : {}) };
  } catch (e) {
    await bus.stop();
    throw e;
  }
}

/** The describe block's environment: set up before its tests, stopped after them. */
function useEnv(withSystemd: 'none' | 'template' | 'reboot'): Env {
  const env = {} as { -readonly [K in keyof Env]: Env[K] };
  beforeAll(async () => {
    Object.assign(env, await setUp(withSystemd));
  }, 60_000);
  afterAll(async () => {
    await env.h?.stop();
    await env.bus?.stop();
  });
  return env;
}

describe('without a systemd manager on the bus', () => {
  const env = useEnv('none');

  it('does not offer ForceRestart, says why, and refuses it without touching logind', async () => {
    const info = await env.h.rf('GET', `${S}/ResetActionInfo`, { token: env.admin });
    expect(info.json.Parameters[0].AllowableValues).toEqual(['On', 'GracefulShutdown', 'GracefulRestart']);
    expect(info.json.Description).toMatch(
      /ForceRestart: not offered \(systemd manager unavailable: systemd Introspect on unix:path=.*org\.freedesktop\.DBus\.Error\.ServiceUnknown: .*nothing owns org\.freedesktop\.systemd1 on this bus\)/,
    );
    expect(info.json.Description).toMatch(RESUME_WHY);
    const r = await env.h.rf('POST', RESET, { token: env.admin, body: { ResetType: 'ForceRestart' } });
    expect(r.status).toBe(400);
    expect(ids(r)).toEqual(['Base.1.22.1.ActionParameterValueNotInList']);
    expect(messages(r)).toMatch(/ForceRestart is not offered: systemd manager unavailable/);
    // logind was asked what it allows (CanPowerOff/CanReboot), never to act.
    expect((await env.logind.calls()).filter((c) => !c.method.startsWith('Can'))).toEqual([]);
  });
});

describe('with the systemd template, which has no Reboot()', () => {
  const env = useEnv('template');

  it('does not offer ForceRestart and names the missing method', async () => {
    const info = await env.h.rf('GET', `${S}/ResetActionInfo`, { token: env.admin });
    expect(info.json.Parameters[0].AllowableValues).not.toContain('ForceRestart');
    expect(info.json.Description).toMatch(
      /ForceRestart: not offered \(the systemd manager on unix:path=\S+ has no org\.freedesktop\.systemd1\.Manager\.Reboot\(\)\)/,
    );
    expect((await env.h.rf('POST', RESET, { token: env.admin, body: { ResetType: 'ForceRestart' } })).status).toBe(400);
    expect(await env.systemd?.calls()).toEqual([]);
  });
});

describe('with the systemd manager and its Reboot()', () => {
  const env = useEnv('reboot');
  let systemd: SystemdMock;
  let admin: string;
  let oper: string;
  let ro: string;
  const audit = async (): Promise<AuditRow[]> => (await lastAudit(env.h, 50)).filter((e) => e.action === ACTION);
  beforeAll(async () => {
    systemd = env.systemd as SystemdMock;
    admin = env.admin;
    await env.h.addAccount('oper', 'Operator', 'Operator-pass-1');
    await env.h.addAccount('ro', 'ReadOnly', 'Readonly-pass-1');
    [oper, ro] = [await env.h.login('oper', 'Operator-pass-1'), await env.h.login('ro', 'Readonly-pass-1')];
  }, 60_000);

  it('offers ForceRestart in ActionInfo next to the logind resets, still not Resume', async () => {
    // The other tests of this block call Reboot(), before or after this one.
    await systemd.clearCalls();
    const info = await env.h.rf('GET', `${S}/ResetActionInfo`, { token: ro });
    expect(info.status).toBe(200);
    expect(info.json.Parameters[0].AllowableValues).toEqual([
      'On',
      'GracefulShutdown',
      'GracefulRestart',
      'ForceRestart',
    ]);
    expect(info.json.Description).toMatch(
      /ForceRestart: offered \(systemd manager Reboot\(\), as systemctl reboot --force: services are not stopped in order\)/,
    );
    expect(info.json.Description).toMatch(RESUME_WHY);
    // Probing introspects; it never calls a mocked method.
    expect(await systemd.calls()).toEqual([]);
  });

  it('refuses ForceRestart to ReadOnly: 403, no call, the refusal audited', async () => {
    await systemd.clearCalls();
    const r = await env.h.rf('POST', RESET, { token: ro, body: { ResetType: 'ForceRestart' } });
    expect(r.status).toBe(403);
    expect(ids(r)).toEqual(['Base.1.22.1.InsufficientPrivilege']);
    expect(await systemd.calls()).toEqual([]);
    const denied = (await lastAudit(env.h, 5)).filter((e) => e.principal === 'ro' && e.outcome === 'denied');
    expect(denied.map((e) => e.action)).toEqual([`redfish POST ${RESET}`]);
    expect(denied[0]?.detail).toMatch(/ConfigureComponents/);
  });

  it('calls Reboot() exactly once for each POST by an Operator and by an Administrator, never logind, and audits it', async () => {
    const earlier = (await audit()).length;
    for (const [who, token] of [
      ['oper', oper],
      ['admin', admin],
    ] as const) {
      await systemd.clearCalls();
      await env.logind.clearCalls();
      const r = await env.h.rf('POST', RESET, { token, body: { ResetType: 'ForceRestart' } });
      expect(r.status, r.text).toBe(204);
      expect((await systemd.calls()).map((c) => [c.method, c.args])).toEqual([['Reboot', []]]);
      expect(await systemd.calls('Reboot')).toHaveLength(1);
      expect((await env.logind.calls()).filter((c) => c.method === 'Reboot' || c.method === 'PowerOff')).toEqual([]);
      expect((await audit()).at(-1)).toMatchObject({
        principal: who,
        outcome: 'ok',
        detail: expect.stringMatching(
          /^redfish ComputerSystem\.Reset ForceRestart: accepted by the systemd manager on unix:path=/,
        ),
      });
    }
    expect((await audit()).slice(earlier).map((e) => `${e.principal} ${e.outcome}`)).toEqual(['oper ok', 'admin ok']);
  });

  it('answers a Reboot() that fails with a 503 naming the D-Bus error, and audits the failure', async () => {
    const cases = [
      {
        name: 'org.freedesktop.DBus.Error.AccessDenied',
        code: 'E_HOST_POWER_REFUSED',
        hint: 'the system bus and systemd take Reboot() only from root; CAP_SYS_BOOT alone is not enough',
      },
      {
        name: 'org.freedesktop.DBus.Error.UnknownMethod',
        code: 'E_HOST_POWER_FAILED',
        hint: 'this systemd has no Manager.Reboot()',
      },
    ];
    // What a Redfish client reads in the manager's audit log (other tests' failures included).
    const auditedFailures = async (): Promise<string[]> => {
      const entries = await env.h.rf('GET', '/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries', { token: admin });
      const failures: string[] = [];
      for (const m of entries.json.Members) {
        const e = await env.h.rf('GET', m['@odata.id'], { token: admin });
        if (e.json.Message.includes(`${ACTION}: failed`)) failures.push(`${e.json.Severity} ${e.json.Message}`);
      }
      return failures;
    };
    const earlier = (await auditedFailures()).length;
    try {
      for (const c of cases) {
        await systemd.addReboot({ error: { name: c.name, message: `mocked ${c.name.split('.').at(-1)}` } });
        await systemd.clearCalls();
        const r = await env.h.rf('POST', RESET, { token: oper, body: { ResetType: 'ForceRestart' } });
        expect(r.status, r.text).toBe(503);
        expect(ids(r)).toEqual(['Base.1.22.1.GeneralError', 'Base.1.22.1.ServiceTemporarilyUnavailable']);
        const text = `${c.code}: systemd Manager.Reboot on ${env.bus.address}: ${c.name}: mocked ${c.name.split('.').at(-1)} (${c.hint})`;
        expect(r.json.error['@Message.ExtendedInfo'][0].Message).toBe(text);
        expect(await systemd.calls('Reboot')).toHaveLength(1);
        expect((await audit()).at(-1)).toEqual(
          expect.objectContaining({
            principal: 'oper',
            outcome: 'failed',
            detail: `${CAUSE}: ${text.replace(`${c.code}: `, '')}`,
          }),
        );
      }
      const failures = (await auditedFailures()).slice(earlier);
      expect(failures).toHaveLength(2);
      expect(failures[1]).toMatch(
        /^Warning oper \(redfish from \S+\): host reboot --force \(systemd Manager\.Reboot\): failed \(redfish ComputerSystem\.Reset ForceRestart: .*UnknownMethod/,
      );
    } finally {
      await systemd.addReboot();
    }
  });

  it('answers a Reboot() that does not answer in time with a 503 saying the reboot may still happen', async () => {
    try {
      await systemd.addReboot({ delayMs: 2500 });
      await systemd.clearCalls();
      const r = await env.h.rf('POST', RESET, { token: admin, body: { ResetType: 'ForceRestart' } });
      expect(r.status, r.text).toBe(503);
      expect(messages(r)).toMatch(
        /E_HOST_POWER_TIMEOUT: systemd Manager\.Reboot on unix:path=\S+: no answer within 1000 ms \(the reboot may still happen\)/,
      );
      expect((await audit()).at(-1)).toMatchObject({
        principal: 'admin',
        outcome: 'failed',
        detail: expect.stringMatching(/no answer within 1000 ms/),
      });
      // The mock answers once its delay is over: the call did reach it, once.
      expect(await systemd.calls('Reboot')).toHaveLength(1);
    } finally {
      await systemd.addReboot();
    }
  });
});

describe('with DBUS_SYSTEM_BUS_ADDRESS (the host bus as vpmd sees it) naming a manager that has Reboot()', () => {
  const NOT_USED = (what: string): string =>
    `simulated host: the system ${what} is not used (set hostPower.busAddress to use one)`;
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  let bus: PrivateBus;
  let logind: LogindMock;
  let systemd: SystemdMock;
  let h: RedfishHarness;
  let admin: string;
  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus);
    systemd = await startSystemdMock(bus);
    await systemd.addReboot();
    // What the agent would take for the system bus if the simulated-host rule were broken.
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    h = await bootRedfish({ core: { hostPower: { timeout: 1 } } });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  }, 60_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    await h?.stop();
    await bus?.stop();
  });

  const hostBus = (uid: (() => number | undefined) | undefined, busAddress?: string): SystemdManager =>
    new SystemdManager({
      address: systemBusAddress(busAddress),
      hostBus: busAddress === undefined,
      timeoutMs: 1000,
      ...(uid ? { effectiveUid: uid } : {}),
    });
  const reboot = async (m: SystemdManager): Promise<unknown> => (await m.probe()).Reboot;

  it('without busAddress, offers Reboot() only to a vpmd running as root, and never calls it to find out', async () => {
    expect(await reboot(hostBus(() => 0))).toEqual({ offered: true });
    expect(await reboot(hostBus(() => 998))).toEqual({ offered: false, why: notRootReason(998) });
    expect(notRootReason(998)).toBe(
      "vpmd runs as uid 998, not root, and the system bus takes the systemd manager's Reboot() only from root (its D-Bus policy refuses other users, even with CAP_SYS_BOOT): run vpmd as root",
    );
    expect(await reboot(hostBus(() => undefined))).toEqual({
      offered: false,
      why: 'cannot tell the effective uid of vpmd on this platform',
    });
    // Without an injected uid it is this process's own.
    const own = process.geteuid?.();
    expect(await reboot(hostBus(undefined))).toEqual(
      own === 0 ? { offered: true } : { offered: false, why: notRootReason(own ?? -1) },
    );
    expect(await systemd.calls()).toEqual([]);
  });

  it('checks the uid before the bus: a non-root vpmd gets that reason even when no manager answers', async () => {
    process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${bus.address.replace(/^unix:path=/, '').replace(/,.*$/, '')}.absent`;
    try {
      expect(await reboot(hostBus(() => 998))).toEqual({ offered: false, why: notRootReason(998) });
      expect(await reboot(hostBus(() => 0))).toEqual({
        offered: false,
        why: expect.stringMatching(/^systemd manager unavailable: systemd Introspect on unix:path=\S+\.absent: /),
      });
    } finally {
      process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    }
  });

  it('with an explicit busAddress, does not look at the uid: that manager may be elsewhere', async () => {
    let asked = 0;
    expect(await reboot(hostBus(() => (asked++, 998), bus.address))).toEqual({ offered: true });
    expect(asked).toBe(0);
  });

  it('on a simulated host (no busAddress), offers neither ForceRestart nor the logind types, says why, refuses ForceRestart, and never calls the bus', async () => {
    const info = await h.rf('GET', `${S}/ResetActionInfo`, { token: admin });
    expect(info.status).toBe(200);
    expect(info.json.Parameters[0].AllowableValues).toEqual(['On']);
    expect(info.json.Description).toContain(`ForceRestart: not offered (${NOT_USED('systemd manager')})`);
    expect(info.json.Description).toContain(`GracefulShutdown: not offered (${NOT_USED('logind')})`);
    expect(info.json.Description).toContain(`GracefulRestart: not offered (${NOT_USED('logind')})`);
    for (const type of ['ForceRestart', 'GracefulRestart']) {
      const r = await h.rf('POST', RESET, { token: admin, body: { ResetType: type } });
      expect(r.status, r.text).toBe(400);
      expect(ids(r)).toEqual(['Base.1.22.1.ActionParameterValueNotInList']);
      expect(messages(r)).toMatch(
        new RegExp(
          `${type} is not offered: ${escape(NOT_USED(type === 'ForceRestart' ? 'systemd manager' : 'logind'))}\\.$`,
        ),
      );
    }
    expect(await systemd.calls('Reboot')).toEqual([]);
    expect(await systemd.calls()).toEqual([]);
    // Not even asked what it allows.
    expect(await logind.calls()).toEqual([]);
  });
});
