/**
 * Handles one guest message as DPDK's host does, plus what it lacks: per-VM rate limiting,
 * host bounds, and counters (accepted, clamped, limited, refused) per VM and channel.
 *
 * - CPU_POWER: ACK/NACK echo. PKT_POLICY: ACK echo for WORKLOAD and TIME, then the policy is
 *   applied; TRAFFIC and BRANCH_RATIO need NIC or branch-miss counters vpmd does not read: NACK
 *   and refused, never silently accepted. PKT_POLICY_REMOVE: no reply. CONNECT: ignored.
 * - Queries: answered only for VMs whose queries are enabled (else silently nothing, as DPDK),
 *   and only about the VM owning the channel (`vm_name` empty or naming it).
 * - Unknown commands: logged with the channel, NACK.
 */
import type { AccessPolicy, Logger, Principal, Privilege } from 'vpmd';
import {
  decodeRequest,
  encodeAck,
  encodeCapsList,
  encodeFreqList,
  peekRequest,
  type PacketHeader,
  type PowerPacket,
} from './protocol/packet-codec.js';
import {
  COMMAND_NAMES,
  Command,
  MAX_VCPU_PER_VM,
  Policy,
  POLICY_NAMES,
  REQUEST_OFFSETS,
  UNIT_NAMES,
  Workload,
} from './protocol/packet-layout.js';
import type { Level, PowerControl } from './power/power-control.js';
import type { ChannelRecord, Counters, GuestPolicy, VmRecord } from './vm-registry.js';

/** Rate limit: a token bucket per VM. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** What the handler needs. */
export interface HandlerDeps {
  readonly control: PowerControl;
  readonly rate: RateLimit;
  readonly log: Logger;
  readonly access: AccessPolicy;
  now(): number;
  /** Host turbo available to guests (for CAPS_LIST). */
  turboAvailable(pcpu: number): Promise<boolean>;
  /** Persists a policy change. */
  policyChanged(vm: VmRecord): void;
}

type Outcome = keyof Counters;

/** When each VM was last warned about, for log throttling. */
const lastWarn = new WeakMap<VmRecord, number>();

function count(vm: VmRecord, ch: ChannelRecord | undefined, what: Outcome): void {
  vm.counters[what]++;
  if (ch) ch.counters[what]++;
}

/** Principals by VM, rebuilt when the VM's role changes (checked on every request). */
const principals = new WeakMap<VmRecord, Principal>();

/** The principal a VM's guests act as. */
export function guestPrincipal(vm: VmRecord): Principal {
  const known = principals.get(vm);
  if (known?.role === vm.role) return known;
  const p: Principal = { name: `vm:${vm.name}`, role: vm.role, origin: 'guest-channel' };
  principals.set(vm, p);
  return p;
}

/** Why the VM's role forbids an action, or undefined when allowed (refusals are audited). */
function denied(deps: HandlerDeps, vm: VmRecord, privilege: Privilege, action: string): string | undefined {
  const principal = guestPrincipal(vm);
  if (deps.access.can(principal, privilege)) return undefined;
  try {
    deps.access.require(principal, privilege, action);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Takes a token from the VM's bucket; false when the VM is over its rate. */
export function takeToken(vm: VmRecord, rate: RateLimit, now: number): boolean {
  const elapsed = Math.max(0, now - vm.refilledAt) / 1000;
  vm.tokens = Math.min(rate.burst, vm.tokens + elapsed * rate.perSecond);
  vm.refilledAt = now;
  if (vm.tokens < 1) return false;
  vm.tokens -= 1;
  return true;
}

/** The level a policy asks for now, or undefined when it leaves the vCPU alone. */
export function policyLevel(policy: GuestPolicy, hour: number): Level | undefined {
  if (policy.type === 'WORKLOAD')
    return policy.workload === Workload.HIGH ? 'max' : policy.workload === Workload.MEDIUM ? 'medium' : 'min';
  if (policy.busyHours.includes(hour)) return 'max';
  if (policy.quietHours.includes(hour)) return 'min';
  return undefined;
}

/** Applies a VM's policy now; returns how many vCPUs it set. */
export async function applyPolicy(deps: HandlerDeps, vm: VmRecord): Promise<number> {
  if (!vm.policy) return 0;
  const level = policyLevel(vm.policy, new Date(deps.now()).getHours());
  if (!level) return 0;
  let n = 0;
  for (const vcpu of vm.policy.vcpus) {
    const r = await deps.control.setLevel(vm, vcpu, level);
    if (r.ok) n++;
    else deps.log.debug({ vm: vm.name, vcpu, reason: r.reason }, 'policy cannot scale a vCPU');
  }
  return n;
}

function toPolicy(p: PowerPacket): GuestPolicy {
  const hours = (list: readonly number[]): number[] =>
    [...new Set(list.filter((h) => h >= 0 && h <= 23))].sort((a, b) => a - b);
  return {
    type: p.policyToUse === Policy.TIME ? 'TIME' : 'WORKLOAD',
    vcpus: [...new Set(p.vcpuToControl.slice(0, Math.min(p.numVcpu, MAX_VCPU_PER_VM)))],
    workload: Math.min(2, p.workload),
    busyHours: hours(p.busyHours),
    quietHours: hours(p.quietHours),
  };
}

function vcpuOf(deps: HandlerDeps, vm: VmRecord, p: PacketHeader): number | string {
  if (p.resourceId > 4096n) return `resource_id ${p.resourceId} is out of range`;
  const id = Number(p.resourceId);
  if (!p.corePhysical) return id;
  // A physical core is honoured only when one of this VM's vCPUs is pinned to it alone.
  const n = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
  for (let v = 0; v < n; v++) {
    const pcpus = deps.control.pcpusOf(vm, v);
    if (pcpus?.length === 1 && pcpus[0] === id) return v;
  }
  return `pCPU ${id} is not pinned to a vCPU of VM '${vm.name}'`;
}

async function answerQuery(deps: HandlerDeps, vm: VmRecord, p: PacketHeader): Promise<Buffer> {
  const nv = Math.min(MAX_VCPU_PER_VM, Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length));
  const pcpus = Array.from({ length: nv }, (_, v) => deps.control.pcpusOf(vm, v)?.[0]);
  const head = { resourceId: p.resourceId, unit: p.unit, vmName: vm.name, numVcpu: nv };
  if (p.command === Command.QUERY_FREQ_LIST || p.command === Command.QUERY_FREQ) {
    const only = p.command === Command.QUERY_FREQ ? Number(p.resourceId) : undefined;
    const freqList = await Promise.all(
      pcpus.map(async (pc, v) =>
        pc === undefined || (only !== undefined && v !== only) ? 0 : deps.control.currentKHz(pc),
      ),
    );
    return encodeFreqList({ ...head, freqList });
  }
  const only = p.command === Command.QUERY_CAPS ? Number(p.resourceId) : undefined;
  const turbo = await Promise.all(
    pcpus.map(async (pc, v) =>
      pc === undefined || (only !== undefined && v !== only) ? 0 : (await deps.turboAvailable(pc)) ? 1 : 0,
    ),
  );
  return encodeCapsList({ ...head, turbo, priority: pcpus.map(() => 0) });
}

/** A frame being refused, and where it came from (for the log line). */
interface Refused {
  readonly deps: HandlerDeps;
  readonly vm: VmRecord;
  readonly ch: ChannelRecord | undefined;
  readonly p: PacketHeader;
  readonly frame: Buffer;
}

/** Counts and logs a refusal; returns the NACK when the protocol has one. */
function refuse({ deps, vm, ch, p, frame }: Refused, reason: string, reply: boolean): Buffer | undefined {
  count(vm, ch, 'refused');
  const where = { vm: vm.name, channel: ch?.num, command: COMMAND_NAMES[p.command] ?? p.command, reason };
  // At most one warning per VM per second: a misbehaving guest must not flood the log.
  const now = deps.now();
  if (now - (lastWarn.get(vm) ?? 0) >= 1000) {
    lastWarn.set(vm, now);
    deps.log.warn({ ...where, refused: vm.counters.refused }, 'guest power request refused');
  } else if (deps.log.isLevelEnabled('debug')) deps.log.debug(where, 'guest power request refused');
  return reply ? encodeAck(frame, false) : undefined;
}

/** Handles one 464-byte frame from a channel of `vm`; returns the reply, if any. */
export async function handleFrame(
  deps: HandlerDeps,
  vm: VmRecord,
  ch: ChannelRecord | undefined,
  frame: Buffer,
): Promise<Buffer | undefined> {
  if (ch && !ch.enabled) return undefined; // DPDK reads and drops a disabled channel's messages.
  const p = peekRequest(frame);
  const isQuery = p.command >= Command.QUERY_FREQ_LIST && p.command <= Command.QUERY_CAPS;
  if (p.command === Command.CPU_POWER_CONNECT) return undefined;
  // Every other message costs a token, queries and garbage included.
  if (!takeToken(vm, deps.rate, deps.now())) {
    count(vm, ch, 'limited');
    return isQuery || p.command === Command.PKT_POLICY_REMOVE ? undefined : encodeAck(frame, false);
  }
  if (ch) ch.processing = true;
  try {
    switch (p.command) {
      case Command.CPU_POWER: {
        const no = denied(deps, vm, 'ConfigureComponents', 'guest CPU_POWER');
        if (no) return refuse({ deps, vm, ch, p, frame }, no, true);
        const vcpu = vcpuOf(deps, vm, p);
        if (typeof vcpu === 'string') return refuse({ deps, vm, ch, p, frame }, vcpu, true);
        const r = await deps.control.request(vm, vcpu, p.unit);
        if (!r.ok) return refuse({ deps, vm, ch, p, frame }, r.reason ?? 'refused', true);
        count(vm, ch, 'accepted');
        if (r.clamped) count(vm, ch, 'clamped');
        if (deps.log.isLevelEnabled('debug')) {
          deps.log.debug(
            { vm: vm.name, channel: ch?.num, command: 'CPU_POWER', vcpu, unit: UNIT_NAMES[p.unit] },
            'guest power request applied',
          );
        }
        return encodeAck(frame, true);
      }
      case Command.PKT_POLICY: {
        const no = denied(deps, vm, 'ConfigureComponents', 'guest PKT_POLICY');
        if (no) return refuse({ deps, vm, ch, p, frame }, no, true);
        const policyToUse = frame.readUInt32LE(REQUEST_OFFSETS.policy_to_use);
        if (policyToUse !== Policy.WORKLOAD && policyToUse !== Policy.TIME) {
          const name = POLICY_NAMES[policyToUse] ?? `policy ${policyToUse}`;
          return refuse(
            { deps, vm, ch, p, frame },
            `${name} policies need NIC or branch-miss counters this host does not provide; only WORKLOAD and TIME are supported`,
            true,
          );
        }
        const policy = toPolicy(decodeRequest(frame));
        if (policy.vcpus.length === 0)
          return refuse({ deps, vm, ch, p, frame }, 'the policy names no vCPU (num_vcpu is 0)', true);
        vm.policy = policy;
        deps.policyChanged(vm);
        count(vm, ch, 'accepted');
        // ACK first, as DPDK: the policy is applied after the reply is queued.
        setImmediate(
          () =>
            void applyPolicy(deps, vm).catch((e: unknown) =>
              deps.log.warn({ vm: vm.name, err: String(e) }, 'policy apply failed'),
            ),
        );
        return encodeAck(frame, true);
      }
      case Command.PKT_POLICY_REMOVE: {
        if (vm.policy) {
          const vcpus = vm.policy.vcpus;
          vm.policy = undefined;
          deps.policyChanged(vm);
          for (const v of vcpus) vm.requests.delete(v);
          await deps.control.reapply();
        }
        count(vm, ch, 'accepted');
        return undefined;
      }
      case Command.QUERY_FREQ_LIST:
      case Command.QUERY_FREQ:
      case Command.QUERY_CAPS_LIST:
      case Command.QUERY_CAPS: {
        if (!vm.query)
          return refuse(
            { deps, vm, ch, p, frame },
            `queries are disabled for VM '${vm.name}' (set_query ${vm.name} enable)`,
            false,
          );
        if (p.vmName !== '' && p.vmName !== vm.name)
          return refuse(
            { deps, vm, ch, p, frame },
            `query names VM '${p.vmName}' but the channel belongs to '${vm.name}'`,
            false,
          );
        const no = denied(deps, vm, 'Login', 'guest query');
        if (no) return refuse({ deps, vm, ch, p, frame }, no, false);
        count(vm, ch, 'accepted');
        return await answerQuery(deps, vm, p);
      }
      default:
        return refuse({ deps, vm, ch, p, frame }, `unknown command ${p.command}`, true);
    }
  } catch (e) {
    return refuse(
      { deps, vm, ch, p, frame },
      `failed: ${e instanceof Error ? e.message : String(e)}`,
      p.command === Command.CPU_POWER || p.command === Command.PKT_POLICY,
    );
  } finally {
    if (ch) ch.processing = false;
  }
}
