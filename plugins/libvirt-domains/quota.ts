/**
 * A domain's CPU bandwidth per vCPU for `domains@1` `vcpuQuota`/`setVcpuQuota`: libvirt-dbus
 * `org.libvirt.Domain.GetSchedulerParameters(u flags) → a{sv}` and
 * `SetSchedulerParameters(a{sv} params, u flags)` with `vcpu_quota` (x, µs, −1 unlimited) and
 * `vcpu_period` (t, µs) on the domain object `/org/libvirt/<driver>/domain/_<uuid, - as _>`.
 * Flags 1 = VIR_DOMAIN_AFFECT_LIVE: a budget throttles the running VM, never its definition.
 */
import { Variant } from 'dbus-next';
import { VpmdError, type VcpuQuota } from 'vpmd';
import { DOMAIN, type LibvirtBus } from './libvirt-bus.js';
import { plain } from './domain-reader.js';

const AFFECT_LIVE = 1;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function pathOf(lv: LibvirtBus, uuid: string): string {
  const id = uuid.toLowerCase();
  if (!UUID_RE.test(id)) throw new VpmdError('E_LIBVIRT_DOMAINS_CALL', `'${uuid}' is not a domain UUID`);
  return `${lv.connectPath}/domain/_${id.replace(/-/g, '_')}`;
}

async function call(lv: LibvirtBus, uuid: string, member: string, signature: string, body: unknown[]) {
  try {
    return await lv.libvirt(pathOf(lv, uuid), DOMAIN, member, signature, body);
  } catch (e) {
    if (e instanceof VpmdError && e.code !== 'E_LIBVIRT_DOMAINS_CALL') throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new VpmdError('E_LIBVIRT_DOMAINS_CALL', `${member} on ${uuid}: ${why}`, {}, { cause: e });
  }
}

/** The domain's vCPU bandwidth now. */
export async function readVcpuQuota(lv: LibvirtBus, uuid: string): Promise<VcpuQuota> {
  const [params] = (await call(lv, uuid, 'GetSchedulerParameters', 'u', [AFFECT_LIVE])) as [Record<string, unknown>];
  const num = (v: unknown): number | undefined => {
    const x = plain(v);
    return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
  };
  return { quotaUs: num(params?.vcpu_quota) ?? -1, periodUs: num(params?.vcpu_period) ?? 100_000 };
}

/** Sets the domain's vCPU bandwidth (live). */
export async function writeVcpuQuota(lv: LibvirtBus, uuid: string, q: VcpuQuota): Promise<void> {
  // libvirt checks the ranges (and a value found earlier must go back as it was): whole µs only.
  if (!Number.isSafeInteger(q.quotaUs) || !Number.isSafeInteger(q.periodUs) || q.periodUs <= 0)
    throw new VpmdError(
      'E_LIBVIRT_DOMAINS_CALL',
      `vcpu_quota ${q.quotaUs} / vcpu_period ${q.periodUs}: whole microseconds, period above 0`,
    );
  await call(lv, uuid, 'SetSchedulerParameters', 'a{sv}u', [
    { vcpu_quota: new Variant('x', BigInt(q.quotaUs)), vcpu_period: new Variant('t', BigInt(q.periodUs)) },
    AFFECT_LIVE,
  ]);
}
