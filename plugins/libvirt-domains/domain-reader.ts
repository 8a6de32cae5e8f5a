/**
 * Reads one running domain's structure as `domains@1` describes it, from libvirt-dbus (five
 * calls: read at start, on the domain's events and on the periodic refresh, not every `list()`):
 * - identity from the domain object's properties (`Name`, `UUID`);
 * - state from `GetStats(STATE | CPU_TOTAL | VCPU)`: `state.state`, `vcpu.current`,
 *   `vcpu.N.state`; the same call's `cpu.time` and `vcpu.N.time` (ns) are libvirt's CPU times,
 *   used only where the threads cannot be read from /proc (proc-cpu-times.ts);
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

/** What the QEMU process's threads say, or why they could not be read. */
interface QemuThreads {
  readonly pid?: number;
  readonly vcpu: Map<number, number>;
  readonly emulator: number[];
  /** Why the threads are not known (no pid file, /proc not readable): where /proc cannot serve. */
  readonly unreadable?: string;
}

/** vCPU thread ids (by vCPU index) and the other threads of a QEMU process. */
async function qemuThreads(name: string): Promise<QemuThreads> {
  const vcpu = new Map<number, number>();
  const emulator: number[] = [];
  const pidFile = join('/run/libvirt/qemu', `${name}.pid`);
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch (e) {
    return { vcpu, emulator, unreadable: `${pidFile}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` };
  }
  if (!Number.isInteger(pid) || pid <= 0) return { vcpu, emulator, unreadable: `${pidFile} holds no pid` };
  try {
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const comm = (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => '')).trim();
      const m = /^CPU (\d+)\/(KVM|TCG)$/.exec(comm);
      if (m) vcpu.set(Number(m[1]), Number(tid));
      else emulator.push(Number(tid));
    }
  } catch (e) {
    // Another PID namespace (vpmd in a container) or hidepid: libvirt's pid is not ours to read.
    return {
      vcpu,
      emulator: [],
      unreadable: `/proc/${pid}/task: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    };
  }
  return { pid, vcpu, emulator: emulator.sort((a, b) => a - b) };
}

/** When a domain was first seen running, by UUID (libvirt does not say when it started). */
export type StartTimes = Map<string, number>;

/** CPU times in µs: each vCPU's (by index) and the emulator's. */
export interface CpuTimes {
  readonly vcpuUs: readonly number[];
  readonly emulatorUs: number;
}

/** One vCPU's structure: everything but its CPU time. */
export interface VcpuStructure {
  readonly index: number;
  readonly threadId: number | null;
  readonly pins: readonly number[];
  readonly state: VcpuState;
}

/** A running domain's structure: what changes only with its events (or a missed one). */
export interface DomainStructure {
  /** The libvirt-dbus object path. */
  readonly path: string;
  readonly uuid: string;
  readonly name: string;
  readonly state: DomainState;
  readonly pid?: number;
  readonly metadata: DomainMetadata;
  readonly channels: readonly DomainChannel[];
  readonly vcpus: readonly VcpuStructure[];
  readonly emulator: { readonly threadIds: readonly number[]; readonly pins: readonly number[] };
  /** Why its threads cannot be read from /proc, when they cannot. */
  readonly procUnreadable?: string;
  /** libvirt's CPU times from the same read. */
  readonly libvirtTimes: CpuTimes;
}

/** libvirt's CPU times from a `GetStats` record (ns → µs); emulator = `cpu.time` minus the vCPUs. */
function timesFromStats(stats: Record<string, unknown>, count: number): CpuTimes {
  const vcpuUs: number[] = [];
  let vcpuNs = 0;
  for (let i = 0; i < count; i++) {
    const ns = num(stats, `vcpu.${i}.time`) ?? 0;
    vcpuNs += ns;
    vcpuUs.push(Math.floor(ns / 1000));
  }
  // cpu.time covers the whole process: what the vCPU threads did not use, the emulator did.
  const totalNs = num(stats, 'cpu.time') ?? vcpuNs;
  return { vcpuUs, emulatorUs: Math.max(0, Math.floor((totalNs - vcpuNs) / 1000)) };
}

async function stats(lv: LibvirtBus, path: string): Promise<Record<string, unknown>> {
  const [statsRaw] = await lv.libvirt(path, DOMAIN, 'GetStats', 'uu', [STATS, 0]);
  return (statsRaw ?? {}) as Record<string, unknown>;
}

/** libvirt's CPU times and the pins of a domain, read together (see {@link readLibvirtTimes}). */
export interface LibvirtTimesAndPins {
  readonly times: CpuTimes;
  readonly vcpuPins: ReadonlyArray<readonly number[]>;
  readonly emulatorPins: readonly number[];
}

/**
 * libvirt's CPU times of the domain at `path` and its pins (three calls: `GetStats`,
 * `GetVcpuPinInfo`, `GetEmulatorPinInfo`), for a domain whose threads /proc cannot read: its
 * pins are read with them because a driver without a QEMU process may change pins without a
 * `Tunable` signal (libvirt's Test driver does). Undefined when it no longer runs.
 */
export async function readLibvirtTimes(
  lv: LibvirtBus,
  path: string,
  count: number,
): Promise<LibvirtTimesAndPins | undefined> {
  const [s, [pinMasks], [emuMask]] = await Promise.all([
    stats(lv, path),
    lv.libvirt(path, DOMAIN, 'GetVcpuPinInfo', 'u', [0]),
    lv.libvirt(path, DOMAIN, 'GetEmulatorPinInfo', 'u', [0]).catch(() => [[]]),
  ]);
  if (DOMAIN_STATE[num(s, 'state.state') ?? 0] === undefined) return undefined;
  return {
    times: timesFromStats(s, count),
    vcpuPins: Array.from({ length: count }, (_, i) => (Array.isArray(pinMasks) ? cpusOf(pinMasks[i]) : [])),
    emulatorPins: cpusOf(emuMask),
  };
}

/** Reads the structure of the domain at object `path` (five calls); undefined when it no longer runs. */
export async function readStructure(lv: LibvirtBus, path: string): Promise<DomainStructure | undefined> {
  const [props] = await lv.libvirt(path, PROPS, 'GetAll', 's', [DOMAIN]);
  const p = (props ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const name = text(plain(p.Name));
  const uuid = text(plain(p.UUID)).toLowerCase();
  const s = await stats(lv, path);
  const state = DOMAIN_STATE[num(s, 'state.state') ?? 0];
  if (state === undefined) return undefined;
  const [pinMasks] = await lv.libvirt(path, DOMAIN, 'GetVcpuPinInfo', 'u', [0]);
  const [emuMask] = await lv.libvirt(path, DOMAIN, 'GetEmulatorPinInfo', 'u', [0]).catch(() => [[]]);
  const [xml] = await lv.libvirt(path, DOMAIN, 'GetXMLDesc', 'u', [0]);
  const threads = await qemuThreads(name);
  const count = num(s, 'vcpu.current') ?? (Array.isArray(pinMasks) ? pinMasks.length : 0);
  const vcpus: VcpuStructure[] = [];
  for (let i = 0; i < count; i++)
    vcpus.push({
      index: i,
      threadId: threads.vcpu.get(i) ?? null,
      pins: Array.isArray(pinMasks) ? cpusOf(pinMasks[i]) : [],
      state: VCPU_STATE[num(s, `vcpu.${i}.state`) ?? 1] ?? 'running',
    });
  const online = vcpus.filter((v) => v.state !== 'offline');
  const procUnreadable =
    threads.unreadable ??
    (online.some((v) => v.threadId === null)
      ? `no 'CPU N/KVM' thread for every vCPU in /proc/${threads.pid}/task`
      : undefined);
  const x = typeof xml === 'string' ? xml : '';
  return {
    path,
    uuid,
    name,
    state,
    ...(threads.pid !== undefined ? { pid: threads.pid } : {}),
    metadata: metadataFromXml(x, uuid),
    channels: channelsFromXml(x),
    vcpus,
    emulator: { threadIds: threads.emulator, pins: cpusOf(emuMask) },
    ...(procUnreadable !== undefined ? { procUnreadable } : {}),
    libvirtTimes: timesFromStats(s, count),
  };
}

/** The `domains@1` view of a structure with its CPU times. */
export function domainInfo(s: DomainStructure, times: CpuTimes, startedAt: number, sampledAt: number): DomainInfo {
  return {
    uuid: s.uuid,
    name: s.name,
    state: s.state,
    ...(s.pid !== undefined ? { pid: s.pid } : {}),
    startedAt,
    metadata: s.metadata,
    channels: s.channels,
    vcpus: s.vcpus.map((v, i): DomainVcpu => ({
      index: v.index,
      threadId: v.threadId,
      pins: v.pins,
      cpuTimeUs: times.vcpuUs[i] ?? 0,
      state: v.state,
    })),
    emulator: { threadIds: s.emulator.threadIds, pins: s.emulator.pins, cpuTimeUs: times.emulatorUs },
    sampledAt,
  };
}
