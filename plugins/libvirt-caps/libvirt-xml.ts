/**
 * The host part of libvirt's capabilities XML, built the way libvirt 9.0 writes it
 * (`virsh capabilities`), from the host model's facts. Only elements the 9.0 schema
 * (`capability.rng`) allows appear; richer power facts go to vpmd's power document.
 */
import {
  type SleepSupport,
  type SleepTarget,
  formatCpuList,
  type CpuCache,
  type CpuIdentity,
  type CpuPlacement,
  type HostTopology,
} from 'vpmd';
import type { LibvirtHostFacts } from './host-facts.js';

/** The libvirt element of each target that has one (suspend-then-hibernate has none). */
const PM_ELEMENT: Partial<Record<SleepTarget, string>> = {
  mem: 'suspend_mem',
  disk: 'suspend_disk',
  hybrid: 'suspend_hybrid',
};

/** libvirt's vendor names (cpu_map `*_vendors.xml`). */
const X86_VENDOR: Readonly<Record<string, string>> = {
  GenuineIntel: 'Intel',
  AuthenticAMD: 'AMD',
  HygonGenuine: 'Hygon',
};

/**
 * libvirt cpu_map base models for common server parts, by `vendor/family/model[/minStepping]`.
 * Only parts we can name with confidence; others get no `<model>` ("where known").
 */
const KNOWN_MODELS: ReadonlyArray<{
  vendor: string;
  family: number;
  model: number;
  minStepping?: number;
  name: string;
}> = [
  { vendor: 'GenuineIntel', family: 6, model: 79, name: 'Broadwell' },
  { vendor: 'GenuineIntel', family: 6, model: 85, minStepping: 5, name: 'Cascadelake-Server' },
  { vendor: 'GenuineIntel', family: 6, model: 85, name: 'Skylake-Server' },
  { vendor: 'GenuineIntel', family: 6, model: 106, name: 'Icelake-Server' },
  { vendor: 'GenuineIntel', family: 6, model: 158, name: 'Skylake-Client' },
  { vendor: 'AuthenticAMD', family: 23, model: 1, name: 'EPYC' },
  { vendor: 'AuthenticAMD', family: 23, model: 49, name: 'EPYC-Rome' },
  { vendor: 'AuthenticAMD', family: 25, model: 1, name: 'EPYC-Milan' },
  // Genoa (family 25 model 17) has no model of its own before libvirt 9.x's cpu_map; 9.0 names it Milan.
  { vendor: 'AuthenticAMD', family: 25, model: 17, name: 'EPYC-Milan' },
  { vendor: 'ARM', family: 8, model: 0xd0c, name: 'Neoverse-N1' },
  { vendor: 'ARM', family: 8, model: 0xd40, name: 'Neoverse-V1' },
  { vendor: 'ARM', family: 8, model: 0xd49, name: 'Neoverse-N2' },
];

/** Escapes text and attribute values. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attrs(pairs: ReadonlyArray<readonly [string, string | number]>): string {
  return pairs.map(([k, v]) => ` ${k}='${xmlEscape(String(v))}'`).join('');
}

/** The libvirt model name for an identity, when known. */
export function libvirtModel(id: CpuIdentity): string | undefined {
  const hits = KNOWN_MODELS.filter((m) => m.vendor === id.vendor && m.family === id.family && m.model === id.model);
  return hits.find((m) => m.minStepping === undefined || (id.stepping ?? 0) >= m.minStepping)?.name;
}

/** sockets / dies / cores / threads as libvirt counts them on the online CPUs. */
export function cpuTopology(t: HostTopology): { sockets: number; dies: number; cores: number; threads: number } {
  const online = t.cpus.filter((c) => c.online);
  const sockets = Math.max(1, t.packages);
  const diesPerSocket = new Map<number, Set<number>>();
  for (const c of online) {
    const set = diesPerSocket.get(c.packageId ?? 0) ?? new Set<number>();
    set.add(c.dieId ?? 0);
    diesPerSocket.set(c.packageId ?? 0, set);
  }
  const dies = Math.max(1, ...[...diesPerSocket.values()].map((s) => s.size));
  const threads = Math.max(1, t.threadsPerCore);
  const cores = Math.max(1, Math.floor(t.cores / (sockets * dies)));
  return { sockets, dies, cores, threads };
}

function cpuXml(t: HostTopology, extras: LibvirtHostFacts['cpuinfo']): string[] {
  const id = t.identity;
  const lines = ['    <cpu>', `      <arch>${t.arch}</arch>`];
  const model = libvirtModel(id);
  if (model !== undefined) lines.push(`      <model>${xmlEscape(model)}</model>`);
  const vendor = id.vendor === undefined ? undefined : (X86_VENDOR[id.vendor] ?? id.vendor);
  if (vendor !== undefined) lines.push(`      <vendor>${xmlEscape(vendor)}</vendor>`);
  if (t.arch === 'x86_64' && extras.microcode !== undefined)
    lines.push(`      <microcode version='${extras.microcode}'/>`);
  if (
    t.arch === 'x86_64' &&
    id.family !== undefined &&
    id.family > 0 &&
    id.model !== undefined &&
    id.stepping !== undefined
  ) {
    lines.push(
      `      <signature${attrs([
        ['family', id.family],
        ['model', id.model],
        ['stepping', id.stepping],
      ])}/>`,
    );
  }
  const topo = cpuTopology(t);
  lines.push(
    `      <topology${attrs([
      ['sockets', topo.sockets],
      ['dies', topo.dies],
      ['cores', topo.cores],
      ['threads', topo.threads],
    ])}/>`,
  );
  // libvirt reports the host's physical address width as mode 'emulate' with its bits.
  if (extras.physBits !== undefined) lines.push(`      <maxphysaddr mode='emulate' bits='${extras.physBits}'/>`);
  for (const size of [4, ...t.hugePageSizesKiB]) lines.push(`      <pages unit='KiB' size='${size}'/>`);
  lines.push('    </cpu>');
  return lines;
}

function powerXml(support: SleepSupport | undefined): string[] {
  const elements = (support?.targets ?? [])
    .filter((t) => t.supported)
    .flatMap((t) => (PM_ELEMENT[t.target] === undefined ? [] : [PM_ELEMENT[t.target] as string]));
  if (elements.length === 0) return ['    <power_management/>'];
  return ['    <power_management>', ...elements.map((e) => `      <${e}/>`), '    </power_management>'];
}

function placementXml(c: CpuPlacement): string {
  const full =
    c.online &&
    c.packageId !== undefined &&
    c.dieId !== undefined &&
    c.coreId !== undefined &&
    c.threadSiblings !== undefined;
  if (!full) return `            <cpu id='${c.cpu}'/>`;
  return `            <cpu${attrs([
    ['id', c.cpu],
    ['socket_id', c.packageId],
    ['die_id', c.dieId],
    ['core_id', c.coreId],
    ['siblings', formatCpuList(c.threadSiblings)],
  ])}/>`;
}

function topologyXml(f: LibvirtHostFacts): string[] {
  const t = f.topology;
  // Without NUMA in sysfs libvirt shows one cell holding every CPU and all memory.
  const cells = t.numaNodes.length > 0 ? t.numaNodes : [{ id: 0, cpus: t.online, memTotalKiB: t.memTotalKiB }];
  const lines = ['    <topology>', `      <cells num='${cells.length}'>`];
  for (const cell of cells) {
    const extras = f.nodes.find((n) => n.id === cell.id);
    lines.push(`        <cell id='${cell.id}'>`);
    if (cell.memTotalKiB !== undefined) {
      lines.push(`          <memory unit='KiB'>${cell.memTotalKiB}</memory>`);
      const huge = extras?.hugePages ?? [];
      const hugeKiB = huge.reduce((sum, p) => sum + p.sizeKiB * p.count, 0);
      lines.push(
        `          <pages unit='KiB' size='4'>${Math.max(0, Math.floor((cell.memTotalKiB - hugeKiB) / 4))}</pages>`,
      );
      for (const p of huge) lines.push(`          <pages unit='KiB' size='${p.sizeKiB}'>${p.count}</pages>`);
    }
    if (extras !== undefined && extras.distances.length > 0) {
      lines.push(
        '          <distances>',
        ...extras.distances.map((d) => `            <sibling id='${d.id}' value='${d.value}'/>`),
        '          </distances>',
      );
    }
    const cpus = t.cpus.filter((c) => cell.cpus.includes(c.cpu));
    lines.push(`          <cpus num='${cpus.length}'>`, ...cpus.map(placementXml), '          </cpus>');
    lines.push('        </cell>');
  }
  lines.push('      </cells>', '    </topology>');
  return lines;
}

const CACHE_TYPE: Readonly<Record<string, string>> = { Unified: 'both', Data: 'data', Instruction: 'code' };

/** Size in the largest unit that divides it exactly, as libvirt prints bank sizes. */
function scaledSize(kib: number): { size: number; unit: string } {
  return kib % 1024 === 0 ? { size: kib / 1024, unit: 'MiB' } : { size: kib, unit: 'KiB' };
}

function cacheXml(caches: readonly CpuCache[]): string[] {
  // libvirt reports level 3 and up: the levels resctrl can allocate.
  const banks = caches.filter(
    (c) => c.level >= 3 && c.sizeKiB !== undefined && Number.isInteger(c.sizeKiB) && CACHE_TYPE[c.type] !== undefined,
  );
  if (banks.length === 0) return [];
  const lines = ['    <cache>'];
  banks.forEach((c, i) => {
    const { size, unit } = scaledSize(c.sizeKiB as number);
    lines.push(
      `      <bank${attrs([
        ['id', c.id ?? i],
        ['level', c.level],
        ['type', CACHE_TYPE[c.type] as string],
        ['size', size],
        ['unit', unit],
        ['cpus', formatCpuList(c.sharedCpus)],
      ])}/>`,
    );
  });
  lines.push('    </cache>');
  return lines;
}

/** Builds the capabilities document (host part only; vpmd knows no guest emulators). */
export function buildLibvirtCapabilities(f: LibvirtHostFacts, support: SleepSupport | undefined): string {
  const lines = [
    '<capabilities>',
    '',
    '  <host>',
    `    <uuid>${f.uuid}</uuid>`,
    ...cpuXml(f.topology, f.cpuinfo),
    ...powerXml(support),
    `    <iommu support='${f.iommu ? 'yes' : 'no'}'/>`,
    ...topologyXml(f),
    ...cacheXml(f.topology.caches),
    '  </host>',
    '',
    '</capabilities>',
    '',
  ];
  return lines.join('\n');
}
