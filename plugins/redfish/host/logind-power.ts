/**
 * Host power-off and reboot through systemd-logind (`PowerOff`/`Reboot`, asked first with
 * `CanPowerOff`/`CanReboot`), for ComputerSystem.Reset GracefulShutdown and GracefulRestart.
 * No core contract offers these yet (host-sleep covers sleep only), so the service talks to
 * logind itself. Every call is bounded (dbus-next has no timeout of its own) and uses a
 * connection of its own, closed afterwards: a missing or frozen logind costs one bounded call.
 */
import dbus from 'dbus-next';
import { VpmdError } from '../../../core/index.js';

const NAME = 'org.freedesktop.login1';
const OBJECT = '/org/freedesktop/login1';
const MANAGER = 'org.freedesktop.login1.Manager';
const INTROSPECTION = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="${MANAGER}">
    <method name="PowerOff"><arg name="interactive" type="b" direction="in"/></method>
    <method name="Reboot"><arg name="interactive" type="b" direction="in"/></method>
    <method name="CanPowerOff"><arg name="result" type="s" direction="out"/></method>
    <method name="CanReboot"><arg name="result" type="s" direction="out"/></method>
  </interface>
</node>`;

/** The default system bus when DBUS_SYSTEM_BUS_ADDRESS is unset. */
const SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

/** What logind answers to Can*(), or why it could not be asked. */
export interface PowerAnswer {
  readonly powerOff: string;
  readonly reboot: string;
  /** Set when logind could not be asked. */
  readonly problem?: string;
}

interface ManagerProxy {
  PowerOff(interactive: boolean): Promise<void>;
  Reboot(interactive: boolean): Promise<void>;
  CanPowerOff(): Promise<string>;
  CanReboot(): Promise<string>;
}

/** logind's power-off and reboot. */
export class LogindPower {
  private readonly address: string;

  constructor(private readonly opts: { busAddress?: string; timeoutMs: number }) {
    this.address = opts.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? SYSTEM_BUS;
  }

  private async withManager<T>(what: string, fn: (m: ManagerProxy) => Promise<T>): Promise<T> {
    const bus = dbus.sessionBus({ busAddress: this.address });
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_ok, ko) => {
      bus.on('error', (e: Error) => ko(e));
      timer = setTimeout(() => ko(new Error(`no answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
    });
    failed.catch(() => undefined);
    try {
      const obj = await Promise.race([bus.getProxyObject(NAME, OBJECT, INTROSPECTION), failed]);
      const m = obj.getInterface(MANAGER) as unknown as ManagerProxy;
      return await Promise.race([fn(m), failed]);
    } catch (e) {
      const name = e instanceof dbus.DBusError ? e.type : undefined;
      const text = e instanceof Error ? e.message : String(e);
      throw new VpmdError('E_REDFISH_LOGIND', `logind ${what} on ${this.address}: ${name ? `${name}: ` : ''}${text}`, { call: what, bus: this.address });
    } finally {
      clearTimeout(timer);
      bus.disconnect();
    }
  }

  /** What logind allows now ("yes", "challenge", "no", "na"), or why it could not be asked. */
  async can(): Promise<PowerAnswer> {
    try {
      return await this.withManager('CanPowerOff/CanReboot', async (m) => ({ powerOff: await m.CanPowerOff(), reboot: await m.CanReboot() }));
    } catch (e) {
      return { powerOff: 'unavailable', reboot: 'unavailable', problem: (e as Error).message };
    }
  }

  /** Orderly power-off (logind starts poweroff.target). */
  powerOff(): Promise<void> {
    return this.withManager('PowerOff', (m) => m.PowerOff(false));
  }

  /** Orderly reboot (logind starts reboot.target). */
  reboot(): Promise<void> {
    return this.withManager('Reboot', (m) => m.Reboot(false));
  }
}
