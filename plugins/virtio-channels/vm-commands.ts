/**
 * What the operator's commands change (`add_vm`, `add_channels`, `set_pcpu`, bounds...): each
 * checks its input, updates the {@link ChannelService}'s registry, re-applies what it affects and
 * saves. None is on a guest's request path.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VpmdError, type PcpuBounds, type Role } from 'vpmd';
import type { ChannelService } from './channel-service.js';
import type { Bounds } from './power/precedence.js';
import { MAX_CHANNELS_PER_VM, checkBounds, checkVmName, newVm, type VmRecord } from './vm-registry.js';

/**
 * Adds a VM (it need not be running). As DPDK's `add_vm`, a domain libvirt does not know is
 * refused; with `libvirt: false`, or while libvirt-dbus is unreachable, any name is added
 * (host-side pins), and the result says why it was not checked.
 * @throws E_VC_VM_EXISTS, E_VC_VM_NOT_FOUND, E_COMMAND_USAGE
 */
export async function addVm(svc: ChannelService, name: string): Promise<{ vm: VmRecord; unchecked?: string }> {
  checkVmName(name);
  if (svc.vms.has(name))
    throw new VpmdError('E_VC_VM_EXISTS', `Unable to add VM '${name}': it is already added`, { vm: name });
  let unchecked: string | undefined = svc.mapper
    ? undefined
    : 'libvirt is off (libvirt: false, or no domains@1 provider): host-side pins only';
  if (svc.mapper) {
    try {
      if (!(await svc.mapper.known(name))) {
        throw new VpmdError(
          'E_VC_VM_NOT_FOUND',
          `Unable to add VM '${name}': libvirt knows no domain '${name}' (virsh list --all)`,
          { vm: name },
        );
      }
      unchecked = undefined;
    } catch (e) {
      if (e instanceof VpmdError && e.code === 'E_VC_VM_NOT_FOUND') throw e;
      unchecked = `domains@1 cannot reach libvirt (${e instanceof Error ? e.message : String(e)}); not checked`;
    }
  }
  const vm = newVm(name);
  svc.vms.set(name, vm);
  svc.control.invalidate();
  await svc.refreshMapping().catch(() => undefined);
  await svc.warm(vm);
  await svc.persist();
  return unchecked ? { vm, unchecked } : { vm };
}

/** Removes a VM: its channels close and the cores it scaled get their settings back. */
export async function rmVm(svc: ChannelService, name: string): Promise<void> {
  const vm = svc.vm(name);
  await svc.links.closeVm(vm);
  svc.vms.delete(name);
  svc.control.invalidate();
  vm.requests.clear();
  await svc.control.reapply();
  await svc.refreshMapping().catch(() => undefined);
  await svc.persist();
}

/**
 * Adds channels to a VM: `all` (every `VM.N` found) or numbers (`DIR/VM.N`). A number whose
 * socket does not exist yet is added (it connects when QEMU creates it) and returned in
 * `missing` when `checkSockets` is set (the operator's `add_channels`), so the command can say
 * so instead of counting it as enabled, as DPDK does not enable a channel it cannot open.
 * @throws E_VC_VM_NOT_FOUND, E_VC_CHANNEL_LIMIT
 */
export async function addChannels(
  svc: ChannelService,
  name: string,
  list: readonly number[] | 'all',
  checkSockets = false,
): Promise<{ added: number[]; missing: Array<{ num: number; path: string }> }> {
  const vm = svc.vm(name);
  const dir = svc.opts.dir;
  const wanted =
    list === 'all'
      ? await discoverChannels(svc, name)
      : list.map((num) => ({ num, path: join(dir, `${name}.${num}`) }));
  const missing: Array<{ num: number; path: string }> = [];
  const fresh: Array<{ num: number; path: string }> = [];
  for (const w of wanted) {
    if (vm.channels.has(w.num)) continue;
    fresh.push(w);
    if (
      checkSockets &&
      list !== 'all' &&
      !(await access(w.path).then(
        () => true,
        () => false,
      ))
    )
      missing.push(w);
  }
  if (vm.channels.size + fresh.length > MAX_CHANNELS_PER_VM) {
    throw new VpmdError(
      'E_VC_CHANNEL_LIMIT',
      `VM '${name}' would have ${vm.channels.size + fresh.length} channels; at most ${MAX_CHANNELS_PER_VM} per VM`,
      { vm: name },
    );
  }
  if (totalChannels(svc) + fresh.length > svc.opts.maxChannels) {
    throw new VpmdError(
      'E_VC_CHANNEL_LIMIT',
      `the host would have more than ${svc.opts.maxChannels} channels (plugins.virtio-channels.maxChannels)`,
      { vm: name },
    );
  }
  // The vCPU map is resolved now, so the first request on these channels reads memory only.
  if (svc.mapper && fresh.length > 0) await svc.refreshMapping().catch(() => undefined);
  await svc.warm(vm);
  for (const w of fresh) svc.links.open(vm, w.num, w.path, true);
  await svc.persist();
  return { added: fresh.map((w) => w.num), missing };
}

/** Finds `VM.N` sockets in the channel directory and in the domain's live XML. */
async function discoverChannels(svc: ChannelService, name: string): Promise<Array<{ num: number; path: string }>> {
  const found = new Map<number, string>();
  const dir = svc.opts.dir;
  const re = new RegExp(`^${name.replace(/[.]/g, '\\.')}\\.(\\d+)$`);
  try {
    for (const entry of await readdir(dir)) {
      const m = re.exec(entry);
      if (m) found.set(Number(m[1]), join(dir, entry));
    }
  } catch (e) {
    svc.log.debug({ dir, err: String(e) }, 'channel directory not readable');
  }
  if (svc.mapper) {
    for (const c of await svc.mapper.channelPaths(name).catch(() => []))
      if (!found.has(c.num)) found.set(c.num, c.path);
  }
  return [...found].map(([num, path]) => ({ num, path })).sort((a, b) => a.num - b.num);
}

function totalChannels(svc: ChannelService): number {
  let n = 0;
  for (const vm of svc.vms.values()) n += vm.channels.size;
  return n;
}

/**
 * Enables or disables channels; returns how many changed state.
 * @throws E_VC_VM_NOT_FOUND, E_VC_CHANNEL
 */
export async function setChannelStatus(
  svc: ChannelService,
  name: string,
  list: readonly number[] | 'all',
  enabled: boolean,
): Promise<number> {
  const vm = svc.vm(name);
  const nums = list === 'all' ? [...vm.channels.keys()] : list;
  const missing = nums.filter((n) => !vm.channels.has(n));
  if (missing.length > 0) {
    throw new VpmdError(
      'E_VC_CHANNEL',
      `VM '${name}' has no channel ${missing.join(', ')} (channels: ${[...vm.channels.keys()].join(', ') || 'none'})`,
      { vm: name },
    );
  }
  let n = 0;
  for (const num of nums) {
    const ch = vm.channels.get(num);
    if (ch) ch.enabled = enabled;
    n++;
  }
  await svc.persist();
  return n;
}

/** Enables or disables guest queries for a VM. @throws E_VC_VM_NOT_FOUND */
export async function setQuery(svc: ChannelService, name: string, enabled: boolean): Promise<void> {
  svc.vm(name).query = enabled;
  await svc.persist();
}

/** Sets the role a VM's guests act with. @throws E_VC_VM_NOT_FOUND */
export async function setRole(svc: ChannelService, name: string, role: Role): Promise<void> {
  svc.vm(name).role = role;
  await svc.persist();
}

/** Sets a VM's bounds and re-applies at once. @throws E_VC_VM_NOT_FOUND, E_VC_BOUNDS */
export async function setVmBounds(svc: ChannelService, name: string, b: Bounds): Promise<void> {
  checkBounds(`bounds of VM '${name}'`, b);
  const vm = svc.vm(name);
  vm.bounds = { ...b };
  await svc.control.reapply();
  await svc.persist();
}

/** Sets one pCPU's bounds and re-applies at once. @throws E_VC_PCPU, E_VC_BOUNDS */
export async function setPcpuBounds(svc: ChannelService, b: PcpuBounds): Promise<void> {
  checkBounds(`bounds of pCPU ${b.pcpu}`, b);
  await svc.control.checkPcpu(b.pcpu);
  if (b.minKHz === undefined && b.maxKHz === undefined) svc.pcpuBoundsByCpu.delete(b.pcpu);
  else svc.pcpuBoundsByCpu.set(b.pcpu, { minKHz: b.minKHz, maxKHz: b.maxKHz });
  svc.hostLimits.invalidate();
  await svc.control.reapply();
  await svc.persist();
}

/**
 * Pins a vCPU (libvirt when it knows the VM, else a host-side pin) and re-applies.
 * @throws E_VC_VM_NOT_FOUND, E_VC_PCPU
 */
export async function setPcpu(
  svc: ChannelService,
  name: string,
  vcpu: number,
  pcpu: number,
): Promise<'libvirt' | 'host'> {
  const vm = svc.vm(name);
  await svc.control.checkPcpu(pcpu);
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu > 4095)
    throw new VpmdError('E_VC_PCPU', `vCPU ${vcpu} is out of range`, { vcpu });
  let via: 'libvirt' | 'host' = 'host';
  if (svc.mapper?.canPin && (await svc.mapper.known(name))) {
    const known = vm.vcpuMap?.length;
    if (known !== undefined && vcpu >= known)
      throw new VpmdError('E_VC_PCPU', `VM '${name}' has ${known} vCPUs; vCPU ${vcpu} does not exist`, { vcpu });
    await svc.mapper.pin(name, vcpu, pcpu);
    via = 'libvirt';
  } else {
    while (vm.pins.length <= vcpu) vm.pins.push(null);
    vm.pins[vcpu] = pcpu;
    svc.control.invalidate();
  }
  const before = new Set(svc.control.pcpusOf(vm, vcpu) ?? []);
  await svc.refreshMapping();
  await svc.warm(vm);
  await svc.control.reapply([...before, pcpu]);
  await svc.persist();
  return via;
}
