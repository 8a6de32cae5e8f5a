/**
 * Forced host reboot through the systemd manager, for ComputerSystem.Reset ForceRestart:
 * `org.freedesktop.systemd1.Manager.Reboot()`, what `systemctl reboot --force` calls. Services
 * are not stopped in order; systemd kills every process, syncs and unmounts the file systems,
 * then reboots. logind has no such call (its Reboot is the orderly one). Same rules as
 * LogindPower: every exchange is bounded and uses a connection of its own (bounded-bus.ts).
 *
 * Who may call Reboot() on the host's system bus: root only. systemd's bus policy
 * (org.freedesktop.systemd1.conf) lets only user root send it. The manager's own check
 * (SD_BUS_VTABLE_CAPABILITY(CAP_SYS_BOOT)) cannot see a caller's capabilities over
 * dbus-daemon or dbus-broker, so sd-bus falls back to comparing the caller's uid with its own
 * (0). CAP_SYS_BOOT is thus neither needed by root nor enough for another user.
 */
import { Message } from 'dbus-next';
import { VpmdError } from 'vpmd';
import { BusExchangeError, onBus, systemBusAddress } from './bounded-bus.js';

const NAME = 'org.freedesktop.systemd1';
const OBJECT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';

/** Whether the manager can be asked to reboot, or why not. */
export type SystemdAnswer = { readonly reboot: true } | { readonly reboot: false; readonly why: string };

/** Hints an operator can act on, by `call failure` (`*`: any call; `timeout`: no answer). */
const HINTS: Readonly<Record<string, string>> = {
  'Manager.Reboot org.freedesktop.DBus.Error.AccessDenied':
    'the system bus and systemd take Reboot() only from root; CAP_SYS_BOOT alone is not enough',
  'Manager.Reboot org.freedesktop.DBus.Error.UnknownMethod': 'this systemd has no Manager.Reboot()',
  // A Reboot that timed out may have been accepted all the same: say so rather than guess.
  'Manager.Reboot timeout': 'the reboot may still happen',
  '* org.freedesktop.DBus.Error.ServiceUnknown': `nothing owns ${NAME} on this bus`,
};

/** Regex source for ` name="value"` (either quote) inside a start tag. */
const attrPattern = (name: string, value: string): string =>
  `\\s${name}\\s*=\\s*["']${value.replace(/\./g, '\\.')}["']`;

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

/** Options of {@link SystemdPower}. */
export interface SystemdPowerOptions {
  /**
   * Where the manager is. Unset: the host's own system bus (DBUS_SYSTEM_BUS_ADDRESS, else the
   * system bus socket), which takes Reboot() only from root, so the probe checks vpmd's
   * effective uid first. Set: the manager may be elsewhere (a test bus, a container's bus, a
   * proxy) with a policy vpmd cannot see from here, so only the Reboot() call itself tells.
   */
  readonly busAddress?: string;
  /** Bound of each exchange. */
  readonly timeoutMs: number;
  /** vpmd's effective uid (default process.geteuid; injectable for tests); only without busAddress. */
  readonly effectiveUid?: () => number | undefined;
}

/** Why ForceRestart is not offered on the host's own bus to a vpmd running as `uid`. */
export function notRootReason(uid: number): string {
  return `vpmd runs as uid ${uid}, not root, and the system bus takes the systemd manager's Reboot() only from root (its D-Bus policy refuses other users, even with CAP_SYS_BOOT): run vpmd as root`;
}

/** The systemd manager's forced reboot. */
export class SystemdPower {
  /** The bus this instance talks to. */
  readonly address: string;

  constructor(private readonly opts: SystemdPowerOptions) {
    this.address = systemBusAddress(opts.busAddress);
  }

  /** Why vpmd itself may not call Reboot() on the host's own bus, or undefined. */
  private callerProblem(): string | undefined {
    if (this.opts.busAddress !== undefined) return undefined;
    const uid = this.opts.effectiveUid ? this.opts.effectiveUid() : process.geteuid?.();
    if (uid === undefined) return 'cannot tell the effective uid of vpmd on this platform';
    return uid === 0 ? undefined : notRootReason(uid);
  }

  private async call(member: string, iface: string): Promise<unknown[]> {
    return onBus(this.address, this.opts.timeoutMs, async (bus) => {
      const reply = await bus.call(new Message({ destination: NAME, path: OBJECT, interface: iface, member }));
      return reply === null ? [] : (reply.body as unknown[]);
    });
  }

  /**
   * Whether the manager is reachable here and declares Reboot(), and (on the host's own system
   * bus) vpmd runs as root, checked first without any bus traffic; never throws.
   */
  async probe(): Promise<SystemdAnswer> {
    const refused = this.callerProblem();
    if (refused !== undefined) return { reboot: false, why: refused };
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
