/**
 * virtio-channels: the host side of DPDK's VM power channel. Unmodified DPDK guests
 * (librte_power in its KVM_VM environment) ask over virtio-serial for the physical core behind
 * a vCPU to be scaled; vpmd maps vCPUs to pCPUs from `domains@1` (the libvirt-domains plugin), applies the request
 * through the core host model under a host precedence policy (bounds, shared cores, rate
 * limits), and answers on the wire exactly as DPDK's `vm_power_manager` does. See
 * docs/virtio-channels.md.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CPU_LIMITS,
  DOMAINS,
  GUEST_CHANNELS,
  StringEnum,
  Type,
  VpmdError,
  definePlugin,
  type GuestChannels,
  type PluginHealth,
} from 'vpmd';
import { VIRTIO_CHANNELS_ERRORS } from './errors.js';
import { ChannelService } from './channel-service.js';
import { startChannelService } from './service-start.js';
import { setPcpuBounds } from './vm-commands.js';
import { registerCommands } from './cli.js';
import { JsonFifos } from './json-fifo.js';
import { DomainMap } from './mapping/domain-map.js';
import { applyPolicy } from './request-handler.js';
import { VM_NAME_PATTERN } from './vm-registry.js';
import { realtime, shortSlice, SLICE_BOUNDS_US } from './scheduling.js';

const kHz = (what: string) => Type.Optional(Type.Integer({ minimum: 1, description: `${what} in kHz` }));

const ConfigSchema = Type.Object({
  dir: Type.String({
    minLength: 1,
    default: '/tmp/powermonitor',
    description: 'directory of the QEMU channel sockets VM.N (and the JSON FIFOs)',
  }),
  libvirt: Type.Boolean({
    default: true,
    description:
      'read vCPU pins and channel paths from domains@1 (the libvirt-domains plugin) and pin through it; false: host-side pins only',
  }),
  refreshInterval: Type.Number({
    minimum: 0.1,
    maximum: 3600,
    default: 5,
    description: 'seconds between full vCPU map re-reads (domain lifecycle events update the map at once)',
  }),
  policyInterval: Type.Number({
    minimum: 0.1,
    maximum: 3600,
    default: 1,
    description: 'seconds between re-evaluations of guest policies (TIME)',
  }),
  maxAffinity: Type.Integer({
    minimum: 1,
    maximum: 4096,
    default: 4,
    description: 'a vCPU allowed on more pCPUs than this is not scaled (pin it)',
  }),
  maxChannels: Type.Integer({ minimum: 1, maximum: 8192, default: 1024, description: 'channels on the whole host' }),
  rateLimit: Type.Object(
    {
      changesPerSecond: Type.Number({
        minimum: 0.1,
        maximum: 100_000,
        default: 100,
        description:
          'frequency changes per second per pCPU (cpufreq policy); requests beyond it are ACKed and coalesced to the latest',
      }),
      burst: Type.Integer({
        minimum: 1,
        maximum: 100_000,
        default: 10,
        description: 'changes a pCPU may make at once before the rate applies',
      }),
    },
    { default: {}, additionalProperties: false },
  ),
  messageLimit: Type.Object(
    {
      perSecond: Type.Number({
        minimum: 1,
        maximum: 1_000_000,
        default: 5_000,
        description:
          'messages per second per channel; beyond it messages wait (never refused), which bounds the CPU a flooding guest costs',
      }),
      burst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 500, description: 'messages at once' }),
    },
    { default: {}, additionalProperties: false },
  ),
  reconnect: Type.Object(
    {
      minMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
      maxMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 5_000 }),
    },
    { default: {}, additionalProperties: false },
  ),
  vms: Type.Array(
    Type.Object(
      {
        name: Type.String({ pattern: VM_NAME_PATTERN.source }),
        channels: Type.Optional(
          Type.String({ pattern: '^(all|\\d+(,\\d+)*)$', description: "'all' or channel numbers '0,1,2'" }),
        ),
        query: Type.Optional(Type.Boolean()),
        minKHz: kHz('lowest frequency the VM may ask for'),
        maxKHz: kHz('highest frequency the VM may ask for'),
        pins: Type.Optional(
          Type.Array(Type.Integer({ minimum: 0 }), {
            description: 'host-side pCPU per vCPU when libvirt does not know the VM',
          }),
        ),
        role: Type.Optional(
          StringEnum(['Administrator', 'Operator', 'ReadOnly'] as const, {
            description: "role of the VM's guests: ReadOnly may only query (default Operator)",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    { default: [], description: 'VMs added at start (persisted changes win)' },
  ),
  pcpuBounds: Type.Array(
    Type.Object(
      { pcpu: Type.Integer({ minimum: 0 }), minKHz: kHz('lowest frequency'), maxKHz: kHz('highest frequency') },
      { additionalProperties: false },
    ),
    { default: [] },
  ),
  fifos: Type.Union([Type.Literal('all'), Type.Array(Type.Integer({ minimum: 0, maximum: 127 }))], {
    default: 'all',
    description:
      "JSON FIFOs DIR/fifoN created at start: 'all' (one per online CPU, as DPDK) or core numbers; [] for none",
  }),
  schedFifoPriority: Type.Integer({
    minimum: 0,
    maximum: 99,
    default: 0,
    description:
      "1-99: run the agent's event loop under SCHED_FIFO at this priority (as chronyd -P) and its garbage-collector helper threads one below, so guests get replies within DPDK's 10 ms on a host whose cores are saturated; 0: off",
  }),
  schedSliceUs: Type.Integer({
    minimum: 0,
    maximum: SLICE_BOUNDS_US.max,
    default: 0,
    description:
      "microseconds: the scheduler slice the agent's threads ask of Linux's EEVDF (6.12+; no privilege needed), so that a woken agent preempts a CPU hog at once (needs perl); the kernel raises values under 100; 0: the kernel's default. Unused when schedFifoPriority is in effect. Not measured to help yet: see docs/virtio-channels.md",
  }),
  json: StringEnum(['dpdk', 'vpmd'] as const, {
    default: 'dpdk',
    description:
      "JSON FIFO dialect: 'dpdk' (DPDK 22.11 exactly: acts on the FIFO's core, binary replies into the FIFO) or 'vpmd' (names a VM and vCPU, JSON replies in DIR/fifoN.reply)",
  }),
});

export default definePlugin({
  name: 'virtio-channels',
  version: '1.0.0',
  description: "Host side of DPDK's VM power channel: guests scale their pCPUs within host bounds",
  coreApi: '^1.2.0',
  errors: VIRTIO_CHANNELS_ERRORS,
  config: ConfigSchema,
  provides: [GUEST_CHANNELS.id],
  optional: [DOMAINS.id],

  register(ctx) {
    const cfg = ctx.config;
    let svc: ChannelService | undefined;
    let fifos: JsonFifos | undefined;
    let unsubscribeDomains: (() => void) | undefined;
    let noProvider = false;
    const service = (): ChannelService => {
      if (!svc) throw new VpmdError('E_PLUGIN_STOPPED', 'virtio-channels is not running (not started yet, or stopped)');
      return svc;
    };
    registerCommands(ctx, service);

    const api: GuestChannels = {
      stats: () =>
        [...(svc?.vms.values() ?? [])].map((vm) => ({
          vm: vm.name,
          channels: vm.channels.size,
          connected: [...vm.channels.values()].filter((c) => c.connected).length,
          ...vm.counters,
        })),
      frequencies: async () => {
        const s = service();
        const pcpus = new Set<number>(s.control.managedPcpus());
        const vmsOn = new Map<number, string[]>();
        for (const vm of s.vms.values()) {
          const n = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
          for (let v = 0; v < n; v++) {
            for (const p of s.control.pcpusOf(vm, v) ?? []) {
              pcpus.add(p);
              vmsOn.set(p, [...new Set([...(vmsOn.get(p) ?? []), vm.name])]);
            }
          }
        }
        return Promise.all(
          [...pcpus]
            .sort((a, b) => a - b)
            .map(async (pcpu) => {
              const managed = s.control.managedPcpus().includes(pcpu);
              return {
                pcpu,
                ...(managed ? { requestedKHz: await s.control.targetOf(pcpu) } : {}),
                appliedKHz: await s.control.currentKHz(pcpu),
                vms: vmsOn.get(pcpu) ?? [],
              };
            }),
        );
      },
      bounds: () => svc?.pcpuBounds() ?? [],
      setBounds: async (bounds, by) => {
        ctx.access.require(by, 'ConfigureComponents', `set guest frequency bounds of pCPU ${bounds.pcpu}`);
        await setPcpuBounds(service(), bounds);
        ctx.access.audit(
          by,
          `set guest frequency bounds of pCPU ${bounds.pcpu}`,
          'ok',
          `min ${bounds.minKHz ?? '-'} max ${bounds.maxKHz ?? '-'} kHz`,
        );
      },
    };
    ctx.capabilities.provide(GUEST_CHANNELS, api);

    return {
      async start() {
        const fifo = cfg.schedFifoPriority > 0 && (await realtime(cfg.schedFifoPriority, ctx.log));
        // Not awaited: a perl process sets it, and nothing else waits for it. Never after SCHED_FIFO,
        // which setting a slice (a SCHED_OTHER attribute) would undo.
        if (!fifo && cfg.schedSliceUs > 0) void shortSlice(cfg.schedSliceUs, ctx.log);
        const domains = cfg.libvirt ? ctx.capabilities.find(DOMAINS) : undefined;
        if (cfg.libvirt && !domains)
          ctx.log.warn(
            {},
            'no domains@1 provider (enable the libvirt-domains plugin): host-side pins only, add_vm is not checked',
          );
        const mapper = domains ? new DomainMap(domains) : undefined;
        noProvider = cfg.libvirt && !domains;
        svc = new ChannelService(
          {
            dir: cfg.dir,
            backoff: { minMs: cfg.reconnect.minMs, maxMs: Math.max(cfg.reconnect.minMs, cfg.reconnect.maxMs) },
            changeLimit: cfg.rateLimit,
            messageBudget: { messagesPerSecond: cfg.messageLimit.perSecond, burst: cfg.messageLimit.burst },
            maxAffinity: cfg.maxAffinity,
            maxChannels: cfg.maxChannels,
          },
          ctx.host,
          ctx.state,
          mapper,
          ctx.log,
          ctx.access,
          ctx.capabilities.find(CPU_LIMITS),
        );
        const s = svc;
        // QEMU creates the sockets here (libvirt's qemu user needs write access; see the docs).
        await mkdir(cfg.dir, { recursive: true, mode: 0o755 });
        await startChannelService(s, { vms: cfg.vms, pcpuBounds: cfg.pcpuBounds });
        if (mapper) {
          // The event carries the domain as the provider read it: the map is patched from memory.
          unsubscribeDomains = ctx.events.on('domain.lifecycle.v1', (ev) => {
            void s.onDomainEvent(ev).catch((e: unknown) => ctx.log.debug({ err: String(e) }, 'vCPU map update failed'));
          });
          ctx.scheduler.every('mapping', cfg.refreshInterval * 1000, () =>
            s.refreshMapping().catch((e: unknown) => ctx.log.debug({ err: String(e) }, 'vCPU map refresh failed')),
          );
        }
        ctx.scheduler.every('policies', cfg.policyInterval * 1000, async () => {
          for (const vm of [...s.vms.values(), ...s.fifoVms.values()]) await applyPolicy(s.deps, vm).catch(() => 0);
          // What guests' queries and first requests read from memory, kept current off their path.
          await s.refreshObserved();
        });
        const fifoCores = cfg.fifos === 'all' ? (await ctx.host.topology()).online : cfg.fifos;
        if (fifoCores.length > 0) {
          fifos = new JsonFifos(cfg.dir, fifoCores, s, ctx.log, cfg.json);
          await fifos.start();
        }
      },
      async stop() {
        unsubscribeDomains?.();
        await fifos?.stop();
        await svc?.stop();
      },
      health(): PluginHealth {
        if (!svc) return { status: 'degraded', detail: 'not started' };
        const targets: Record<string, { status: 'ok' | 'degraded'; detail: string }> = {};
        for (const vm of svc.vms.values()) {
          const up = [...vm.channels.values()].filter((c) => c.connected).length;
          targets[`vm:${vm.name}`] = { status: 'ok', detail: `${up}/${vm.channels.size} channels connected` };
        }
        for (const [n, why] of fifos?.failed ?? []) targets[`fifo${n}`] = { status: 'degraded', detail: why };
        const libvirtError = svc.mapper?.error;
        if (libvirtError)
          return { status: 'degraded', detail: `domains@1: ${libvirtError}; host-side pins only`, targets };
        if (noProvider)
          return {
            status: 'degraded',
            detail:
              'no domains@1 provider (enable the libvirt-domains plugin, or set libvirt: false); host-side pins only',
            targets,
          };
        if (fifos && fifos.failed.size > 0)
          return { status: 'degraded', detail: `${fifos.failed.size} JSON FIFO(s) unusable`, targets };
        return { status: 'ok', detail: `${svc.vms.size} VMs`, targets };
      },
    };
  },

  demo(env) {
    const dir = join(env.dir, 'powermonitor');
    return {
      config: {
        dir,
        libvirt: false,
        vms: [
          { name: 'vm1', channels: '0,1', query: true, pins: [2, 3] },
          { name: 'vm2', channels: '0', pins: [3], maxKHz: 3_000_000 },
        ],
        fifos: [0],
        json: 'vpmd',
      },
      notes: [
        `virtio-channels: VMs vm1 (vCPUs on pCPUs 2,3) and vm2 (pCPU 3, max 3 GHz); channel sockets in ${dir}`,
        '  vpmctl show_vm vm1 ; vpmctl set_cpu_freq 2 down ; vpmctl show_cpu_freq 2',
        `  a DPDK guest: socat PTY,link=/dev/virtio-ports/virtio.serial.port.poweragent.0,raw,echo=0 UNIX-LISTEN:${dir}/vm1.0`,
        `  JSON: echo '{"instruction":{"name":"vm1","command":"power","unit":"SCALE_DOWN","resource_id":2}}' > ${dir}/fifo0 ; cat ${dir}/fifo0.reply`,
      ],
    };
  },
});
