/**
 * The VMs vpmd serves and their channels, with what survives a restart: channels and whether
 * each is enabled, query permission, bounds, host-side pins and policies. Live facts (the
 * vCPU map from libvirt, connection state, requests, counters) are rebuilt after a restart.
 */
import { Type, VpmdError, type Role, type Static } from 'vpmd';

/** DPDK's per-VM channel limit (its docs); channel numbers are lcores. */
export const MAX_CHANNELS_PER_VM = 64;
/** DPDK's RTE_MAX_LCORE: the highest channel number is one less. */
export const MAX_CHANNEL_NUMBER = 127;
/** VM names fit DPDK's `char vm_name[32]` with its NUL. */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/;

/** Channel status as DPDK names it. */
export type ChannelStatus = 'CONNECTED' | 'DISCONNECTED' | 'DISABLED' | 'PROCESSING';

/**
 * Request counters. `accepted`: requests applied and ACKed (or answered); `coalesced`: accepted
 * requests whose change joined one already waiting for the pCPU's change limit (the latest
 * frequency wins); `clamped`: accepted requests the host bounds moved; `limited`: messages that
 * waited for the channel's message budget (delayed, never refused); `refused`: NACKed or
 * unanswered because policy forbids them; `denied`: the refused requests to raise the frequency
 * that a raise denial (a VM over its power budget, cpu-limits@1) forbade; `dropped`: bytes
 * skipped to resynchronise the stream (counted once per skip).
 */
export interface Counters {
  accepted: number;
  coalesced: number;
  clamped: number;
  limited: number;
  refused: number;
  denied: number;
  dropped: number;
}

/** A fresh set of counters. */
export function zeroCounters(): Counters {
  return { accepted: 0, coalesced: 0, clamped: 0, limited: 0, refused: 0, denied: 0, dropped: 0 };
}

const BoundsSchema = Type.Object({
  minKHz: Type.Optional(Type.Integer({ minimum: 1 })),
  maxKHz: Type.Optional(Type.Integer({ minimum: 1 })),
});

const PolicySchema = Type.Object({
  type: Type.Union([Type.Literal('WORKLOAD'), Type.Literal('TIME')]),
  vcpus: Type.Array(Type.Integer({ minimum: 0 })),
  workload: Type.Integer({ minimum: 0, maximum: 2 }),
  busyHours: Type.Array(Type.Integer({ minimum: 0, maximum: 23 })),
  quietHours: Type.Array(Type.Integer({ minimum: 0, maximum: 23 })),
});

/** A PKT_POLICY a guest installed (only WORKLOAD and TIME are honoured). */
export type GuestPolicy = Static<typeof PolicySchema>;

const VmStateSchema = Type.Object({
  name: Type.String(),
  channels: Type.Array(
    Type.Object({ num: Type.Integer({ minimum: 0 }), path: Type.String(), enabled: Type.Boolean() }),
  ),
  query: Type.Boolean(),
  bounds: BoundsSchema,
  pins: Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  policy: Type.Optional(PolicySchema),
  role: Type.Optional(Type.Union([Type.Literal('Administrator'), Type.Literal('Operator'), Type.Literal('ReadOnly')])),
});

/** The persisted state of the plugin. */
export const REGISTRY_SPEC = {
  version: 1,
  schema: Type.Object({
    vms: Type.Array(VmStateSchema),
    pcpuBounds: Type.Array(
      Type.Object({
        pcpu: Type.Integer({ minimum: 0 }),
        minKHz: Type.Optional(Type.Integer()),
        maxKHz: Type.Optional(Type.Integer()),
      }),
    ),
    saved: Type.Array(
      Type.Object({ policy: Type.Integer(), governor: Type.String(), minKHz: Type.Integer(), maxKHz: Type.Integer() }),
    ),
  }),
} as const;

/** What {@link REGISTRY_SPEC} stores. */
export type RegistryState = Static<typeof REGISTRY_SPEC.schema>;

/** One channel of a VM. */
export interface ChannelRecord {
  readonly num: number;
  readonly path: string;
  enabled: boolean;
  connected: boolean;
  processing: boolean;
  readonly counters: Counters;
}

/** The status DPDK would show for a channel. */
export function channelStatus(c: ChannelRecord): ChannelStatus {
  if (!c.enabled) return 'DISABLED';
  if (!c.connected) return 'DISCONNECTED';
  return c.processing ? 'PROCESSING' : 'CONNECTED';
}

/** One VM. */
export interface VmRecord {
  readonly name: string;
  readonly channels: Map<number, ChannelRecord>;
  query: boolean;
  bounds: { minKHz?: number; maxKHz?: number };
  /** Host-side pins (vCPU index → pCPU), used when libvirt does not know the VM. */
  pins: Array<number | null>;
  /** Live map from `domains@1`: vCPU → pCPUs it may run on; undefined while the domain does not run. */
  vcpuMap?: number[][];
  /** True when `domains@1` lists the domain running (or paused). */
  active: boolean;
  /** The domain's UUID once `domains@1` has listed it (budget denials name VMs by UUID). */
  uuid?: string;
  /** Raw guest requests per vCPU (kHz). */
  readonly requests: Map<number, number>;
  /** vCPUs for which the guest enabled turbo. */
  readonly turbo: Set<number>;
  policy?: GuestPolicy;
  /** The role its guests act with: scaling needs ConfigureComponents, queries Login. */
  role: Role;
  readonly counters: Counters;
}

/** Validates a VM name for DPDK's 32-byte field. @throws E_COMMAND_USAGE */
export function checkVmName(name: string): void {
  if (!VM_NAME_PATTERN.test(name)) {
    throw new VpmdError(
      'E_COMMAND_USAGE',
      `VM name '${name}' is invalid: 1-31 characters, letters, digits, '.', '_' or '-', starting with a letter or digit (DPDK's vm_name is char[32])`,
      { vm: name },
    );
  }
}

/** Checks a bounds pair. @throws E_VC_BOUNDS */
export function checkBounds(what: string, b: { minKHz?: number; maxKHz?: number }): void {
  // Only the two limits: callers pass whole bounds records, whose other keys (pcpu 0) are not kHz.
  for (const [k, v] of [
    ['minKHz', b.minKHz],
    ['maxKHz', b.maxKHz],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) {
      throw new VpmdError('E_VC_BOUNDS', `${what}: ${k} must be a positive integer in kHz, got ${String(v)}`, {
        [k]: String(v),
      });
    }
  }
  if (b.minKHz !== undefined && b.maxKHz !== undefined && b.minKHz > b.maxKHz) {
    throw new VpmdError('E_VC_BOUNDS', `${what}: minKHz ${b.minKHz} is above maxKHz ${b.maxKHz}`, {
      minKHz: b.minKHz,
      maxKHz: b.maxKHz,
    });
  }
}

/** A new VM record. */
export function newVm(name: string): VmRecord {
  return {
    name,
    channels: new Map(),
    query: false,
    bounds: {},
    pins: [],
    active: false,
    requests: new Map(),
    turbo: new Set(),
    role: 'Operator',
    counters: zeroCounters(),
  };
}

/** The persisted form of a VM. */
export function vmToState(vm: VmRecord): RegistryState['vms'][number] {
  return {
    name: vm.name,
    channels: [...vm.channels.values()]
      .sort((a, b) => a.num - b.num)
      .map((c) => ({ num: c.num, path: c.path, enabled: c.enabled })),
    query: vm.query,
    bounds: { ...vm.bounds },
    pins: [...vm.pins],
    ...(vm.policy ? { policy: vm.policy } : {}),
    role: vm.role,
  };
}

/** Parses a channel list (`all`, `0,2,5-7`). @throws E_VC_CHANNEL */
export function parseChannelList(text: string): number[] | 'all' {
  if (text === 'all') return 'all';
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo > hi || hi > MAX_CHANNEL_NUMBER) {
      throw new VpmdError(
        'E_VC_CHANNEL',
        `channel list '${text}' is invalid at '${part}': use 'all' or numbers 0-${MAX_CHANNEL_NUMBER} and ranges, e.g. 0,2,4-7`,
        { list: text },
      );
    }
    for (let n = lo; n <= hi; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}
