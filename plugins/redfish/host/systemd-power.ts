/**
 * Forced host reboot through the systemd manager, for ComputerSystem.Reset ForceRestart:
 * `org.freedesktop.systemd1.Manager.Reboot()`, what `systemctl reboot --force` calls. Services
 * are not stopped in order; systemd kills every process, syncs and unmounts the file systems,
 * then reboots. logind has no such call (its Reboot is the orderly one). Same rules as
 * LogindPower: every exchange is bounded and uses a connection of its own (bounded-bus.ts).
 */
import { Message } from 'dbus-next';
import { VpmdError } from '../../../core/index.js';
import { BusExchangeError, onBus, systemBusAddress } from './bounded-bus.js';

const NAME = 'org.freedesktop.systemd1';
const OBJECT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';

/** Whether the manager can be asked to reboot, or why not. */
export type SystemdAnswer = { readonly reboot: true } | { readonly reboot: false; readonly why: string };

/** Hints an operator can act on, by `call failure` (`*`: any call; `timeout`: no answer). */
const HINTS: Readonly<Record<string, string>> = {
  'Manager.Reboot org.freedesktop.DBus.Error.AccessDenied': 'vpmd needs to run as root or with CAP_SYS_BOOT',
  'Manager.Reboot org.freedesktop.DBus.Error.UnknownMethod': 'this systemd has no Manager.Reboot()',
  // A Reboot that timed out may have been accepted all the same: say so rather than guess.
  'Manager.Reboot timeout': 'the reboot may still happen',
  '* org.freedesktop.DBus.Error.ServiceUnknown': `nothing owns ${NAME} on this bus`,
};

/** Regex source for ` name="value"` (either quote) inside a start tag. */
const attrPattern = (name: string, value: string): string => `\\s${name}\\s*=\\s*["']${value.replace(/\./g, '\\.')}["']`;

/**
 * True when the introspection XML of the manager object declares `Reboot` on the manager
 * interface without input arguments. Introspection XML is flat and machine-written (interfaces
 * are not nested), so a scan of the one interface element is enough; no XML library needed.
 */
export function declaresReboot(xml: string): boolean {
  const iface = new RegExp(`<interface${attrPattern('name', MANAGER)}\\s*>([\\s\\S]*?)</interface>`).exec(xml)?.[1];
  if (iface === undefined) return false;
  const method = new RegExp(`<method${attrPattern('name', 'Reboot')}\\s*(/>|>([\\s\\S]*?)</method>)`).exec(iface);
  if (!method) return false;
  // An <arg> of a method is an input unless it says direction="out".
  const args = method[2]?.match(/<arg\b[^>]*>/g) ?? [];
  return args.every((a) => /\sdirection\s*=\s*["']out["']/.test(a));
}

/** The systemd manager's forced reboot. */
export class SystemdPower {
  /** The bus this instance talks to. */
  readonly address: string;

  constructor(private readonly opts: { busAddress?: string; timeoutMs: number }) {
    this.address = systemBusAddress(opts.busAddress);
  }

  private async call(member: string, iface: string): Promise<unknown[]> {
    return onBus(this.address, this.opts.timeoutMs, async (bus) => {
      const reply = await bus.call(new Message({ destination: NAME, path: OBJECT, interface: iface, member }));
      return reply === null ? [] : (reply.body as unknown[]);
    });
  }

  /** Whether the manager is reachable here and declares Reboot(); never throws. */
  async probe(): Promise<SystemdAnswer> {
    try {
      const [xml] = await this.call('Introspect', INTROSPECTABLE);
      if (typeof xml === 'string' && declaresReboot(xml)) return { reboot: true };
      return { reboot: false, why: `the systemd manager on ${this.address} has no ${MANAGER}.Reboot()` };
    } catch (e) {
      return { reboot: false, why: `systemd manager unavailable: ${this.explain('Introspect', e)}` };
    }
  }

  /**
   * Asks systemd for an immediate reboot without an orderly stop of services. It returns once
   * systemd has accepted the request; the machine goes down right after.
   * @throws VpmdError E_REDFISH_SYSTEMD: refused (e.g. AccessDenied), unknown method, no
   *   answer in time (then the reboot may still happen), or the bus is unreachable
   */
  async forceReboot(): Promise<void> {
    try {
      await this.call('Reboot', MANAGER);
    } catch (e) {
      const dbusError = e instanceof BusExchangeError ? e.dbusError : undefined;
      throw new VpmdError('E_REDFISH_SYSTEMD', this.explain('Manager.Reboot', e), {
        call: 'Reboot',
        bus: this.address,
        ...(dbusError !== undefined ? { dbusError } : {}),
      });
    }
  }

  private explain(member: string, e: unknown): string {
    const head = `systemd ${member} on ${this.address}`;
    if (!(e instanceof BusExchangeError)) return `${head}: ${String(e)}`;
    const failure = e.timedOut ? 'timeout' : (e.dbusError ?? '');
    const hint = HINTS[`${member} ${failure}`] ?? HINTS[`* ${failure}`];
    return `${head}: ${e.describe()}${hint ? ` (${hint})` : ''}`;
  }
}
