/**
 * The host facts the libvirt capabilities document needs beyond the host model's topology:
 * a stable host UUID, NUMA distances, huge pages per node and IOMMU groups. All read through
 * the host model's backend, so they come from the simulated tree in tests and the demo.
 */
import { randomUUID } from 'node:crypto';
import { Type, type HostModel, type HostTopology, type StateStore, listOptional, readOptional, splitWords } from 'vpmd';

const NODE_DIR = 'sys/devices/system/node';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOST_ID_SPEC = { version: 1, schema: Type.Object({ uuid: Type.String({ pattern: UUID.source }) }) } as const;

/** Where the host UUID came from. */
export type UuidSource = 'config' | 'smbios' | 'machine-id' | 'generated';

/** Huge pages of one size on one node. */
export interface NodePages {
  readonly sizeKiB: number;
  readonly count: number;
}

/** Facts of one NUMA node beyond its CPUs and memory. */
export interface NodeExtras {
  readonly id: number;
  /** `distance` row: node id -> distance. */
  readonly distances: ReadonlyArray<{ readonly id: number; readonly value: number }>;
  readonly hugePages: readonly NodePages[];
}

/** x86 `/proc/cpuinfo` facts libvirt shows that the host model does not parse. */
export interface CpuinfoExtras {
  /** `microcode : 0xf4` as a number. */
  readonly microcode?: number;
  /** `address sizes : 46 bits physical, ...`. */
  readonly physBits?: number;
}

/** Reads {@link CpuinfoExtras} from the first processor block. */
export function parseCpuinfoExtras(text: string): CpuinfoExtras {
  const block = text.split(/\n\s*\n/)[0] ?? '';
  const micro = /^microcode\s*:\s*(0x[0-9a-f]+|\d+)\s*$/im.exec(block)?.[1];
  const bits = /^address sizes\s*:\s*(\d+) bits physical/im.exec(block)?.[1];
  const microcode = micro === undefined ? undefined : Number(micro);
  return {
    ...(microcode !== undefined && Number.isSafeInteger(microcode) && microcode > 0 ? { microcode } : {}),
    ...(bits === undefined ? {} : { physBits: Number(bits) }),
  };
}

/** Everything the libvirt document is built from. */
export interface LibvirtHostFacts {
  readonly uuid: string;
  readonly cpuinfo: CpuinfoExtras;
  readonly uuidSource: UuidSource;
  readonly topology: HostTopology;
  readonly nodes: readonly NodeExtras[];
  /** IOMMU groups exist. */
  readonly iommu: boolean;
}

/** True when `text` is a usable UUID (not the all-zero or all-F placeholders firmware writes). */
export function usableUuid(text: string | undefined): string | undefined {
  const t = text?.trim().toLowerCase();
  if (t === undefined || !UUID.test(t)) return undefined;
  const hex = t.replace(/-/g, '');
  if (/^0+$/.test(hex) || /^f+$/.test(hex)) return undefined;
  return t;
}

/** Formats a 32-hex-digit machine id as a UUID. */
function machineIdUuid(text: string | undefined): string | undefined {
  const t = text?.trim().toLowerCase();
  if (t === undefined || !/^[0-9a-f]{32}$/.test(t)) return undefined;
  return usableUuid(`${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`);
}

/**
 * The host UUID, stable across restarts: configured, else SMBIOS `product_uuid` (what libvirt
 * uses), else `/etc/machine-id`, else one generated once and kept in the plugin's state.
 */
export async function resolveHostUuid(
  host: HostModel,
  state: StateStore,
  configured?: string,
): Promise<{ uuid: string; source: UuidSource }> {
  const fromConfig = usableUuid(configured);
  if (fromConfig !== undefined) return { uuid: fromConfig, source: 'config' };
  const smbios = usableUuid(await readOptional(host.backend, 'sys/class/dmi/id/product_uuid').catch(() => undefined));
  if (smbios !== undefined) return { uuid: smbios, source: 'smbios' };
  const machine = machineIdUuid(await readOptional(host.backend, 'etc/machine-id').catch(() => undefined));
  if (machine !== undefined) return { uuid: machine, source: 'machine-id' };
  const saved = await state.read('host-id', HOST_ID_SPEC);
  if (saved !== undefined) return { uuid: saved.uuid, source: 'generated' };
  const uuid = randomUUID();
  await state.write('host-id', HOST_ID_SPEC, { uuid });
  return { uuid, source: 'generated' };
}

async function readNodeExtras(host: HostModel, id: number, nodeIds: readonly number[]): Promise<NodeExtras> {
  const dir = `${NODE_DIR}/node${id}`;
  const row = splitWords((await readOptional(host.backend, `${dir}/distance`)) ?? '').map(Number);
  const distances =
    row.length === nodeIds.length && row.every(Number.isInteger)
      ? nodeIds.map((n, i) => ({ id: n, value: row[i] as number }))
      : [];
  const hugePages: NodePages[] = [];
  for (const entry of await listOptional(host.backend, `${dir}/hugepages`)) {
    const m = /^hugepages-(\d+)kB$/.exec(entry);
    if (m === null) continue;
    const count = Number(((await readOptional(host.backend, `${dir}/hugepages/${entry}/nr_hugepages`)) ?? '').trim());
    if (Number.isInteger(count)) hugePages.push({ sizeKiB: Number(m[1]), count });
  }
  return { id, distances, hugePages: hugePages.sort((a, b) => a.sizeKiB - b.sizeKiB) };
}

/** Reads every fact the libvirt document needs. */
export async function readLibvirtFacts(
  host: HostModel,
  uuid: { uuid: string; source: UuidSource },
): Promise<LibvirtHostFacts> {
  const topology = await host.topology();
  const nodeIds = topology.numaNodes.map((n) => n.id);
  const nodes = await Promise.all(nodeIds.map((id) => readNodeExtras(host, id, nodeIds)));
  // As libvirt: IOMMU support means the kernel created IOMMU groups.
  const iommu = (await listOptional(host.backend, 'sys/kernel/iommu_groups')).length > 0;
  // A node without per-node huge page files still has none of a size the host has none of.
  const globalZero = new Set<number>();
  for (const size of topology.hugePageSizesKiB) {
    const n = (await readOptional(host.backend, `sys/kernel/mm/hugepages/hugepages-${size}kB/nr_hugepages`))?.trim();
    if (n === '0') globalZero.add(size);
  }
  const filled = nodes.map((n) => {
    const have = new Set(n.hugePages.map((p) => p.sizeKiB));
    const zeros = [...globalZero].filter((s) => !have.has(s)).map((sizeKiB) => ({ sizeKiB, count: 0 }));
    return { ...n, hugePages: [...n.hugePages, ...zeros].sort((a, b) => a.sizeKiB - b.sizeKiB) };
  });
  const cpuinfo = parseCpuinfoExtras((await readOptional(host.backend, 'proc/cpuinfo')) ?? '');
  return { uuid: uuid.uuid, uuidSource: uuid.source, cpuinfo, topology, nodes: filled, iommu };
}
