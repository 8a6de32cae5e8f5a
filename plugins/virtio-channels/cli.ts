/**
 * vpmctl commands with the names and human output of DPDK's `vm_power_manager` CLI (prompt
 * `vmpower>`), so operators' scripts keep working: add_vm, rm_vm, add_channels,
 * set_channel_status, set_query, show_vm, set_pcpu, show_cpu_freq, set_cpu_freq. vpmd's own
 * additions: set_vm_bounds, set_pcpu_bounds, set_vm_role, show_bounds, show_channel_stats,
 * show_clamp_reasons. `--json` gives the result.
 */
import { StringEnum, Type, VpmdError, defineCommand, type PluginContext } from 'vpmd';
import type { ChannelService } from './channel-service.js';
import {
  addChannels,
  addVm,
  rmVm,
  setChannelStatus,
  setPcpu,
  setPcpuBounds,
  setQuery,
  setRole,
  setVmBounds,
} from './vm-commands.js';
import { Unit } from './protocol/packet-layout.js';
import { channelStatus, parseChannelList } from './vm-registry.js';

const SCALE: Readonly<Record<string, number>> = {
  up: Unit.SCALE_UP,
  down: Unit.SCALE_DOWN,
  min: Unit.SCALE_MIN,
  max: Unit.SCALE_MAX,
  enable_turbo: Unit.ENABLE_TURBO,
  disable_turbo: Unit.DISABLE_TURBO,
};

const vmArg = Type.String({ description: 'VM (libvirt domain) name' });
const listArg = Type.String({ description: "channel numbers ('0,2,4-7') or 'all'" });
const khz = (what: string) => Type.Optional(Type.Integer({ minimum: 1, description: `${what} in kHz` }));

/** Registers the DPDK-compatible commands. */
export function registerCommands(ctx: PluginContext, svc: () => ChannelService): void {
  const reg = ctx.commands.register.bind(ctx.commands);

  reg(
    defineCommand({
      name: 'add_vm',
      summary: 'Add a VM whose guests may scale their cores (it need not be running)',
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg }),
      positional: ['vm'],
      handler: async ({ vm }) => {
        const r = await addVm(svc(), vm);
        return { vm, added: true, ...(r.unchecked ? { unchecked: r.unchecked } : {}) };
      },
      // DPDK prints nothing on success; say when the domain could not be checked.
      human: (r) => (r.unchecked ? `VM '${r.vm}' added; not checked against libvirt: ${r.unchecked}` : ''),
    }),
  );

  reg(
    defineCommand({
      name: 'rm_vm',
      summary: 'Remove a VM: close its channels and restore the cores it scaled',
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg }),
      positional: ['vm'],
      handler: async ({ vm }) => {
        try {
          await rmVm(svc(), vm);
        } catch (e) {
          if (e instanceof VpmdError && e.code === 'E_VC_VM_NOT_FOUND')
            throw new VpmdError(e.code, `Unable to remove VM '${vm}': ${e.message}`, e.details);
          throw e;
        }
        return { vm, removed: true };
      },
      human: () => '',
    }),
  );

  reg(
    defineCommand({
      name: 'add_channels',
      summary: "Add power channels to a VM ('all' scans the channel directory for VM.N)",
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, channels: listArg }),
      positional: ['vm', 'channels'],
      handler: async ({ vm, channels }) => {
        const list = parseChannelList(channels);
        const { added, missing } = await addChannels(svc(), vm, list, true);
        return { vm, all: list === 'all', added, missing };
      },
      human: (r) =>
        r.all
          ? `Added ${r.added.length} channels for VM '${r.vm}'`
          : [
              ...r.added.map((n, i) =>
                r.missing.some((m) => m.num === n)
                  ? `[${i}]: Channel ${n}: no socket at ${r.missing.find((m) => m.num === n)?.path} yet; not enabled until QEMU listens there (is the VM running with that <channel>?)`
                  : `[${i}]: Adding channel ${n}`,
              ),
              `Enabled ${r.added.length - r.missing.length} channels for '${r.vm}'`,
            ].join('\n'),
    }),
  );

  reg(
    defineCommand({
      name: 'set_channel_status',
      summary: 'Enable or disable power channels of a VM',
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, channels: listArg, status: StringEnum(['enabled', 'disabled'] as const) }),
      positional: ['vm', 'channels', 'status'],
      handler: async ({ vm, channels, status }) => ({
        vm,
        updated: await setChannelStatus(svc(), vm, parseChannelList(channels), status === 'enabled'),
      }),
      human: (r) => `Updated status of ${r.updated} channels for VM '${r.vm}'`,
    }),
  );

  reg(
    defineCommand({
      name: 'set_query',
      summary: "Allow or forbid a VM's guests to query frequencies and capabilities",
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, mode: StringEnum(['enable', 'disable'] as const) }),
      positional: ['vm', 'mode'],
      handler: async ({ vm, mode }) => {
        await setQuery(svc(), vm, mode === 'enable');
        return { vm, query: mode === 'enable' };
      },
      human: () => '',
    }),
  );

  reg(
    defineCommand({
      name: 'show_vm',
      summary: "A VM's state, channels and vCPU to pCPU map",
      privilege: 'Login',
      args: Type.Object({ vm: vmArg }),
      positional: ['vm'],
      handler: async ({ vm: name }) => {
        const s = svc();
        await s.refreshMapping().catch(() => undefined);
        const vm = s.vm(name);
        const nv = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
        return {
          vm: vm.name,
          status: vm.active || [...vm.channels.values()].some((c) => c.connected) ? 'ACTIVE' : 'INACTIVE',
          query: vm.query,
          role: vm.role,
          bounds: vm.bounds,
          channels: [...vm.channels.values()]
            .sort((a, b) => a.num - b.num)
            .map((c) => ({ num: c.num, path: c.path, status: channelStatus(c), ...c.counters })),
          vcpus: Array.from({ length: nv }, (_, v) => ({ vcpu: v, pcpus: s.control.pcpusOf(vm, v) ?? [] })),
          counters: { ...vm.counters },
          policy: vm.policy?.type ?? null,
          raiseDenied: ((d) => (d ? { owner: d.owner, reason: d.reason, since: d.since } : null))(s.raiseDenial(vm)),
        };
      },
      human: (r) =>
        [
          `VM: '${r.vm}', status = ${r.status}`,
          `Channels ${r.channels.length}`,
          ...r.channels.map((c) => `  [${c.num}]: ${c.path}, status = ${c.status}`),
          `Virtual CPU(s): ${r.vcpus.length}`,
          // DPDK prints the highest pCPU of the affinity; vpmd scales them all (see docs).
          ...r.vcpus.map((v) => `  [${v.vcpu}]: Physical CPU ${v.pcpus.length ? Math.max(...v.pcpus) : -1}`),
          ...(r.raiseDenied
            ? [`Requests to raise the frequency denied by ${r.raiseDenied.owner}: ${r.raiseDenied.reason}`]
            : []),
        ].join('\n'),
    }),
  );

  reg(
    defineCommand({
      name: 'set_pcpu',
      summary: 'Pin a vCPU of a VM to a pCPU (libvirt PinVcpu; host-side pin when libvirt does not know the VM)',
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, vcpu: Type.Integer({ minimum: 0 }), pcpu: Type.Integer({ minimum: 0 }) }),
      positional: ['vm', 'vcpu', 'pcpu'],
      handler: async ({ vm, vcpu, pcpu }) => ({ vm, vcpu, pcpu, via: await setPcpu(svc(), vm, vcpu, pcpu) }),
      human: (r) => `Pinned vCPU(${r.vcpu}) to pCPU core ${r.pcpu}`,
    }),
  );

  reg(
    defineCommand({
      name: 'show_cpu_freq',
      summary: 'Current frequency of a pCPU (kHz)',
      privilege: 'Login',
      args: Type.Object({ core: Type.Integer({ minimum: 0 }) }),
      positional: ['core'],
      handler: async ({ core }) => {
        await svc().control.checkPcpu(core);
        return { core, kHz: await svc().control.currentKHz(core) };
      },
      human: (r) => `Core ${r.core} frequency: ${r.kHz}`,
    }),
  );

  reg(
    defineCommand({
      name: 'set_cpu_freq',
      summary:
        "Scale a pCPU as the operator: overrides the guests' requests (within the pCPU's bounds) until a guest asks again",
      privilege: 'ConfigureComponents',
      args: Type.Object({
        core: Type.Integer({ minimum: 0 }),
        action: StringEnum(Object.keys(SCALE) as [string, ...string[]]),
      }),
      positional: ['core', 'action'],
      handler: async ({ core, action }) => {
        try {
          const r = await svc().operatorScale(core, SCALE[action] as number);
          return { core, action, ...r };
        } catch (e) {
          const err = e instanceof VpmdError ? e : new VpmdError('E_VC_SCALE', String(e));
          throw new VpmdError(err.code, `Error scaling core(${core}) '${action}': ${err.message}`, err.details);
        }
      },
      // DPDK prints nothing on success; vpmd says why the core does not run at what was asked.
      human: (r) => (r.note ? `Core ${r.core} frequency: ${r.kHz} (${r.note})` : ''),
    }),
  );

  reg(
    defineCommand({
      name: 'set_vm_bounds',
      summary: "Bound what a VM's guests may ask for (kHz); applied at once",
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, min: khz('lowest frequency'), max: khz('highest frequency') }),
      positional: ['vm'],
      handler: async ({ vm, min, max }) => {
        await setVmBounds(svc(), vm, {
          ...(min !== undefined ? { minKHz: min } : {}),
          ...(max !== undefined ? { maxKHz: max } : {}),
        });
        return { vm, minKHz: min ?? null, maxKHz: max ?? null };
      },
      human: (r) => `Bounds of VM '${r.vm}': min ${r.minKHz ?? '-'} kHz, max ${r.maxKHz ?? '-'} kHz`,
    }),
  );

  reg(
    defineCommand({
      name: 'set_pcpu_bounds',
      summary: 'Bound the frequency guests may ask for on a pCPU (kHz); applied at once',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        pcpu: Type.Integer({ minimum: 0 }),
        min: khz('lowest frequency'),
        max: khz('highest frequency'),
      }),
      positional: ['pcpu'],
      handler: async ({ pcpu, min, max }) => {
        await setPcpuBounds(svc(), {
          pcpu,
          ...(min !== undefined ? { minKHz: min } : {}),
          ...(max !== undefined ? { maxKHz: max } : {}),
        });
        return { pcpu, minKHz: min ?? null, maxKHz: max ?? null };
      },
      human: (r) => `Bounds of pCPU ${r.pcpu}: min ${r.minKHz ?? '-'} kHz, max ${r.maxKHz ?? '-'} kHz`,
    }),
  );

  reg(
    defineCommand({
      name: 'set_vm_role',
      summary: "Role a VM's guests act with (ReadOnly: queries only; Operator: may scale)",
      privilege: 'ConfigureComponents',
      args: Type.Object({ vm: vmArg, role: StringEnum(['Administrator', 'Operator', 'ReadOnly'] as const) }),
      positional: ['vm', 'role'],
      handler: async ({ vm, role }) => {
        await setRole(svc(), vm, role);
        return { vm, role };
      },
      human: (r) => `Guests of VM '${r.vm}' act as ${r.role}`,
    }),
  );

  reg(
    defineCommand({
      name: 'show_bounds',
      summary: 'Host bounds on guest requests, per VM and per pCPU (kHz)',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => {
        const s = svc();
        return [
          ...[...s.vms.values()]
            .filter((vm) => vm.bounds.minKHz !== undefined || vm.bounds.maxKHz !== undefined)
            .map((vm) => ({
              scope: `vm ${vm.name}`,
              minKHz: vm.bounds.minKHz ?? null,
              maxKHz: vm.bounds.maxKHz ?? null,
            })),
          ...s
            .pcpuBounds()
            .map((b) => ({ scope: `pcpu ${b.pcpu}`, minKHz: b.minKHz ?? null, maxKHz: b.maxKHz ?? null })),
        ];
      },
    }),
  );

  reg(
    defineCommand({
      name: 'show_clamp_reasons',
      summary: 'Guest requests the host bounds clamped, by whose bound (cpu-limits claim, VM or pCPU bounds)',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => [...svc().hostLimits.clampsByReason].map(([reason, clamped]) => ({ reason, clamped })),
    }),
  );

  reg(
    defineCommand({
      name: 'show_channel_stats',
      summary: 'Guest request counters per VM and channel (accepted, clamped, limited, refused, denied)',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () =>
        [...svc().vms.values()].flatMap((vm) => [
          { vm: vm.name, channel: 'all', ...vm.counters },
          ...[...vm.channels.values()].map((c) => ({
            vm: vm.name,
            channel: String(c.num),
            status: channelStatus(c),
            ...c.counters,
          })),
        ]),
    }),
  );
}
