/**
 * The CPU-quota actuator for VMs on shared pCPUs: libvirt's cgroup CPU bandwidth per vCPU
 * (`vcpu_quota`/`vcpu_period`, µs; quota −1 = unlimited) through libvirt-dbus
 * `org.libvirt.Domain.GetSchedulerParameters(u flags) → a{sv}` and
 * `SetSchedulerParameters(a{sv} params, u flags)` on the domain object
 * `/org/libvirt/<driver>/domain/_<uuid with _ for ->`. Flags 1 = VIR_DOMAIN_AFFECT_LIVE.
 */
import { Message, Variant, sessionBus, systemBus, type MessageBus } from 'dbus-next';
import { VpmdError, type CoreSettings } from 'vpmd';

/** A VM's CPU bandwidth: `quotaUs` per `periodUs` per vCPU; −1 is unlimited. */
export interface CpuQuota {
  readonly quotaUs: number;
  readonly periodUs: number;
}

/** Reads and sets a VM's vCPU bandwidth. */
export interface QuotaActuator {
  get(uuid: string): Promise<CpuQuota>;
  set(uuid: string, quota: CpuQuota): Promise<void>;
  close?(): void;
}

const CALL_TIMEOUT_MS = 3_000;
const AFFECT_LIVE = 1;

function numberOf(v: unknown): number | undefined {
  const raw = v instanceof Variant ? (v.value as unknown) : (v as { value?: unknown } | undefined)?.value;
  if (typeof raw === 'bigint') return Number(raw);
  return typeof raw === 'number' ? raw : undefined;
}

/** The libvirt-dbus implementation. */
export class LibvirtQuota implements QuotaActuator {
  private bus: MessageBus | undefined;

  constructor(private readonly settings: CoreSettings['libvirt']) {}

  private path(uuid: string): string {
    return `/org/libvirt/${this.settings.driver}/domain/_${uuid.toLowerCase().replace(/-/g, '_')}`;
  }

  private async call(uuid: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    this.bus ??= this.settings.bus === 'system' ? systemBus() : sessionBus();
    const bus = this.bus;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new VpmdError('E_POWER_UNAVAILABLE', `libvirt-dbus: ${member} did not answer within ${CALL_TIMEOUT_MS} ms`),
          ),
        CALL_TIMEOUT_MS,
      );
    });
    try {
      const msg = new Message({
        destination: 'org.libvirt',
        path: this.path(uuid),
        interface: 'org.libvirt.Domain',
        member,
        signature,
        body,
      });
      const reply = await Promise.race([bus.call(msg), timeout]);
      return reply === null ? [] : (reply.body as unknown[]);
    } catch (e) {
      if (e instanceof VpmdError) throw e;
      throw new VpmdError(
        'E_POWER_UNAVAILABLE',
        `libvirt-dbus refused ${member} on ${uuid}: ${e instanceof Error ? e.message : String(e)}`,
        {},
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async get(uuid: string): Promise<CpuQuota> {
    const [params] = (await this.call(uuid, 'GetSchedulerParameters', 'u', [AFFECT_LIVE])) as [Record<string, unknown>];
    return { quotaUs: numberOf(params?.vcpu_quota) ?? -1, periodUs: numberOf(params?.vcpu_period) ?? 100_000 };
  }

  async set(uuid: string, quota: CpuQuota): Promise<void> {
    await this.call(uuid, 'SetSchedulerParameters', 'a{sv}u', [
      { vcpu_quota: new Variant('x', BigInt(quota.quotaUs)), vcpu_period: new Variant('t', BigInt(quota.periodUs)) },
      AFFECT_LIVE,
    ]);
  }

  close(): void {
    this.bus?.disconnect();
    this.bus = undefined;
  }
}
