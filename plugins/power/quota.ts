/**
 * The CPU-quota actuator for VMs on shared pCPUs: libvirt's cgroup CPU bandwidth per vCPU
 * (`vcpu_quota`/`vcpu_period`, µs; quota −1 = unlimited), through `domains@1`'s optional
 * `vcpuQuota`/`setVcpuQuota` (the libvirt-domains plugin: libvirt-dbus `Get/SetSchedulerParameters`,
 * live only). The power plugin has no libvirt client of its own; without a provider that can set
 * quotas the budget law skips this rung.
 */
import { VpmdError, type Domains } from 'vpmd';

/** A VM's CPU bandwidth: `quotaUs` per `periodUs` per vCPU; −1 is unlimited. */
export interface CpuQuota {
  readonly quotaUs: number;
  readonly periodUs: number;
}

/** Reads and sets a VM's vCPU bandwidth. */
export interface QuotaActuator {
  get(uuid: string): Promise<CpuQuota>;
  set(uuid: string, quota: CpuQuota): Promise<void>;
}

function unavailable(what: string, uuid: string, e: unknown): VpmdError {
  return new VpmdError(
    'E_POWER_UNAVAILABLE',
    `${what} vCPU quota of ${uuid}: ${e instanceof Error ? e.message : String(e)}`,
    {},
    { cause: e },
  );
}

/** The quota actuator over `domains@1`, or undefined when the provider cannot set quotas. */
export function domainsQuota(domains: Domains | undefined): QuotaActuator | undefined {
  if (domains?.vcpuQuota === undefined || domains.setVcpuQuota === undefined) return undefined;
  const read = domains.vcpuQuota.bind(domains);
  const write = domains.setVcpuQuota.bind(domains);
  return {
    get: (uuid) => read(uuid).catch((e: unknown) => Promise.reject(unavailable('cannot read the', uuid, e))),
    set: (uuid, quota) =>
      write(uuid, quota).catch((e: unknown) => Promise.reject(unavailable('cannot set the', uuid, e))),
  };
}
