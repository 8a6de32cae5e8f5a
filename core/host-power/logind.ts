/**
 * systemd-logind (org.freedesktop.login1) through the bounded bus: the long-lived session that
 * libvirt-caps holds (Can* questions, sleep verbs with the *WithFlags fallback, Inhibit with fd
 * passing, PrepareForSleep), and the one-shot power-off and reboot exchanges.
 */
import { closeSync } from 'node:fs';
import type dbus from 'dbus-next';
import { VpmdError } from '../errors.js';
import type { LogindAnswer, SleepTarget } from '../contracts/host-sleep.js';
import type { InhibitorLock, SleepCallForm } from '../contracts/host-power.js';
import { BoundedBus, UNKNOWN_METHOD } from './bounded-bus.js';

/** logind's well-known bus name. */
export const LOGIND_NAME = 'org.freedesktop.login1';
/** The manager object. */
export const LOGIND_OBJECT = '/org/freedesktop/login1';
/** The manager interface. */
export const LOGIND_MANAGER = 'org.freedesktop.login1.Manager';

/** logind's sleep verbs, each with a `(b interactive)` and a `(t flags)` WithFlags form. */
export type LogindVerb = 'Suspend' | 'Hibernate' | 'HybridSleep' | 'SuspendThenHibernate';

/** The logind verb of each sleep target. */
export const LOGIND_VERB_OF: Readonly<Record<SleepTarget, LogindVerb>> = {
  mem: 'Suspend',
  disk: 'Hibernate',
  hybrid: 'HybridSleep',
  'suspend-then-hibernate': 'SuspendThenHibernate',
};

const verbMethods = Object.values(LOGIND_VERB_OF)
  .map(
    (v) => `
    <method name="${v}"><arg name="interactive" type="b" direction="in"/></method>
    <method name="${v}WithFlags"><arg name="flags" type="t" direction="in"/></method>
    <method name="Can${v}"><arg name="result" type="s" direction="out"/></method>`,
  )
  .join('');

/**
 * Introspection XML of the manager, limited to what vpmd calls or listens to. Static, not
 * introspected: a proxy built from live introspection can miss signals, and every input
 * argument needs `direction="in"` or dbus-next treats it as an output.
 */
export const LOGIND_INTROSPECTION = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="${LOGIND_MANAGER}">${verbMethods}
    <method name="PowerOff"><arg name="interactive" type="b" direction="in"/></method>
    <method name="Reboot"><arg name="interactive" type="b" direction="in"/></method>
    <method name="CanPowerOff"><arg name="result" type="s" direction="out"/></method>
    <method name="CanReboot"><arg name="result" type="s" direction="out"/></method>
    <method name="Inhibit">
      <arg name="what" type="s" direction="in"/>
      <arg name="who" type="s" direction="in"/>
      <arg name="why" type="s" direction="in"/>
      <arg name="mode" type="s" direction="in"/>
      <arg name="fd" type="h" direction="out"/>
    </method>
    <signal name="PrepareForSleep"><arg name="start" type="b"/></signal>
  </interface>
</node>`;

/** The methods of the proxy interface built from {@link LOGIND_INTROSPECTION}. */
type ManagerProxy = dbus.ClientInterface & Record<string, (...args: unknown[]) => Promise<unknown>>;

type Answer = Exclude<LogindAnswer, 'unavailable'>;

/** A logind manager on one bounded connection. */
export class LogindManager {
  private readonly prepareListeners = new Set<(start: boolean) => void>();

  private constructor(
    private readonly conn: BoundedBus,
    private readonly manager: ManagerProxy,
  ) {
    manager.on('PrepareForSleep', (start: unknown) => {
      for (const fn of [...this.prepareListeners]) fn(start === true);
    });
  }

  /**
   * Connects and builds the manager proxy within the timeout; `fds` for Inhibit.
   * @throws VpmdError E_HOST_POWER_UNAVAILABLE (no bus, no logind), E_HOST_POWER_TIMEOUT
   */
  static async connect(address: string, timeoutMs: number, fds: boolean): Promise<LogindManager> {
    const conn = BoundedBus.open('logind', address, timeoutMs, fds);
    try {
      const obj = await conn.bound(
        'connect',
        conn.bus.getProxyObject(LOGIND_NAME, LOGIND_OBJECT, LOGIND_INTROSPECTION),
      );
      return new LogindManager(conn, obj.getInterface(LOGIND_MANAGER) as ManagerProxy);
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  /** The bus address. */
  get address(): string {
    return this.conn.address;
  }

  /** False once the connection failed or was closed. */
  get usable(): boolean {
    return this.conn.usable;
  }

  /** A Can* answer ("na", "yes", "no", "challenge") of `Can<what>`. */
  async can(what: string): Promise<Answer> {
    const answer = await this.call(`Can${what}`);
    if (answer === 'yes' || answer === 'no' || answer === 'challenge' || answer === 'na') return answer;
    throw new VpmdError(
      'E_HOST_POWER_FAILED',
      `logind Can${what} on ${this.address}: unexpected answer ${JSON.stringify(answer)} (expected na, yes, no or challenge)`,
      { peer: 'logind', call: `Can${what}` },
    );
  }

  /** Calls `<verb>WithFlags(flags)`; on an older logind without it (UnknownMethod), `<verb>(false)`. */
  async sleep(verb: LogindVerb, flags: bigint): Promise<SleepCallForm> {
    try {
      await this.call(`${verb}WithFlags`, flags);
      return 'WithFlags';
    } catch (e) {
      if (!(e instanceof VpmdError) || e.details.dbusError !== UNKNOWN_METHOD) throw e;
    }
    await this.call(verb, false);
    return 'plain';
  }

  /** `PowerOff(false)` or `Reboot(false)`: orderly, logind starts poweroff.target or reboot.target. */
  async act(method: 'PowerOff' | 'Reboot'): Promise<void> {
    await this.call(method, false);
  }

  /**
   * Takes an inhibitor lock. The returned fd holds it; logind waits at most InhibitDelayMaxSec
   * (5 s by default) for a delay lock to be released before sleeping.
   */
  async inhibit(what: string, who: string, why: string, mode: 'block' | 'delay'): Promise<InhibitorLock> {
    const fd = await this.call('Inhibit', what, who, why, mode);
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
      throw new VpmdError(
        'E_HOST_POWER_FAILED',
        `logind Inhibit on ${this.address}: no file descriptor received (got ${String(fd)}); is usocket built?`,
        { peer: 'logind', call: 'Inhibit' },
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
    this.prepareListeners.clear();
    this.manager.removeAllListeners();
    this.conn.close();
  }

  private call(member: string, ...args: unknown[]): Promise<unknown> {
    const method = this.manager[member];
    if (method === undefined)
      throw new VpmdError('E_INTERNAL', `logind ${member}: not in the static introspection data`);
    return this.conn.bound(member, method.apply(this.manager, args) as Promise<unknown>);
  }
}
