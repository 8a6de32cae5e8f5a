/**
 * The one bounded D-Bus client of vpmd's host power: every dbus-next exchange (connecting,
 * building a proxy, calling a method) goes through {@link BoundedBus.bound}, which races it with
 * the timeout and with a failure of the connection, and maps whatever went wrong to a coded
 * VpmdError. dbus-next has no call timeout of its own: a missing or frozen logind or systemd
 * would otherwise hang the agent.
 */
import dbus, { Message, type MessageBus } from 'dbus-next';
import { VpmdError, type ErrorCode } from '../errors.js';

/** The system bus socket when DBUS_SYSTEM_BUS_ADDRESS is unset (as dbus-next and libdbus). */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

/** The configured address, else DBUS_SYSTEM_BUS_ADDRESS, else the system bus socket. */
export function systemBusAddress(configured: string | undefined): string {
  return configured ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
}

/** The service a connection talks to: names the errors (`logind CanSuspend on ...`); `bus`: the bus daemon. */
export type BusPeer = 'logind' | 'systemd' | 'bus';

/** Errors that mean "nobody (usable) is there". */
const UNAVAILABLE = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Disconnected',
]);
/** Errors that mean "there, but it will not let vpmd". */
const REFUSED = new Set([
  'org.freedesktop.DBus.Error.AccessDenied',
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
  'org.freedesktop.login1.OperationInProgress',
  'org.freedesktop.login1.SleepVerbNotSupported',
]);
/** The D-Bus error of a method the peer does not have. */
export const UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod';

const SOCKET_ERRNO: Readonly<Record<string, string>> = {
  ENOENT: ': no socket at that path',
  ECONNREFUSED: ': nothing listens on it',
  EACCES: ': permission denied',
  EPERM: ': permission denied',
};

/** Hints an operator can act on, by `peer member failure` (`*` any member; `timeout`: no answer). */
const HINTS: Readonly<Record<string, string>> = {
  'systemd Manager.Reboot org.freedesktop.DBus.Error.AccessDenied':
    'the system bus and systemd take Reboot() only from root; CAP_SYS_BOOT alone is not enough',
  'systemd Manager.PowerOff org.freedesktop.DBus.Error.AccessDenied':
    'the system bus and systemd take PowerOff() only from root; CAP_SYS_BOOT alone is not enough',
  'systemd Manager.Reboot org.freedesktop.DBus.Error.UnknownMethod': 'this systemd has no Manager.Reboot()',
  'systemd Manager.PowerOff org.freedesktop.DBus.Error.UnknownMethod': 'this systemd has no Manager.PowerOff()',
  // A call that timed out may have been accepted all the same: say so rather than guess.
  'systemd Manager.Reboot timeout': 'the reboot may still happen',
  'systemd Manager.PowerOff timeout': 'the power-off may still happen',
  'logind PowerOff timeout': 'the power-off may still happen',
  'logind Reboot timeout': 'the reboot may still happen',
  'systemd * org.freedesktop.DBus.Error.ServiceUnknown': 'nothing owns org.freedesktop.systemd1 on this bus',
  'logind * org.freedesktop.DBus.Error.ServiceUnknown': 'nothing owns org.freedesktop.login1 on this bus',
  'logind * org.freedesktop.DBus.Error.AccessDenied': 'refused by polkit or the bus policy',
  'logind * org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': 'polkit wants interactive authorization',
};

function hintFor(peer: BusPeer, member: string, failure: string): string {
  const hint = HINTS[`${peer} ${member} ${failure}`] ?? HINTS[`${peer} * ${failure}`];
  return hint === undefined ? '' : ` (${hint})`;
}

/**
 * Maps a failure of `member` on `peer` to a coded error:
 * `<peer> <member> on <address>: <D-Bus error>: <text> (<hint>)`.
 */
export function busError(peer: BusPeer, member: string, address: string, e: unknown): VpmdError {
  if (e instanceof VpmdError) return e;
  const head = `${peer} ${member} on ${address}`;
  const name = e instanceof dbus.DBusError ? e.type : undefined;
  const raw = e instanceof Error ? e.message : String(e);
  // usocket reports errno plus its source line ("ENOENT, USocket socket '../src/uwrap.cc:525'").
  const errno =
    name === undefined ? /\b(ENOENT|ECONNREFUSED|EACCES|EPERM|ECONNRESET|EPIPE)\b/.exec(raw)?.[1] : undefined;
  const text =
    errno === undefined
      ? `${name === undefined ? '' : `${name}: `}${raw}`
      : `cannot connect to the bus socket (${errno}${SOCKET_ERRNO[errno] ?? ''})`;
  const code: ErrorCode =
    name === undefined || UNAVAILABLE.has(name)
      ? 'E_HOST_POWER_UNAVAILABLE'
      : REFUSED.has(name)
        ? 'E_HOST_POWER_REFUSED'
        : 'E_HOST_POWER_FAILED';
  return new VpmdError(code, `${head}: ${text}${hintFor(peer, member, name ?? '')}`, {
    peer,
    call: member,
    bus: address,
    ...(name === undefined ? {} : { dbusError: name }),
  });
}

/** A method call on a well-known name, without a proxy (arguments with their D-Bus signature). */
export interface BusCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
}

/**
 * One dbus-next connection, every exchange on it bounded. A failure of the connection (socket
 * gone, dbus-daemon stopped) fails the exchanges in flight at once and marks it unusable.
 */
export class BoundedBus {
  private broken = false;
  private closed = false;
  private readonly failed: Promise<never>;

  private constructor(
    /** The dbus-next connection (for proxies and signals). */
    readonly bus: MessageBus,
    readonly peer: BusPeer,
    readonly address: string,
    readonly timeoutMs: number,
  ) {
    this.failed = new Promise<never>((_ok, ko) => {
      bus.on('error', (e: unknown) => {
        this.broken = true;
        ko(e instanceof Error ? e : new Error(String(e)));
      });
    });
    this.failed.catch(() => undefined);
  }

  /**
   * Opens a connection (dbus-next connects lazily: the first exchange shows whether it works).
   * `fds`: negotiate Unix fd passing (Inhibit's `h`; needs the native usocket module).
   */
  static open(peer: BusPeer, address: string, timeoutMs: number, fds = false): BoundedBus {
    // dbus-next's systemBus() ignores a busAddress option; sessionBus() is the same client with
    // the address resolved here. negotiateUnixFd works at run time but is missing from the typings.
    const options: dbus.SessionBusOptions & { negotiateUnixFd: boolean } = {
      busAddress: address,
      negotiateUnixFd: fds,
    };
    return new BoundedBus(dbus.sessionBus(options), peer, address, timeoutMs);
  }

  /** Opens a connection, runs `exchange` on it and closes it. */
  static async once<T>(
    peer: BusPeer,
    address: string,
    timeoutMs: number,
    exchange: (b: BoundedBus) => Promise<T>,
  ): Promise<T> {
    const b = BoundedBus.open(peer, address, timeoutMs);
    try {
      return await exchange(b);
    } finally {
      b.close();
    }
  }

  /** False once the connection failed or was closed. */
  get usable(): boolean {
    return !this.closed && !this.broken;
  }

  /**
   * Runs `work` within the timeout, failing at once when the connection fails.
   * @throws VpmdError E_HOST_POWER_TIMEOUT (with `timeoutMs`), or the mapped failure
   */
  async bound<T>(member: string, work: Promise<T>): Promise<T> {
    if (this.closed) {
      work.catch(() => undefined);
      throw new VpmdError('E_HOST_POWER_UNAVAILABLE', `${this.peer} ${member}: the connection is closed`, {
        peer: this.peer,
        call: member,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_ok, ko) => {
      timer = setTimeout(() => {
        const message = `${this.peer} ${member} on ${this.address}: no answer within ${this.timeoutMs} ms`;
        ko(
          new VpmdError('E_HOST_POWER_TIMEOUT', `${message}${hintFor(this.peer, member, 'timeout')}`, {
            peer: this.peer,
            call: member,
            bus: this.address,
            timeoutMs: this.timeoutMs,
          }),
        );
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([work, this.failed, timeout]);
    } catch (e) {
      throw busError(this.peer, member, this.address, e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A bounded method call; resolves with the reply's body. */
  call(member: string, c: BusCall): Promise<unknown[]> {
    const message = new Message({
      destination: c.destination,
      path: c.path,
      interface: c.interface,
      member: c.member,
      ...(c.signature !== undefined ? { signature: c.signature, body: [...(c.body ?? [])] } : {}),
    });
    return this.bound(
      member,
      this.bus.call(message).then((reply) => (reply === null ? [] : (reply.body as unknown[]))),
    );
  }

  /** Disconnects (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.disconnect();
  }
}
