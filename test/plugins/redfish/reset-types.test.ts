/**
 * The ResetTypes of ComputerSystem.Reset beyond ForceRestart, through the core's host power
 * (host-power@1), against python-dbusmock's logind and systemd templates on one private bus
 * (PowerOff() and Reboot() added to the manager through Mock.AddMethod): ForceOff calls the
 * manager's PowerOff(), GracefulShutdown logind's PowerOff(false), each exactly once, audited
 * with its cause; ReadOnly is refused before anything is called; the types only a BMC can do
 * are listed with the reason; on a simulated host without hostPower.busAddress nothing is
 * called, whoever asks (Redfish, or another plugin through the capability it never declared).
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
import { testPlugin } from '../../../testkit/index.js';
import { HOST_POWER, StringEnum, Type, defineCommand } from '../../../core/index.js';
import { bootRedfish, lastAudit, openSse, type AuditRow, type RedfishHarness } from './support.js';

const S = '/redfish/v1/Systems/host';
const RESET = `${S}/Actions/ComputerSystem.Reset`;
const BMC_WHY = "needs this host's own BMC: no BMC is configured as this host's own (mark its target hostBmc: true";

/** What the tests read of an ActionInfo and of an error body. */
interface ActionInfo {
  readonly Parameters: ReadonlyArray<{ readonly AllowableValues: readonly string[] }>;
  readonly Description: string;
}
interface ErrorBody {
  readonly error: { readonly '@Message.ExtendedInfo': ReadonlyArray<{ readonly Message: string }> };
}
const firstMessage = (json: unknown): string | undefined =>
  (json as ErrorBody).error['@Message.ExtendedInfo'][0]?.Message;

/** A plugin that uses host-power@1 without declaring it, as any plugin may. */
const caller = testPlugin({
  name: 'power-caller',
  description: 'calls host-power@1 as an Administrator',
  register(ctx) {
    ctx.commands.register(
      defineCommand({
        name: 'caller power-off',
        summary: 'power off through the capability',
        privilege: 'Login',
        args: Type.Object({ mode: StringEnum(['graceful', 'force'] as const) }),
        positional: ['mode'],
        handler: (a) =>
          ctx.capabilities
            .get(HOST_POWER)
            .powerOff(a.mode, { name: 'caller', role: 'Administrator', origin: 'internal' }, 'test caller'),
      }),
    );
    return { start() {}, stop() {} };
  },
});

describe('with logind and a systemd manager that has PowerOff() and Reboot()', () => {
  let bus: PrivateBus;
  let logind: LogindMock;
  let systemd: SystemdMock;
  let h: RedfishHarness;
  let oper: string;
  let ro: string;
  const audit = async (action: string): Promise<AuditRow[]> =>
    (await lastAudit(h, 100)).filter((e) => e.action === action);
  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus);
    systemd = await startSystemdMock(bus);
    await systemd.addReboot();
    await systemd.addPowerOff();
    h = await bootRedfish({ core: { hostPower: { busAddress: bus.address, timeout: 2 } } });
    await h.addAccount('oper', 'Operator', 'Operator-pass-1');
    await h.addAccount('ro', 'ReadOnly', 'Readonly-pass-1');
    [oper, ro] = [await h.login('oper', 'Operator-pass-1'), await h.login('ro', 'Readonly-pass-1')];
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await bus?.stop();
  });

  it('lists exactly what is offered, and why each other type is not', async () => {
    const info = (await h.rf('GET', `${S}/ResetActionInfo`, { token: ro })).json as ActionInfo;
    expect(info.Parameters[0]?.AllowableValues).toEqual([
      'On',
      'GracefulShutdown',
      'GracefulRestart',
      'ForceRestart',
      'ForceOff',
    ]);
    const d = info.Description;
    expect(d).toContain(
      'ForceOff: offered (systemd manager PowerOff(), as systemctl poweroff --force: services are not stopped in order)',
    );
    expect(d).toContain('GracefulShutdown: offered (systemd-logind PowerOff)');
    for (const type of ['PowerCycle', 'ForceOn']) expect(d).toContain(`${type}: not offered (`);
    for (const type of ['PowerCycle', 'ForceOn'])
      expect(d.split('; ').find((o) => o.startsWith(`${type}:`))).toContain(BMC_WHY);
    // Not IPMI Chassis Control actions: not offered even with a host BMC.
    expect(d).toContain(
      'FullPowerCycle: not offered (removing and restoring AC power is not an IPMI Chassis Control action)',
    );
    expect(d).toMatch(/PushPowerButton: not offered \(IPMI Chassis Control has no button press/);
    expect(d).toMatch(/Nmi: not offered \(the diagnostic interrupt/);
    expect(d).toMatch(/Pause: not offered \(the host is not a virtual machine/);
    expect(d).toMatch(/Suspend: not offered \(no host-sleep provider/);
    const r = await h.rf('POST', RESET, { token: oper, body: { ResetType: 'PowerCycle' } });
    expect(r.status).toBe(400);
    expect(firstMessage(r.json)).toContain(`PowerCycle is not offered: ${BMC_WHY}`);
  });

  it('refuses ForceOff and GracefulShutdown to ReadOnly before calling anything', async () => {
    await systemd.clearCalls();
    await logind.clearCalls();
    for (const type of ['ForceOff', 'GracefulShutdown'])
      expect((await h.rf('POST', RESET, { token: ro, body: { ResetType: type } })).status).toBe(403);
    expect(await systemd.calls()).toEqual([]);
    expect((await logind.calls()).filter((c) => !c.method.startsWith('Can'))).toEqual([]);
  });

  it('ForceOff calls the manager PowerOff() once, no logind action, audited with its cause, off on SSE', async () => {
    const sse = await openSse(h, ro);
    try {
      await systemd.clearCalls();
      await logind.clearCalls();
      const r = await h.rf('POST', RESET, { token: oper, body: { ResetType: 'ForceOff' } });
      expect(r.status, r.text).toBe(204);
      expect((await systemd.calls()).map((c) => [c.method, c.args])).toEqual([['PowerOff', []]]);
      expect((await logind.calls()).filter((c) => !c.method.startsWith('Can'))).toEqual([]);
      expect((await audit('host power-off --force (systemd Manager.PowerOff)')).at(-1)).toMatchObject({
        principal: 'oper',
        outcome: 'ok',
        detail: `redfish ComputerSystem.Reset ForceOff: accepted by the systemd manager on ${bus.address}`,
      });
      await sse.waitFor((d) => JSON.stringify(d).includes('ResourcePoweredOff'));
    } finally {
      sse.close();
    }
  });

  it('GracefulShutdown calls logind PowerOff(false) once and not the manager, audited with its cause', async () => {
    await systemd.clearCalls();
    await logind.clearCalls();
    const r = await h.rf('POST', RESET, { token: oper, body: { ResetType: 'GracefulShutdown' } });
    expect(r.status, r.text).toBe(204);
    expect((await logind.calls('PowerOff')).map((c) => c.args)).toEqual([[false]]);
    expect((await logind.calls()).filter((c) => !c.method.startsWith('Can') && c.method !== 'PowerOff')).toEqual([]);
    expect(await systemd.calls('PowerOff')).toEqual([]);
    expect((await audit('host power-off (logind PowerOff)')).at(-1)).toMatchObject({
      principal: 'oper',
      outcome: 'ok',
      detail: `redfish ComputerSystem.Reset GracefulShutdown: accepted by systemd-logind on ${bus.address}`,
    });
  });

  it('answers a PowerOff() the manager refuses with a 503 and audits the failure', async () => {
    try {
      await systemd.addPowerOff({ error: { name: 'org.freedesktop.DBus.Error.AccessDenied', message: 'no' } });
      const r = await h.rf('POST', RESET, { token: oper, body: { ResetType: 'ForceOff' } });
      expect(r.status, r.text).toBe(503);
      expect(firstMessage(r.json)).toBe(
        `E_HOST_POWER_REFUSED: systemd Manager.PowerOff on ${bus.address}: org.freedesktop.DBus.Error.AccessDenied: no (the system bus and systemd take PowerOff() only from root; CAP_SYS_BOOT alone is not enough)`,
      );
      const last = (await audit('host power-off --force (systemd Manager.PowerOff)')).at(-1);
      expect(last?.outcome).toBe('failed');
      expect(last?.detail).toMatch(/^redfish ComputerSystem\.Reset ForceOff: systemd Manager\.PowerOff on /);
    } finally {
      await systemd.addPowerOff();
    }
  });
});

describe('on a simulated host without hostPower.busAddress', () => {
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
    await systemd.addPowerOff();
    // What the agent would take for the system bus if the simulated-host rule were broken.
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    h = await bootRedfish({ plugins: [caller] });
    await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
    admin = await h.login('admin', 'Admin-pass-1');
  }, 60_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    await h?.stop();
    await bus?.stop();
  });

  it('offers neither ForceOff nor GracefulShutdown, and calls nothing for Redfish or another plugin', async () => {
    const info = (await h.rf('GET', `${S}/ResetActionInfo`, { token: admin })).json as ActionInfo;
    expect(info.Parameters[0]?.AllowableValues).toEqual(['On']);
    expect(info.Description).toContain(
      'ForceOff: not offered (simulated host: the system systemd manager is not used (set hostPower.busAddress to use one))',
    );
    for (const type of ['ForceOff', 'GracefulShutdown'])
      expect((await h.rf('POST', RESET, { token: admin, body: { ResetType: type } })).status).toBe(400);
    for (const mode of ['force', 'graceful']) {
      const r = await h.agent.run(['caller', 'power-off', mode]);
      expect(r.type === 'error' ? r.error.code : r.type).toBe('E_HOST_POWER_NOT_OFFERED');
    }
    expect(await systemd.calls()).toEqual([]);
    expect(await logind.calls()).toEqual([]);
    const failed = (await lastAudit(h, 20)).filter((e) => e.principal === 'caller');
    expect(failed.map((e) => `${e.action} ${e.outcome}`)).toEqual([
      'host power-off --force (systemd Manager.PowerOff) failed',
      'host power-off (logind PowerOff) failed',
    ]);
  });
});
