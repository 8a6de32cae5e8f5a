/**
 * What the channel benchmarks share: their options, the VMs and channel sockets they simulate,
 * and the agent they measure (the virtio-channels plugin in this process, with its default
 * limits: nothing is raised for a benchmark but the channel count).
 */
import { join } from 'node:path';
import { bootAgent } from '../../testkit/index.js';
import plugin from '../../plugins/virtio-channels/index.js';

/** The value after `name` on the command line (e.g. `--rounds`), or undefined. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** VMs `vm0`… with `perVm` channels each, whose sockets are `dir/vmN.C` (QEMU's naming). */
export interface BenchVms {
  readonly dir: string;
  readonly names: readonly string[];
  readonly perVm: number;
  /** The pCPU vCPU `vcpu` of VM number `vm` is pinned to. */
  readonly pin: (vm: number, vcpu: number) => number;
}

/** `count` VMs of `perVm` channels whose vCPUs are pinned round-robin over `cpus` pCPUs. */
export function benchVms(dir: string, count: number, perVm: number, cpus = 8): BenchVms {
  return {
    dir,
    names: Array.from({ length: count }, (_, i) => `vm${i}`),
    perVm,
    pin: (vm, vcpu) => (vm + vcpu) % cpus,
  };
}

/** Every channel socket of `vms`, VM by VM. */
export function channelPaths(vms: BenchVms): string[] {
  return vms.names.flatMap((n) => Array.from({ length: vms.perVm }, (_, c) => join(vms.dir, `${n}.${c}`)));
}

/** What a benchmark changes of {@link bootChannelAgent}'s agent. */
export interface ChannelAgentOptions {
  /** The core's section (e.g. a real-sysfs host root instead of the simulated host). */
  readonly core?: Parameters<typeof bootAgent>[0]['core'];
  /** More keys of the plugin's section (e.g. `schedSliceUs`). */
  readonly plugin?: Record<string, unknown>;
}

/** The agent with the virtio-channels plugin serving `vms` (pinned, no libvirt). */
export function bootChannelAgent(vms: BenchVms, opts: ChannelAgentOptions = {}): ReturnType<typeof bootAgent> {
  return bootAgent({
    plugins: [plugin],
    startTimeout: 60,
    ...(opts.core ? { core: opts.core } : {}),
    sections: {
      'virtio-channels': {
        dir: vms.dir,
        libvirt: false,
        maxChannels: 8192,
        ...opts.plugin,
        vms: vms.names.map((name, i) => ({
          name,
          channels: 'all',
          pins: Array.from({ length: vms.perVm }, (_, v) => vms.pin(i, v)),
        })),
      },
    },
  });
}
