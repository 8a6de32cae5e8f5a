/**
 * vCPU to pCPU mapping through libvirt-dbus (`org.libvirt` on the system or session bus, the
 * driver object `/org/libvirt/<driver>` from the core's `libvirt` config): pin info of every
 * domain (a pCPU shared with a domain vpmd does not manage must not be slowed down), re-pinning
 * for `set_pcpu`, the power channel socket paths from a domain's live XML, and a change signal
 * (domain lifecycle and tunable events) so the mapping is refreshed when a domain changes.
 * Every call is bounded: dbus-next has no timeout of its own.
 */
import { Message, MessageType, sessionBus, systemBus, type MessageBus } from 'dbus-next';
import { VpmdError, type CoreSettings, type Logger } from 'vpmd';

const DEST = 'org.libvirt';
const CONNECT = 'org.libvirt.Connect';
const DOMAIN = 'org.libvirt.Domain';
const CALL_TIMEOUT_MS = 3_000;
/** virDomainModificationImpact: LIVE | CONFIG, as DPDK's set_pcpu uses. */
const AFFECT_LIVE_CONFIG = 3;
const CHANNEL_PREFIX = 'virtio.serial.port.poweragent.';
/** How long an unreachable bus is not retried. */
const DOWN_MS = 5_000;

/** Pin info of one domain: for each vCPU, the pCPUs it may run on. */
export interface DomainPins {
  readonly name: string;
  readonly active: boolean;
  readonly vcpus: readonly (readonly number[])[];
}

function pinsFromMask(masks: unknown): number[][] {
  if (!Array.isArray(masks)) return [];
  return masks.map((m) => (Array.isArray(m) ? m.flatMap((on, cpu) => (on === true ? [cpu] : [])) : []));
}

/** libvirt-dbus client for the mapping. */
export class LibvirtMapper {
  private bus: MessageBus | undefined;
  private readonly path: string;
  private lastError: string | undefined;
  private listeners: Array<() => void> = [];

  constructor(
    private readonly settings: CoreSettings['libvirt'],
    private readonly log: Logger,
  ) {
    this.path = `/org/libvirt/${settings.driver}`;
  }

  /** Why the last call failed, for health. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Calls `fn` when a domain starts, stops or changes its tunables (pinning). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private connecting: Promise<MessageBus> | undefined;
  private downUntil = 0;

  /**
   * The bus connection, established once (bounded). A failed connection is remembered for a
   * few seconds so calls fail fast instead of each waiting for a timeout.
   */
  private connection(): Promise<MessageBus> {
    if (Date.now() < this.downUntil) {
      return Promise.reject(
        new VpmdError(
          'E_VC_LIBVIRT',
          `libvirt-dbus (${this.settings.bus} bus) is unreachable: ${this.lastError ?? 'connection failed'}`,
        ),
      );
    }
    this.connecting ??= new Promise<MessageBus>((resolve, reject) => {
      const bus = this.settings.bus === 'system' ? systemBus() : sessionBus();
      const fail = (why: string): void => {
        this.lastError = why;
        this.downUntil = Date.now() + DOWN_MS;
        this.connecting = undefined;
        this.bus = undefined;
        bus.disconnect();
        reject(new VpmdError('E_VC_LIBVIRT', `libvirt-dbus (${this.settings.bus} bus) is unreachable: ${why}`));
      };
      const timer = setTimeout(() => fail(`no connection within ${CALL_TIMEOUT_MS} ms`), CALL_TIMEOUT_MS);
      bus.on('error', (e: unknown) => {
        clearTimeout(timer);
        fail(e instanceof Error ? e.message : String(e));
      });
      bus.on('connect', () => {
        clearTimeout(timer);
        this.bus = bus;
        for (const rule of [
          `type='signal',interface='${CONNECT}',member='DomainEvent'`,
          `type='signal',interface='${DOMAIN}',member='Tunable'`,
        ]) {
          void this.raw('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
            rule,
          ]).catch(() => undefined);
        }
        resolve(bus);
      });
      bus.on('message', (msg: Message) => {
        if (msg.type !== MessageType.SIGNAL) return;
        if (
          (msg.interface === CONNECT && msg.member === 'DomainEvent') ||
          (msg.interface === DOMAIN && msg.member === 'Tunable')
        ) {
          for (const fn of this.listeners) fn();
        }
      });
    });
    return this.connecting;
  }

  private async raw(
    destination: string,
    path: string,
    iface: string,
    member: string,
    signature: string,
    body: unknown[],
  ): Promise<unknown[]> {
    const bus = await this.connection();
    const msg = new Message({ destination, path, interface: iface, member, signature, body });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () =>
          rej(
            new VpmdError('E_TIMEOUT', `libvirt-dbus: ${iface}.${member} did not answer within ${CALL_TIMEOUT_MS} ms`),
          ),
        CALL_TIMEOUT_MS,
      );
    });
    try {
      const reply = await Promise.race([bus.call(msg), timeout]);
      this.lastError = undefined;
      return reply === null ? [] : (reply.body as unknown[]);
    } catch (e) {
      if (e instanceof VpmdError) {
        if (e.code === 'E_TIMEOUT') this.lastError = `${iface}.${member} did not answer within ${CALL_TIMEOUT_MS} ms`;
        throw e;
      }
      const text = (e as { text?: string }).text ?? (e instanceof Error ? e.message : String(e));
      const type = (e as { type?: string }).type;
      const why = `${iface}.${member}: ${type ? `${type}: ` : ''}${text}`;
      const notFound = type === 'org.libvirt.Error' && /not found|no domain/i.test(text);
      if (!notFound) this.lastError = why;
      throw new VpmdError(
        notFound ? 'E_VC_VM_NOT_FOUND' : 'E_VC_LIBVIRT',
        `libvirt-dbus (${this.settings.bus} bus, ${this.path}): ${why}`,
        {
          member,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private call(path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.raw(DEST, path, iface, member, signature, body);
  }

  /** Object path of a domain, or undefined when libvirt does not know it. */
  async domainPath(name: string): Promise<string | undefined> {
    try {
      const [path] = await this.call(this.path, CONNECT, 'DomainLookupByName', 's', [name]);
      return typeof path === 'string' ? path : undefined;
    } catch (e) {
      if (e instanceof VpmdError && e.code === 'E_VC_VM_NOT_FOUND') return undefined;
      throw e;
    }
  }

  private async pinsOf(path: string): Promise<DomainPins> {
    const [[name], [active], [masks]] = await Promise.all([
      this.call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [DOMAIN, 'Name']),
      this.call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [DOMAIN, 'Active']),
      this.call(path, DOMAIN, 'GetVcpuPinInfo', 'u', [0]),
    ]);
    const value = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'value' in v ? v.value : v);
    return { name: String(value(name)), active: value(active) === true, vcpus: pinsFromMask(masks) };
  }

  /** Pin info of every domain libvirt knows (running or not). */
  async allPins(): Promise<DomainPins[]> {
    const [paths] = await this.call(this.path, CONNECT, 'ListDomains', 'u', [0]);
    return Promise.all((Array.isArray(paths) ? (paths as string[]) : []).map((p) => this.pinsOf(p)));
  }

  /** Pin info of one domain, or undefined when libvirt does not know it. */
  async pins(name: string): Promise<DomainPins | undefined> {
    const path = await this.domainPath(name);
    return path === undefined ? undefined : this.pinsOf(path);
  }

  /**
   * Pins a vCPU to one pCPU (virDomainPinVcpuFlags, LIVE|CONFIG as DPDK; drivers that accept
   * only the current state, such as the Test driver, get flags 0).
   * @throws VpmdError E_VC_VM_NOT_FOUND, E_VC_LIBVIRT
   */
  async pinVcpu(name: string, vcpu: number, pcpu: number, hostCpus: number): Promise<void> {
    const path = await this.domainPath(name);
    if (path === undefined) throw new VpmdError('E_VC_VM_NOT_FOUND', `libvirt has no domain '${name}'`, { vm: name });
    const map = Array.from({ length: Math.max(hostCpus, pcpu + 1) }, (_, i) => i === pcpu);
    try {
      await this.call(path, DOMAIN, 'PinVcpu', 'uabu', [vcpu, map, AFFECT_LIVE_CONFIG]);
    } catch (e) {
      if (!(e instanceof VpmdError) || e.code !== 'E_VC_LIBVIRT') throw e;
      this.log.debug(
        { vm: name, err: e.message },
        'PinVcpu with LIVE|CONFIG refused; retrying with the current state only',
      );
      await this.call(path, DOMAIN, 'PinVcpu', 'uabu', [vcpu, map, 0]);
    }
  }

  /** Power channel socket paths `{num, path}` from a domain's live XML (empty when none). */
  async channelPaths(name: string): Promise<Array<{ num: number; path: string }>> {
    const path = await this.domainPath(name);
    if (path === undefined) return [];
    const [xml] = await this.call(path, DOMAIN, 'GetXMLDesc', 'u', [0]);
    const out: Array<{ num: number; path: string }> = [];
    for (const m of String(xml).matchAll(/<channel\s+type=['"]unix['"][^>]*>([\s\S]*?)<\/channel>/g)) {
      const body = m[1] ?? '';
      const src = /<source\b[^>]*\bpath=['"]([^'"]+)['"]/.exec(body)?.[1];
      const target = /<target\b[^>]*\bname=['"]([^'"]+)['"]/.exec(body)?.[1];
      if (src === undefined || target === undefined || !target.startsWith(CHANNEL_PREFIX)) continue;
      const num = Number(target.slice(CHANNEL_PREFIX.length));
      if (Number.isInteger(num) && num >= 0) out.push({ num, path: src });
    }
    return out;
  }

  /** Disconnects. */
  close(): void {
    this.bus?.disconnect();
    this.bus = undefined;
    this.connecting = undefined;
    this.listeners = [];
  }
}
