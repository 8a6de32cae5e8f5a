/**
 * Host power-off and reboot through systemd-logind (`PowerOff`/`Reboot`, asked first with
 * `CanPowerOff`/`CanReboot`), for ComputerSystem.Reset GracefulShutdown and GracefulRestart.
 * No core contract offers these yet (host-sleep covers sleep only), so the service talks to
 * logind itself. Every call is bounded and uses a connection of its own (see bounded-bus.ts):
 * a missing or frozen logind costs one bounded call.
 */
import { VpmdError } from 'vpmd';
import { BusExchangeError, onBus, systemBusAddress } from './bounded-bus.js';

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
    this.address = systemBusAddress(opts.busAddress);
  }

  private async withManager<T>(what: string, fn: (m: ManagerProxy) => Promise<T>): Promise<T> {
    try {
      return await onBus(this.address, this.opts.timeoutMs, async (bus) => {
        const obj = await bus.getProxyObject(NAME, OBJECT, INTROSPECTION);
        return fn(obj.getInterface(MANAGER) as unknown as ManagerProxy);
      });
    } catch (e) {
      const text = e instanceof BusExchangeError ? e.describe() : String(e);
      throw new VpmdError('E_REDFISH_LOGIND', `logind ${what} on ${this.address}: ${text}`, {
        call: what,
        bus: this.address,
      });
    }
  }

  /** What logind allows now ("yes", "challenge", "no", "na"), or why it could not be asked. */
  async can(): Promise<PowerAnswer> {
    try {
      return await this.withManager('CanPowerOff/CanReboot', async (m) => ({
        powerOff: await m.CanPowerOff(),
        reboot: await m.CanReboot(),
      }));
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
