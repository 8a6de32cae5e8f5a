/**
 * Bringing a {@link ChannelService} up: what a previous run saved first (giving back cpufreq
 * settings it left), then the config's seeds, then the vCPU map, and the cores of VMs that are
 * gone are given back.
 */
import type { PcpuBounds, Role } from 'vpmd';
import type { ChannelService } from './channel-service.js';
import { addChannels } from './vm-commands.js';
import { REGISTRY_SPEC, newVm } from './vm-registry.js';

/** A VM from the plugin config (`vms`). */
export interface VmSeed {
  readonly name: string;
  /** `all` or channel numbers separated by commas. */
  readonly channels?: string;
  readonly query?: boolean;
  readonly minKHz?: number;
  readonly maxKHz?: number;
  readonly pins?: readonly number[];
  readonly role?: Role;
}

/** What the plugin config seeds: VMs and pCPU bounds not already saved. */
export interface ServiceSeed {
  readonly vms: readonly VmSeed[];
  readonly pcpuBounds: readonly PcpuBounds[];
}

/** Loads persisted state and config seeds, connects the channels, reads the vCPU map. */
export async function startChannelService(svc: ChannelService, seed: ServiceSeed): Promise<void> {
  const saved = await svc.state.read('registry', REGISTRY_SPEC);
  if (saved) {
    // Originals saved by a run that did not stop cleanly: requests died with it, so give back.
    svc.actuator.adoptSaved(saved.saved);
    const failed = await svc.actuator.restoreAll();
    if (saved.saved.length > 0)
      svc.log.info({ policies: saved.saved.length, failed }, 'restored cpufreq settings left by a previous run');
    for (const b of saved.pcpuBounds) svc.pcpuBoundsByCpu.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
    for (const s of saved.vms) {
      const vm = newVm(s.name);
      vm.query = s.query;
      vm.bounds = { ...s.bounds };
      vm.pins = [...s.pins];
      if (s.policy) vm.policy = s.policy;
      if (s.role) vm.role = s.role;
      svc.vms.set(vm.name, vm);
      for (const c of s.channels) svc.links.open(vm, c.num, c.path, c.enabled);
    }
  }
  svc.control.invalidate();
  svc.followLimits();
  for (const b of seed.pcpuBounds)
    if (!svc.pcpuBoundsByCpu.has(b.pcpu)) svc.pcpuBoundsByCpu.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
  for (const s of seed.vms) {
    if (svc.vms.has(s.name)) continue;
    const vm = newVm(s.name);
    vm.query = s.query ?? false;
    vm.bounds = {
      ...(s.minKHz !== undefined ? { minKHz: s.minKHz } : {}),
      ...(s.maxKHz !== undefined ? { maxKHz: s.maxKHz } : {}),
    };
    vm.pins = [...(s.pins ?? [])];
    vm.role = s.role ?? 'Operator';
    svc.vms.set(vm.name, vm);
    if (s.channels !== undefined)
      await addChannels(svc, vm.name, s.channels === 'all' ? 'all' : s.channels.split(',').map(Number));
  }
  svc.control.invalidate();
  try {
    await svc.refreshMapping();
  } catch (e) {
    // libvirt down degrades the mapping (host-side pins still work), not the plugin.
    svc.log.warn(
      { err: e instanceof Error ? e.message : String(e) },
      'cannot read the vCPU map from libvirt-dbus; using host-side pins until it answers',
    );
  }
  // Settings from a previous run whose VMs are gone: give the cores back.
  await svc.control.reapply();
  await svc.warmAll();
  await svc.persist();
}
