/**
 * A mocked systemd manager (python-dbusmock's systemd template) owning org.freedesktop.systemd1
 * on a private bus. The 0.28 template has units and jobs but no Reboot() or PowerOff(); this
 * helper adds them through the mock's control interface (org.freedesktop.DBus.Mock.AddMethod),
 * answering or failing as the test asks, and reads the calls back with GetCalls / GetMethodCalls.
 */
import type { MockCall } from './dbusmock-calls.js';
import { DbusmockPeer, startDbusmockTemplate, type DbusmockTemplate } from './dbusmock-peer.js';
import { peerOptionsError } from './peer-errors.js';
import type { BusAddress } from './private-bus.js';

const PEER = 'systemd-mock';

/** The manager's well-known name. */
export const SYSTEMD_BUS_NAME = 'org.freedesktop.systemd1';
/** The manager object path. */
export const SYSTEMD_PATH = '/org/freedesktop/systemd1';
/** The manager interface. */
export const SYSTEMD_MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';
/** A D-Bus error name: two or more dot-separated elements (it ends up in python code). */
const ERROR_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** How an added Reboot() or PowerOff() behaves. */
export interface SystemdRebootBehaviour {
  /** Fail every call with this D-Bus error (e.g. org.freedesktop.DBus.Error.AccessDenied). */
  readonly error?: { readonly name: string; readonly message: string };
  /** Sleep this long before answering or failing (the mock is single-threaded meanwhile). */
  readonly delayMs?: number;
}

/** One call the mock recorded. */
export type SystemdCall = MockCall;

/** Options for {@link startSystemdMock}. */
export interface SystemdMockOptions {
  /** Bound for the mock to answer; default 15 s (python start-up is slow on CI). */
  readonly startTimeoutMs?: number;
  /** Bound for each control call (AddMethod, GetCalls, ...); default 5 s. */
  readonly callTimeoutMs?: number;
}

/** A running systemd manager mock. */
export interface SystemdMock {
  /** Pid (and process group) of the python process. */
  readonly pid: number;
  /** The temp directory holding the mock's call log; removed by stop(). */
  readonly dir: string;
  /** (Re)defines Manager.Reboot() with no arguments: answers at once, or as `behaviour` says. */
  addReboot(behaviour?: SystemdRebootBehaviour): Promise<void>;
  /** (Re)defines Manager.PowerOff() with no arguments, as {@link addReboot} does Reboot(). */
  addPowerOff(behaviour?: SystemdRebootBehaviour): Promise<void>;
  /** Calls recorded since start or the last clearCalls(), optionally of one method only. */
  calls(method?: string): Promise<SystemdCall[]>;
  /** Forgets the recorded calls. */
  clearCalls(): Promise<void>;
  /** Stops the mock and removes its temp directory. */
  stop(): Promise<void>;
}

function rebootCode(b: SystemdRebootBehaviour): string {
  const lines: string[] = [];
  if (b.delayMs !== undefined) {
    if (!Number.isFinite(b.delayMs) || b.delayMs < 0)
      throw peerOptionsError(PEER, 'delayMs', b.delayMs, 'a finite number >= 0');
    lines.push('import time', `time.sleep(${(b.delayMs / 1000).toFixed(3)})`);
  }
  if (b.error !== undefined) {
    if (!ERROR_NAME.test(b.error.name))
      throw peerOptionsError(
        PEER,
        'error.name',
        b.error.name,
        'a D-Bus error name such as org.freedesktop.DBus.Error.AccessDenied',
      );
    // A JSON string is a valid python string literal: the message cannot break out of it.
    lines.push(
      'import dbus',
      `raise dbus.exceptions.DBusException(${JSON.stringify(b.error.message)}, name='${b.error.name}')`,
    );
  }
  return lines.join('\n');
}

class RunningSystemdMock extends DbusmockPeer implements SystemdMock {
  async addReboot(behaviour: SystemdRebootBehaviour = {}): Promise<void> {
    await this.mock('AddMethod', 'sssss', [SYSTEMD_MANAGER_IFACE, 'Reboot', '', '', rebootCode(behaviour)]);
  }

  async addPowerOff(behaviour: SystemdRebootBehaviour = {}): Promise<void> {
    await this.mock('AddMethod', 'sssss', [SYSTEMD_MANAGER_IFACE, 'PowerOff', '', '', rebootCode(behaviour)]);
  }
}

/**
 * Starts `/usr/bin/python3 -m dbusmock --system --template systemd` on `bus` (as its "system
 * bus") and waits until the manager's Version property answers. Reboot() and PowerOff() are not
 * there until {@link SystemdMock.addReboot} and {@link SystemdMock.addPowerOff}.
 * @throws VpmdError: python3-dbusmock missing (names scripts/setup-peers.sh), mock exited, or
 *   not ready in time
 */
export async function startSystemdMock(bus: BusAddress, opts: SystemdMockOptions = {}): Promise<SystemdMock> {
  const template: DbusmockTemplate = {
    peer: PEER,
    template: 'systemd',
    busName: SYSTEMD_BUS_NAME,
    path: SYSTEMD_PATH,
    readyWhat: 'answer Get(Version)',
    probe: async (client) =>
      String(await client.getProperty(SYSTEMD_BUS_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, 'Version', 1_000)),
    startTimeoutMs: opts.startTimeoutMs,
    callTimeoutMs: opts.callTimeoutMs,
  };
  return startDbusmockTemplate(bus, template, (started) => new RunningSystemdMock(started));
}
