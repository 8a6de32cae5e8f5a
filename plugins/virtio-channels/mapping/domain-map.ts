/**
 * The vCPU→pCPU map from `domains@1` (provided by libvirt-domains): the running domains as last
 * seen, kept in memory so that a guest's request never waits for D-Bus. It is read in full when
 * the plugin starts, when a VM or channels are added and every `refreshInterval`, and patched
 * from each `domain.lifecycle.v1` event's payload (started, repinned, vcpus-changed, stopped...),
 * which carries the domain as the provider read it: applying an event reads memory only.
 * Writes (`set_pcpu`) go through `domains@1` `pinVcpu`, as `virsh vcpupin` would.
 */
import { VpmdError, type DomainInfo, type DomainLifecycleEvent, type Domains } from 'vpmd';

/** DPDK's power channel port name: `virtio.serial.port.poweragent.<lcore>`. */
export const POWER_CHANNEL_PREFIX = 'virtio.serial.port.poweragent.';

/** The running domains vpmd knows of, by name. */
export class DomainMap {
  private byName = new Map<string, DomainInfo>();
  private lastError: string | undefined;

  constructor(private readonly domains: Domains) {}

  /** Why the last read failed, for health; undefined once a read works. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Re-reads every running domain (`domains@1` `list`). @throws what the provider throws */
  async refresh(): Promise<void> {
    try {
      const list = await this.domains.list();
      this.byName = new Map(list.map((d) => [d.name, d]));
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  /** Patches the map from a lifecycle event, from memory; true when it changed what the map says. */
  apply(ev: DomainLifecycleEvent): boolean {
    if (ev.kind === 'stopped') {
      let changed = false;
      for (const [name, d] of this.byName)
        if (d.uuid === ev.uuid || name === ev.name) changed = this.byName.delete(name) || changed;
      return changed;
    }
    if (ev.domain === undefined) return false;
    // A rename keeps the UUID: drop the old name's entry.
    for (const [name, d] of this.byName) if (d.uuid === ev.uuid && name !== ev.domain.name) this.byName.delete(name);
    this.byName.set(ev.domain.name, ev.domain);
    return true;
  }

  /** Every running domain as last seen. */
  running(): Iterable<DomainInfo> {
    return this.byName.values();
  }

  /** A running domain by name, as last seen. */
  domain(name: string): DomainInfo | undefined {
    return this.byName.get(name);
  }

  /**
   * Whether libvirt knows a domain, running or only defined (DPDK's `add_vm` check): through
   * `lookup` when the provider has it, else whether it runs.
   * @throws VpmdError E_VC_LIBVIRT when the provider cannot tell (libvirt-dbus unreachable)
   */
  async known(name: string): Promise<boolean> {
    try {
      if (this.domains.lookup) return (await this.domains.lookup(name)) !== undefined;
      return (await this.domains.get(name)) !== undefined;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new VpmdError('E_VC_LIBVIRT', `domains@1 cannot tell whether libvirt knows '${name}': ${why}`, {
        vm: name,
      });
    }
  }

  /** A running domain read now (and remembered). */
  async read(name: string): Promise<DomainInfo | undefined> {
    const d = await this.domains.get(name);
    if (d) this.byName.set(name, d);
    else this.byName.delete(name);
    return d;
  }

  /** Power channel sockets `{num, path}` of a running domain, from its live XML (empty when none). */
  async channelPaths(name: string): Promise<Array<{ num: number; path: string }>> {
    const d = await this.read(name);
    const out: Array<{ num: number; path: string }> = [];
    for (const c of d?.channels ?? []) {
      if (!c.target.startsWith(POWER_CHANNEL_PREFIX)) continue;
      const num = Number(c.target.slice(POWER_CHANNEL_PREFIX.length));
      if (Number.isInteger(num) && num >= 0) out.push({ num, path: c.path });
    }
    return out;
  }

  /** True when the provider can write pins. */
  get canPin(): boolean {
    return this.domains.pinVcpu !== undefined;
  }

  /**
   * Pins a vCPU to one pCPU through `domains@1`.
   * @throws VpmdError E_VC_LIBVIRT when the provider cannot pin or libvirt refuses
   */
  async pin(name: string, vcpu: number, pcpu: number): Promise<void> {
    if (!this.domains.pinVcpu) throw new VpmdError('E_VC_LIBVIRT', 'the domains@1 provider cannot pin vCPUs');
    try {
      await this.domains.pinVcpu(name, vcpu, [pcpu]);
    } catch (e) {
      throw new VpmdError(
        'E_VC_LIBVIRT',
        `cannot pin vCPU ${vcpu} of '${name}' to pCPU ${pcpu}: ${e instanceof Error ? e.message : String(e)}`,
        { vm: name },
        { cause: e },
      );
    }
  }
}
