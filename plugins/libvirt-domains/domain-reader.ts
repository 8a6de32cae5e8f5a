/**
 * Reads one running domain as `domains@1` describes it, from libvirt-dbus:
 * - identity from the domain object's properties (`Name`, `UUID`);
 * - state and CPU times from `GetStats(STATE | CPU_TOTAL | VCPU)`: `state.state`, `cpu.time`,
 *   `vcpu.current`, `vcpu.N.state`, `vcpu.N.time` (nanoseconds, reported here in µs);
 * - pins from `GetVcpuPinInfo` and `GetEmulatorPinInfo`;
 * - metadata from the live XML (`<title>`, Nova's `<nova:instance>`, vpmd's latency class);
 * - host thread ids from the QEMU process: libvirt starts QEMU with `debug-threads=on`, so a
 *   vCPU thread is named `CPU N/KVM` (or `CPU N/TCG`) in `/proc/<pid>/task/<tid>/comm`; the pid
 *   is in `/run/libvirt/qemu/<name>.pid`. Where that cannot be read (libvirt's Test driver, or
 *   another host) thread ids are null and the emulator lists none.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  NOVA_METADATA_NAMESPACE,
  type DomainChannel,
  VPMD_METADATA_NAMESPACE,
  type DomainInfo,
  type DomainMetadata,
  type DomainState,
  type DomainVcpu,
  type VcpuState,
} from 'vpmd';
import { DOMAIN, type LibvirtBus } from './libvirt-bus.js';

/** virDomainStatsTypes: STATE | CPU_TOTAL | VCPU. */
const STATS = 1 | 2 | 8;
const PROPS = 'org.freedesktop.DBus.Properties';

/** dbus-next gives variants as `{ signature, value }`; 64-bit integers as BigInt. */
export function plain(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'value' in v && 'signature' in v) return plain(v.value);
  return typeof v === 'bigint' ? Number(v) : v;
}

function num(record: Record<string, unknown>, key: string): number | undefined {
  const v = plain(record[key]);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function cpusOf(mask: unknown): number[] {
  return Array.isArray(mask) ? mask.flatMap((on, cpu) => (on === true ? [cpu] : [])) : [];
}

const DOMAIN_STATE: Readonly<Record<number, DomainState>> = {
  1: 'running',
  2: 'running',
  3: 'paused',
  7: 'pmsuspended',
};
const VCPU_STATE: Readonly<Record<number, VcpuState>> = { 0: 'offline', 1: 'running', 2: 'blocked' };

/** Reads the first match of `re` in `xml`, unescaping the basic XML entities. */
function attr(xml: string, re: RegExp): string | undefined {
  const m = re.exec(xml);
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** The metadata vpmd cares about, from a domain's live XML. */
export function metadataFromXml(xml: string, uuid: string): DomainMetadata {
  const title = attr(xml, /<title>([^<]*)<\/title>/);
  const nsPrefix = (ns: string): string | undefined =>
    attr(xml, new RegExp(`xmlns:([A-Za-z_][\\w.-]*)=["']${ns.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}["']`));
  const nova = nsPrefix(NOVA_METADATA_NAMESPACE);
  const vpmd = nsPrefix(VPMD_METADATA_NAMESPACE);
  const out: { title?: string; nova?: DomainMetadata['nova']; latencyClass?: string } = {};
  if (title !== undefined) out.title = title;
  if (nova !== undefined && xml.includes(`<${nova}:instance`)) {
    const project = attr(xml, new RegExp(`<${nova}:project uuid=["']([^"']+)["']`));
    const projectName = attr(xml, new RegExp(`<${nova}:project[^>]*>([^<]*)<`));
    const user = attr(xml, new RegExp(`<${nova}:user uuid=["']([^"']+)["']`));
    const flavor = attr(xml, new RegExp(`<${nova}:flavor name=["']([^"']+)["']`));
    out.nova = {
      instanceId: uuid,
      ...(project !== undefined ? { projectId: project } : {}),
      ...(projectName !== undefined ? { projectName } : {}),
      ...(user !== undefined ? { userId: user } : {}),
      ...(flavor !== undefined ? { flavor } : {}),
    };
  }
  if (vpmd !== undefined) {
    const cls = attr(xml, new RegExp(`<${vpmd}:power[^>]*latency-class=["']([^"']+)["']`));
    if (cls !== undefined) out.latencyClass = cls;
  }
  return out;
}

/** The UNIX-socket virtio-serial channels of a domain's XML (`<channel type='unix'>`), in order. */
export function channelsFromXml(xml: string): DomainChannel[] {
  const out: DomainChannel[] = [];
  for (const m of xml.matchAll(/<channel\s+type=['"]unix['"][^>]*>([\s\S]*?)<\/channel>/g)) {
    const body = m[1] ?? '';
    const path = attr(body, /<source\b[^>]*\bpath=['"]([^'"]+)['"]/);
    const target = attr(body, /<target\b[^>]*\bname=['"]([^'"]+)['"]/);
    if (path !== undefined && target !== undefined) out.push({ target, path });
  }
  return out;
}

/** vCPU thread ids (by vCPU index) and the other threads of a QEMU process. */
async function qemuThreads(name: string): Promise<{ pid?: number; vcpu: Map<number, number>; emulator: number[] }> {
  const vcpu = new Map<number, number>();
  const emulator: number[] = [];
  let pid: number;
  try {
    pid = Number((await readFile(join('/run/libvirt/qemu', `${name}.pid`), 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return { vcpu, emulator };
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const comm = (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => '')).trim();
      const m = /^CPU (\d+)\/(KVM|TCG)$/.exec(comm);
      if (m) vcpu.set(Number(m[1]), Number(tid));
      else emulator.push(Number(tid));
    }
  } catch {
    return { vcpu, emulator };
  }
  return { pid, vcpu, emulator: emulator.sort((a, b) => a - b) };
}

/** When a domain was first seen running, by UUID (libvirt does not say when it started). */
export type StartTimes = Map<string, number>;

/** Reads the domain at object `path`; undefined when it no longer runs. */
export async function readDomain(lv: LibvirtBus, path: string, started: StartTimes): Promise<DomainInfo | undefined> {
  const [props] = await lv.libvirt(path, PROPS, 'GetAll', 's', [DOMAIN]);
  const p = (props ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const name = text(plain(p.Name));
  const uuid = text(plain(p.UUID)).toLowerCase();
  const [statsRaw] = await lv.libvirt(path, DOMAIN, 'GetStats', 'uu', [STATS, 0]);
  const stats = (statsRaw ?? {}) as Record<string, unknown>;
  const state = DOMAIN_STATE[num(stats, 'state.state') ?? 0];
  if (state === undefined) return undefined;
  const [pinMasks] = await lv.libvirt(path, DOMAIN, 'GetVcpuPinInfo', 'u', [0]);
  const [emuMask] = await lv.libvirt(path, DOMAIN, 'GetEmulatorPinInfo', 'u', [0]).catch(() => [[]]);
  const [xml] = await lv.libvirt(path, DOMAIN, 'GetXMLDesc', 'u', [0]);
  const threads = await qemuThreads(name);
  const count = num(stats, 'vcpu.current') ?? (Array.isArray(pinMasks) ? pinMasks.length : 0);
  const vcpus: DomainVcpu[] = [];
  let vcpuNs = 0;
  for (let i = 0; i < count; i++) {
    const ns = num(stats, `vcpu.${i}.time`) ?? 0;
    vcpuNs += ns;
    vcpus.push({
      index: i,
      threadId: threads.vcpu.get(i) ?? null,
      pins: Array.isArray(pinMasks) ? cpusOf(pinMasks[i]) : [],
      cpuTimeUs: Math.floor(ns / 1000),
      state: VCPU_STATE[num(stats, `vcpu.${i}.state`) ?? 1] ?? 'running',
    });
  }
  const totalNs = num(stats, 'cpu.time') ?? vcpuNs;
  if (!started.has(uuid)) started.set(uuid, Date.now());
  return {
    uuid,
    name,
    state,
    ...(threads.pid !== undefined ? { pid: threads.pid } : {}),
    startedAt: started.get(uuid) ?? Date.now(),
    metadata: metadataFromXml(typeof xml === 'string' ? xml : '', uuid),
    channels: channelsFromXml(typeof xml === 'string' ? xml : ''),
    vcpus,
    // cpu.time covers the whole process: what the vCPU threads did not use, the emulator did.
    emulator: {
      threadIds: threads.emulator,
      pins: cpusOf(emuMask),
      cpuTimeUs: Math.max(0, Math.floor((totalNs - vcpuNs) / 1000)),
    },
    sampledAt: Date.now(),
  };
}
