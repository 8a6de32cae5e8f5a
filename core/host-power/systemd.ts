/**
 * Forced power-off and reboot through the systemd manager: `Manager.PowerOff()` and
 * `Manager.Reboot()` on /org/freedesktop/systemd1, what `systemctl poweroff --force` and
 * `systemctl reboot --force` call. Services are not stopped in order; systemd kills every
 * process, syncs and unmounts the file systems, then powers off or reboots. logind has no such
 * calls (its PowerOff and Reboot are the orderly ones).
 *
 * Who may call them on the host's system bus: root only. systemd's bus policy
 * (org.freedesktop.systemd1.conf) lets only user root send them. The manager's own check
 * (SD_BUS_VTABLE_CAPABILITY(CAP_SYS_BOOT)) cannot see a caller's capabilities over
 * dbus-daemon or dbus-broker, so sd-bus falls back to comparing the caller's uid with its own
 * (0). CAP_SYS_BOOT is thus neither needed by root nor enough for another user.
 */
import { BoundedBus, busError } from './bounded-bus.js';

const NAME = 'org.freedesktop.systemd1';
const OBJECT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';

/** The manager's forced actions. */
export type SystemdAction = 'Reboot' | 'PowerOff';

/** Whether the manager can be asked for `action`, or why not. */
export type SystemdAnswer = { readonly offered: true } | { readonly offered: false; readonly why: string };

/** Regex source for ` name="value"` (either quote) inside a start tag. */
const attrPattern = (name: string, value: string): string =>
  `\\s${name}\\s*=\\s*["']${value.replace(/\./g, '\\.')}["']`;

/**
 * True when the introspection XML of the manager object declares `method` on the manager
 * interface without input arguments. Introspection XML is flat and machine-written (interfaces
 * are not nested), so a scan of the one interface element is enough; no XML library needed.
 */
export function declaresMethod(xml: string, method: SystemdAction): boolean {
  const iface = new RegExp(`<interface${attrPattern('name', MANAGER)}\\s*>([\\s\\S]*?)</interface>`).exec(xml)?.[1];
  if (iface === undefined) return false;
  const found = new RegExp(`<method${attrPattern('name', method)}\\s*(/>|>([\\s\\S]*?)</method>)`).exec(iface);
  if (!found) return false;
  // An <arg> of a method is an input unless it says direction="out".
  const args = found[2]?.match(/<arg\b[^>]*>/g) ?? [];
  return args.every((a) => /\sdirection\s*=\s*["']out["']/.test(a));
}

/** Options of {@link SystemdManager}. */
export interface SystemdManagerOptions {
  /** The bus address. */
  readonly address: string;
  /**
   * True when the address is the host's own system bus (not configured): that bus takes the
   * forced actions only from root, so the probe checks vpmd's effective uid first. With a
   * configured address the manager may be elsewhere (a test bus, a container's bus, a proxy)
   * with a policy vpmd cannot see from here, so only the call itself tells.
   */
  readonly hostBus: boolean;
  /** Bound of each exchange. */
  readonly timeoutMs: number;
  /** vpmd's effective uid (default process.geteuid; injectable for tests). */
  readonly effectiveUid?: () => number | undefined;
}

/** Why a forced action is not offered on the host's own bus to a vpmd running as `uid`. */
export function notRootReason(uid: number, action: SystemdAction = 'Reboot'): string {
  return `vpmd runs as uid ${uid}, not root, and the system bus takes the systemd manager's ${action}() only from root (its D-Bus policy refuses other users, even with CAP_SYS_BOOT): run vpmd as root`;
}

/** The systemd manager's forced power-off and reboot. */
export class SystemdManager {
  constructor(private readonly opts: SystemdManagerOptions) {}

  /** The bus address. */
  get address(): string {
    return this.opts.address;
  }

  /** Why vpmd itself may not call the forced actions on the host's own bus, or undefined. */
  private callerProblem(action: SystemdAction): string | undefined {
    if (!this.opts.hostBus) return undefined;
    const uid = this.opts.effectiveUid ? this.opts.effectiveUid() : process.geteuid?.();
    if (uid === undefined) return 'cannot tell the effective uid of vpmd on this platform';
    return uid === 0 ? undefined : notRootReason(uid, action);
  }

  /**
   * Whether the manager is reachable and declares each action, and (on the host's own system
   * bus) vpmd runs as root, checked first without any bus traffic. One introspection answers
   * both; never throws.
   */
  async probe(): Promise<Record<SystemdAction, SystemdAnswer>> {
    const rootProblem = this.callerProblem('Reboot');
    if (rootProblem !== undefined)
      return {
        Reboot: { offered: false, why: rootProblem },
        PowerOff: { offered: false, why: this.callerProblem('PowerOff') ?? rootProblem },
      };
    let xml: unknown;
    try {
      [xml] = await BoundedBus.once('systemd', this.address, this.opts.timeoutMs, (b) =>
        b.call('Introspect', { destination: NAME, path: OBJECT, interface: INTROSPECTABLE, member: 'Introspect' }),
      );
    } catch (e) {
      const why = `systemd manager unavailable: ${busError('systemd', 'Introspect', this.address, e).message}`;
      return { Reboot: { offered: false, why }, PowerOff: { offered: false, why } };
    }
    const answer = (action: SystemdAction): SystemdAnswer =>
      typeof xml === 'string' && declaresMethod(xml, action)
        ? { offered: true }
        : { offered: false, why: `the systemd manager on ${this.address} has no ${MANAGER}.${action}()` };
    return { Reboot: answer('Reboot'), PowerOff: answer('PowerOff') };
  }

  /**
   * Asks systemd for an immediate power-off or reboot without an orderly stop of services. It
   * returns once systemd has accepted the request; the machine goes down right after.
   * @throws VpmdError E_HOST_POWER_REFUSED (e.g. AccessDenied), E_HOST_POWER_FAILED (unknown
   *   method), E_HOST_POWER_TIMEOUT (then it may still happen), E_HOST_POWER_UNAVAILABLE
   */
  async force(action: SystemdAction): Promise<void> {
    await BoundedBus.once('systemd', this.address, this.opts.timeoutMs, (b) =>
      b.call(`Manager.${action}`, { destination: NAME, path: OBJECT, interface: MANAGER, member: action }),
    );
  }
}
