/**
 * One bounded exchange with a system service over D-Bus, on a connection of its own that is
 * closed afterwards. dbus-next has no call timeout of its own: a missing or frozen service would
 * hang the request, so every exchange races a timer and costs at most one bound.
 */
import dbus, { type MessageBus } from 'dbus-next';

/** The default system bus when DBUS_SYSTEM_BUS_ADDRESS is unset. */
const SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

/** The configured address, else DBUS_SYSTEM_BUS_ADDRESS, else the system bus. */
export function systemBusAddress(configured: string | undefined): string {
  return configured ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? SYSTEM_BUS;
}

/** Why an exchange failed. */
export class BusExchangeError extends Error {
  constructor(
    message: string,
    /** The D-Bus error name when the service (or the bus) answered with one. */
    readonly dbusError: string | undefined,
    /** True when nothing answered within the bound. */
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'BusExchangeError';
  }

  /** `Name: text`, or the text alone when no D-Bus error name came back. */
  describe(): string {
    return this.dbusError ? `${this.dbusError}: ${this.message}` : this.message;
  }
}

/**
 * Connects to `address`, runs `exchange` and disconnects; fails after `timeoutMs`.
 * @throws BusExchangeError for an error reply, a broken connection or the timeout
 */
export async function onBus<T>(
  address: string,
  timeoutMs: number,
  exchange: (bus: MessageBus) => Promise<T>,
): Promise<T> {
  const bus = dbus.sessionBus({ busAddress: address });
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_ok, ko) => {
    bus.on('error', (e: Error) => ko(e));
    timer = setTimeout(() => ko(new BusExchangeError(`no answer within ${timeoutMs} ms`, undefined, true)), timeoutMs);
  });
  failed.catch(() => undefined);
  try {
    return await Promise.race([exchange(bus), failed]);
  } catch (e) {
    if (e instanceof BusExchangeError) throw e;
    const name = e instanceof dbus.DBusError ? e.type : undefined;
    throw new BusExchangeError(e instanceof Error ? e.message : String(e), name, false);
  } finally {
    clearTimeout(timer);
    bus.disconnect();
  }
}
