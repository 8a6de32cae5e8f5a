/**
 * A bounded client for systemd-logind over dbus-next. Every call has a timeout (dbus-next has
 * none: a frozen logind would otherwise hang the agent), errors become coded VpmdErrors, the
 * *WithFlags methods fall back to the plain ones on an older logind, and Inhibit's file
 * descriptor arrives through fd passing (`negotiateUnixFd`, native `usocket`).
 */
import { closeSync } from 'node:fs';
import dbus from 'dbus-next';
import { VpmdError, type LogindAnswer } from 'vpmd';
import {
  LOGIND_INTROSPECTION,
  LOGIND_MANAGER,
  LOGIND_NAME,
  LOGIND_OBJECT,
  type LogindVerb,
} from './logind-interface.js';

/** The default system bus when DBUS_SYSTEM_BUS_ADDRESS is unset (as dbus-next and libdbus). */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

/** How a sleep verb was called. */
export type SleepCallForm = 'WithFlags' | 'plain';

/** An inhibitor lock: held while its file descriptor is open. */
export interface InhibitorLock {
  readonly fd: number;
  readonly mode: 'block' | 'delay';
  /** Closes the fd (idempotent): logind then releases the lock. */
  release(): void;
}

/** Options of {@link LogindClient.connect}. */
export interface LogindClientOptions {
  /** Bus address; default DBUS_SYSTEM_BUS_ADDRESS, else the system bus socket. */
  readonly busAddress?: string;
  /** Bound of every call, connection included. */
  readonly timeoutMs: number;
}

const UNAVAILABLE_ERRORS = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Disconnected',
]);
const REFUSED_ERRORS = new Set([
  'org.freedesktop.DBus.Error.AccessDenied',
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
  'org.freedesktop.login1.OperationInProgress',
  'org.freedesktop.login1.SleepVerbNotSupported',
]);
const UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod';

const SOCKET_ERRNO: Readonly<Record<string, string>> = {
  ENOENT: ': no socket at that path',
  ECONNREFUSED: ': nothing listens on it',
  EACCES: ': permission denied',
  EPERM: ': permission denied',
};

/** The D-Bus error name of `e`, when it is a DBusError. */
function dbusErrorName(e: unknown): string | undefined {
  return e instanceof dbus.DBusError ? e.type : undefined;
}

/** Maps a failure of `what` into the plugin's coded errors. */
function mapError(what: string, address: string, e: unknown): VpmdError {
  if (e instanceof VpmdError) return e;
  const name = dbusErrorName(e);
  const raw = e instanceof Error ? e.message : String(e);
  // usocket reports errno plus its source line ("ENOENT, USocket socket '../src/uwrap.cc:525'").
  const errno = /\b(ENOENT|ECONNREFUSED|EACCES|EPERM|ECONNRESET|EPIPE)\b/.exec(raw)?.[1];
  const text = errno === undefined ? raw : `cannot connect to the bus socket (${errno}${SOCKET_ERRNO[errno] ?? ''})`;
  if (name === undefined || UNAVAILABLE_ERRORS.has(name)) {
    return new VpmdError(
      'E_LIBVIRT_CAPS_LOGIND_UNAVAILABLE',
      `logind ${what}: systemd-logind is not available on ${address}: ${text}`,
      {
        call: what,
        bus: address,
        ...(name === undefined ? {} : { dbusError: name }),
      },
    );
  }
  if (REFUSED_ERRORS.has(name)) {
    return new VpmdError(
      'E_LIBVIRT_CAPS_LOGIND_REFUSED',
      `logind ${what}: refused by systemd-logind (${name}): ${text}`,
      { call: what, dbusError: name },
    );
  }
  return new VpmdError('E_LIBVIRT_CAPS_LOGIND_FAILED', `logind ${what}: ${name}: ${text}`, {
    call: what,
    dbusError: name,
  });
}

/** Runs `p` within `ms`, or fails with E_LIBVIRT_CAPS_LOGIND_TIMEOUT naming the call. */
async function bounded<T>(what: string, ms: number, address: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new VpmdError(
            'E_LIBVIRT_CAPS_LOGIND_TIMEOUT',
            `logind ${what}: no answer from systemd-logind on ${address} within ${ms} ms`,
            {
              call: what,
              bus: address,
              timeoutMs: ms,
            },
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } catch (e) {
    throw mapError(what, address, e);
  } finally {
    clearTimeout(timer);
  }
}

/** The methods of the proxy interface built from {@link LOGIND_INTROSPECTION}. */
type ManagerProxy = dbus.ClientInterface & Record<string, (...args: unknown[]) => Promise<unknown>>;

/** A connection to logind. Create with {@link LogindClient.connect}; {@link close} when done. */
export class LogindClient {
  private closed = false;
  private broken = false;
  private readonly prepareListeners = new Set<(start: boolean) => void>();

  private constructor(
    private readonly bus: dbus.MessageBus,
    private readonly manager: ManagerProxy,
    readonly address: string,
    private readonly timeoutMs: number,
  ) {
    // A dead bus (dbus-daemon gone, socket closed) only shows as 'error' events: remember it so
    // the owner reconnects instead of waiting out a timeout on every call.
    bus.on('error', () => {
      this.broken = true;
    });
    manager.on('PrepareForSleep', (start: unknown) => {
      for (const fn of [...this.prepareListeners]) fn(start === true);
    });
  }

  /**
   * Connects to the system bus and builds the manager proxy, within the timeout.
   * @throws VpmdError E_LIBVIRT_CAPS_LOGIND_UNAVAILABLE (no bus), E_LIBVIRT_CAPS_LOGIND_TIMEOUT
   */
  static async connect(opts: LogindClientOptions): Promise<LogindClient> {
    const address = opts.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
    // dbus-next's systemBus() ignores a busAddress option; sessionBus() is the same client with
    // the address we resolved (DBUS_SYSTEM_BUS_ADDRESS first, as libdbus does).
    // negotiateUnixFd is honoured by the runtime but missing from dbus-next's typings.
    const options: dbus.SessionBusOptions & { negotiateUnixFd: boolean } = {
      busAddress: address,
      negotiateUnixFd: true,
    };
    const bus = dbus.sessionBus(options);
    // A bus that fails later (socket closed) must not crash the agent: calls then fail or time out.
    const failed = new Promise<never>((_, reject) => bus.once('error', (e: Error) => reject(e)));
    bus.on('error', () => undefined);
    try {
      const obj = await bounded(
        'connect',
        opts.timeoutMs,
        address,
        Promise.race([bus.getProxyObject(LOGIND_NAME, LOGIND_OBJECT, LOGIND_INTROSPECTION), failed]),
      );
      const manager = obj.getInterface(LOGIND_MANAGER) as ManagerProxy;
      return new LogindClient(bus, manager, address, opts.timeoutMs);
    } catch (e) {
      bus.disconnect();
      throw e;
    } finally {
      failed.catch(() => undefined);
    }
  }

  /** False once the connection failed or was closed: make a new client. */
  get usable(): boolean {
    return !this.closed && !this.broken;
  }

  /** logind's Can* answer for a verb ("na", "yes", "no", "challenge"). */
  async can(verb: LogindVerb): Promise<LogindAnswer> {
    const answer = await this.call<string>(`Can${verb}`);
    if (answer === 'yes' || answer === 'no' || answer === 'challenge' || answer === 'na') return answer;
    throw new VpmdError(
      'E_LIBVIRT_CAPS_LOGIND_FAILED',
      `logind Can${verb}: unexpected answer ${JSON.stringify(answer)} (expected na, yes, no or challenge)`,
      {
        call: `Can${verb}`,
      },
    );
  }

  /**
   * Calls `<verb>WithFlags(flags)`; on an older logind without it (UnknownMethod), `<verb>(false)`.
   * @returns which form logind accepted
   */
  async sleep(verb: LogindVerb, flags = 0n): Promise<SleepCallForm> {
    try {
      await this.call(`${verb}WithFlags`, flags);
      return 'WithFlags';
    } catch (e) {
      if (!(e instanceof VpmdError) || e.details.dbusError !== UNKNOWN_METHOD) throw e;
    }
    await this.call(verb, false);
    return 'plain';
  }

  /**
   * Takes an inhibitor lock. The returned fd holds it; logind waits at most InhibitDelayMaxSec
   * (5 s by default) for a delay lock to be released before sleeping.
   */
  async inhibit(what: string, who: string, why: string, mode: 'block' | 'delay'): Promise<InhibitorLock> {
    const fd = await this.call<number>('Inhibit', what, who, why, mode);
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
      throw new VpmdError(
        'E_LIBVIRT_CAPS_LOGIND_FAILED',
        `logind Inhibit: no file descriptor received (got ${String(fd)}); is usocket built?`,
        { call: 'Inhibit' },
      );
    }
    let open = true;
    return {
      fd,
      mode,
      release: () => {
        if (!open) return;
        open = false;
        try {
          closeSync(fd);
        } catch {
          // Already closed: the lock is gone either way.
        }
      },
    };
  }

  /** Calls `fn(start)` on every PrepareForSleep; returns an unsubscribe function. */
  onPrepareForSleep(fn: (start: boolean) => void): () => void {
    this.prepareListeners.add(fn);
    return () => this.prepareListeners.delete(fn);
  }

  /** Disconnects (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.prepareListeners.clear();
    this.manager.removeAllListeners();
    this.bus.disconnect();
  }

  private call<T = unknown>(member: string, ...args: unknown[]): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new VpmdError('E_LIBVIRT_CAPS_LOGIND_UNAVAILABLE', `logind ${member}: the logind connection is closed`, {
          call: member,
        }),
      );
    const method = this.manager[member];
    if (method === undefined)
      throw new VpmdError('E_INTERNAL', `logind ${member}: not in the static introspection data`);
    return bounded(member, this.timeoutMs, this.address, method.apply(this.manager, args) as Promise<T>);
  }
}
