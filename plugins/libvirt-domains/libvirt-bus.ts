/**
 * The plugin's link to libvirt-dbus (`org.libvirt` on the core's `libvirt.bus`, connection
 * object `/org/libvirt/<driver>`): one connection, every call bounded (dbus-next has no
 * timeout of its own), and libvirt's DomainEvent and Tunable signals handed to a listener.
 */
import { Message, MessageType, sessionBus, systemBus, type MessageBus } from 'dbus-next';
import { VpmdError, type CoreSettings } from 'vpmd';

const DEST = 'org.libvirt';
/** libvirt-dbus's connection interface. */
export const CONNECT = 'org.libvirt.Connect';
/** libvirt-dbus's domain interface. */
export const DOMAIN = 'org.libvirt.Domain';
const CALL_TIMEOUT_MS = 3_000;

/** A libvirt signal: a domain's lifecycle event or a tunable (pinning) change. */
export type LibvirtSignal =
  | { readonly kind: 'event'; readonly path: string; readonly event: number; readonly detail: number }
  | { readonly kind: 'tunable'; readonly path: string };

/** A bounded libvirt-dbus client. */
export class LibvirtBus {
  readonly connectPath: string;
  /** Calls made so far (the cost a steady `list()` is measured by). */
  calls = 0;
  /** True while the signal subscription holds (a new connection has none until {@link subscribe}). */
  subscribed = false;
  private bus: MessageBus | undefined;
  private connecting: Promise<MessageBus> | undefined;

  constructor(
    private readonly settings: CoreSettings['libvirt'],
    private readonly onSignal: (s: LibvirtSignal) => void,
  ) {
    this.connectPath = `/org/libvirt/${settings.driver}`;
  }

  private connection(): Promise<MessageBus> {
    this.connecting ??= new Promise<MessageBus>((resolve, reject) => {
      const bus = this.settings.bus === 'system' ? systemBus() : sessionBus();
      const fail = (why: string): void => {
        this.connecting = undefined;
        this.subscribed = false;
        this.bus = undefined;
        bus.disconnect();
        reject(
          new VpmdError(
            'E_LIBVIRT_DOMAINS_UNREACHABLE',
            `libvirt-dbus (${this.settings.bus} bus) is unreachable: ${why}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`no connection within ${CALL_TIMEOUT_MS} ms`), CALL_TIMEOUT_MS);
      bus.on('error', (e: unknown) => {
        clearTimeout(timer);
        fail(e instanceof Error ? e.message : String(e));
      });
      bus.on('connect', () => {
        clearTimeout(timer);
        this.bus = bus;
        resolve(bus);
      });
      bus.on('message', (msg: Message) => {
        if (msg.type !== MessageType.SIGNAL) return;
        const body = msg.body as unknown[];
        if (msg.interface === CONNECT && msg.member === 'DomainEvent')
          this.onSignal({
            kind: 'event',
            path: String(body[0]),
            event: Number(body[1]),
            detail: Number(body[2]),
          });
        else if (msg.interface === DOMAIN && msg.member === 'Tunable')
          this.onSignal({ kind: 'tunable', path: msg.path });
      });
    });
    return this.connecting;
  }

  /** Subscribes to libvirt's domain signals. */
  async subscribe(): Promise<void> {
    for (const rule of [
      `type='signal',interface='${CONNECT}',member='DomainEvent'`,
      `type='signal',interface='${DOMAIN}',member='Tunable'`,
    ])
      await this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [rule]);
    this.subscribed = true;
  }

  /** One call to libvirt-dbus (or to the bus itself), bounded by {@link CALL_TIMEOUT_MS}. */
  async call(
    destination: string,
    path: string,
    iface: string,
    member: string,
    signature: string,
    body: unknown[],
  ): Promise<unknown[]> {
    this.calls++;
    const bus = await this.connection();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () =>
          rej(
            new VpmdError(
              'E_LIBVIRT_DOMAINS_UNREACHABLE',
              `libvirt-dbus: ${iface}.${member} did not answer within ${CALL_TIMEOUT_MS} ms`,
            ),
          ),
        CALL_TIMEOUT_MS,
      );
    });
    try {
      const reply = await Promise.race([
        bus.call(new Message({ destination, path, interface: iface, member, signature, body })),
        timeout,
      ]);
      return reply === null ? [] : (reply.body as unknown[]);
    } catch (e) {
      if (e instanceof VpmdError) throw e;
      const text = e instanceof Error ? e.message : String(e);
      throw new VpmdError(
        'E_LIBVIRT_DOMAINS_CALL',
        `libvirt-dbus refused ${iface}.${member}: ${text}`,
        {},
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** A libvirt-dbus call on `path` (a domain object or the connection). */
  libvirt(path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.call(DEST, path, iface, member, signature, body);
  }

  /** Closes the connection. */
  close(): void {
    this.bus?.disconnect();
    this.bus = undefined;
    this.connecting = undefined;
    this.subscribed = false;
  }
}
