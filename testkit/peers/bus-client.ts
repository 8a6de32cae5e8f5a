/**
 * A small D-Bus client for peers on a private bus, built on dbus-next's message API (no
 * introspection, so no proxy that misses signals). Every call is bounded: dbus-next itself
 * never times out, and a frozen peer would otherwise hang a test until vitest kills it.
 * 64-bit integers arrive as BigInt; variants are unwrapped by {@link plainValue}.
 */
import { Message, MessageType, Variant, sessionBus, type MessageBus } from 'dbus-next';
import { describe, peerFailedError } from './peer-errors.js';
import { withTimeout } from './wait.js';

/** Default bound for one D-Bus call. */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

const DBUS_NAME = 'org.freedesktop.DBus';
const DBUS_PATH = '/org/freedesktop/DBus';
const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties';

/** One method call. */
export interface BusCallSpec {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  /** D-Bus signature of `body`, e.g. "u" or "sssav"; omit for no arguments. */
  readonly signature?: string;
  readonly body?: readonly unknown[];
  /** Defaults to {@link DEFAULT_CALL_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/** Which signals {@link BusClient.subscribe} delivers. */
export interface SignalMatch {
  readonly interface: string;
  readonly member: string;
  readonly path?: string;
}

/** A received signal, with its body as dbus-next decoded it. */
export interface ReceivedSignal {
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly sender: string;
  readonly body: readonly unknown[];
}

/** True for dbus-next's error replies (org.freedesktop.DBus.Error.*, org.libvirt.Error ...). */
function isDbusError(e: unknown): e is Error & { type: string; text: string } {
  return e instanceof Error && typeof (e as { type?: unknown }).type === 'string';
}

/**
 * Recursively replaces dbus-next Variants by their values (arrays and plain objects too).
 * BigInt values are kept: convert with Number() where the range allows.
 */
export function plainValue(value: unknown): unknown {
  if (value instanceof Variant) return plainValue(value.value);
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}

/** A connection to one bus; close it when done. */
export class BusClient {
  readonly address: string;
  private readonly bus: MessageBus;
  private closed = false;
  private lastError: unknown;

  private constructor(address: string, bus: MessageBus) {
    this.address = address;
    this.bus = bus;
    // dbus-next emits 'error' on a broken connection; unhandled, that would crash the test process.
    bus.on('error', (err: unknown) => {
      this.lastError = err;
    });
  }

  /**
   * Connects and completes the Hello handshake.
   * @throws VpmdError (timeout) or (peer failed) when the bus does not answer
   */
  static async connect(address: string, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<BusClient> {
    const bus = sessionBus({ busAddress: address });
    const client = new BusClient(address, bus);
    const ready = new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', (err: unknown) =>
        reject(peerFailedError('dbus', `cannot connect to ${address}: ${describe(err)}`, { address }, '', err)),
      );
    });
    try {
      await withTimeout('dbus', `connect to ${address}`, timeoutMs, ready);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * Calls a method and returns the reply body.
   * @throws VpmdError (timeout) after `timeoutMs`; (peer failed) for an error reply, with the
   *   D-Bus error name in `details.dbusError`
   */
  async call(spec: BusCallSpec): Promise<unknown[]> {
    const what = `call ${spec.interface}.${spec.member} on ${spec.destination} ${spec.path}`;
    if (this.closed) throw peerFailedError('dbus', `${what}: client is closed`, { address: this.address });
    const message = new Message({
      destination: spec.destination,
      path: spec.path,
      interface: spec.interface,
      member: spec.member,
      ...(spec.signature === undefined ? {} : { signature: spec.signature, body: [...(spec.body ?? [])] }),
    });
    try {
      const reply = await withTimeout('dbus', what, spec.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, this.bus.call(message));
      return reply === null ? [] : (reply.body as unknown[]);
    } catch (e) {
      if (isDbusError(e)) {
        throw peerFailedError(
          'dbus',
          `${what} failed: ${e.type}: ${e.text}`,
          { dbusError: e.type, destination: spec.destination },
          '',
          e,
        );
      }
      if (this.lastError !== undefined) {
        throw peerFailedError(
          'dbus',
          `${what}: connection failed: ${describe(this.lastError)}`,
          { address: this.address },
          '',
          e,
        );
      }
      throw e;
    }
  }

  /** Whether some connection owns `name` on this bus. */
  async nameHasOwner(name: string, timeoutMs?: number): Promise<boolean> {
    const [owned] = await this.call({
      destination: DBUS_NAME,
      path: DBUS_PATH,
      interface: DBUS_NAME,
      member: 'NameHasOwner',
      signature: 's',
      body: [name],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return owned === true;
  }

  /** Reads one property (org.freedesktop.DBus.Properties.Get), variant unwrapped. */
  async getProperty(
    destination: string,
    path: string,
    iface: string,
    name: string,
    timeoutMs?: number,
  ): Promise<unknown> {
    const [value] = await this.call({
      destination,
      path,
      interface: PROPERTIES_IFACE,
      member: 'Get',
      signature: 'ss',
      body: [iface, name],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return plainValue(value);
  }

  /**
   * Delivers matching signals to `listener` from now on (after the returned promise resolves).
   * @returns a function that removes the subscription
   */
  async subscribe(match: SignalMatch, listener: (signal: ReceivedSignal) => void): Promise<() => Promise<void>> {
    const rule = [`type='signal'`, `interface='${match.interface}'`, `member='${match.member}'`];
    if (match.path !== undefined) rule.push(`path='${match.path}'`);
    const ruleText = rule.join(',');
    const onMessage = (msg: Message): void => {
      if (msg.type !== MessageType.SIGNAL || msg.interface !== match.interface || msg.member !== match.member) return;
      if (match.path !== undefined && msg.path !== match.path) return;
      listener({
        path: msg.path,
        interface: msg.interface,
        member: msg.member,
        sender: msg.sender,
        body: msg.body as unknown[],
      });
    };
    this.bus.on('message', onMessage);
    try {
      await this.callBus('AddMatch', ruleText);
    } catch (e) {
      this.bus.removeListener('message', onMessage);
      throw e;
    }
    return async () => {
      this.bus.removeListener('message', onMessage);
      if (!this.closed) await this.callBus('RemoveMatch', ruleText);
    };
  }

  /** Disconnects; later calls fail at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.disconnect();
  }

  private async callBus(member: string, arg: string): Promise<void> {
    await this.call({
      destination: DBUS_NAME,
      path: DBUS_PATH,
      interface: DBUS_NAME,
      member,
      signature: 's',
      body: [arg],
    });
  }
}
