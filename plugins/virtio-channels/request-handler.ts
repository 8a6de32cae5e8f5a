/**
 * Handles one guest message as DPDK's host does, plus what it lacks: host bounds, a change
 * limit per pCPU (in the actuator), and counters (accepted, coalesced, clamped, limited,
 * refused, dropped) per VM and channel.
 *
 * The reply is decided from memory and returned synchronously: nothing between a request and
 * its reply waits for sysfs, D-Bus, the state store or a log line (logs, audits and saves are
 * deferred with `afterReplies`, which runs after the loop turn's replies are written). Only a
 * request on a pCPU whose policy is not loaded yet returns a promise.
 *
 * - CPU_POWER: ACK/NACK echo. PKT_POLICY: ACK echo for WORKLOAD and TIME, then the policy is
 *   applied; TRAFFIC and BRANCH_RATIO need NIC or branch-miss counters vpmd does not read: NACK
 *   and refused, never silently accepted. PKT_POLICY_REMOVE: no reply. CONNECT: ignored.
 * - Queries: answered only for VMs whose queries are enabled (else silently nothing, as DPDK),
 *   and only about the VM owning the channel (`vm_name` empty or naming it).
 * - Unknown commands: logged with the channel, NACK.
 */
import type { AccessPolicy, Logger, Principal, Privilege } from 'vpmd';
import { afterReplies } from './channel/dispatcher.js';
import {
  ackInPlace,
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
  REQUEST_SIZE,
  Workload,
} from './protocol/packet-layout.js';
import type { Level, PowerControl, RequestOutcome } from './power/power-control.js';
import type { ChannelRecord, Counters, GuestPolicy, VmRecord } from './vm-registry.js';

/** What the handler needs. */
export interface HandlerDeps {
  readonly control: PowerControl;
  readonly log: Logger;
  readonly access: AccessPolicy;
  now(): number;
  /** Host turbo available to guests on a pCPU (for CAPS_LIST), from memory; undefined when not loaded. */
  turboAvailable(pcpu: number): boolean | undefined;
  /** Persists a policy change. */
  policyChanged(vm: VmRecord): void;
  /** A request was clamped by `by` (a cpu-limits claim, the VM's or the pCPU's bounds). */
  onClamped?(vm: VmRecord, by: string): void;
  /** A request to raise the frequency was denied (a cpu-limits@1 raise denial), and why. */
  onDenied?(vm: VmRecord, why: string): void;
}

type Outcome = keyof Counters;

/** When each VM was last warned about, for log throttling. */
const lastWarn = new WeakMap<VmRecord, number>();
/** When each VM's refusal was last audited. */
const lastAudit = new WeakMap<VmRecord, number>();

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

/**
 * Why the VM's role forbids an action, or undefined when allowed. The refusal is audited after
 * the reply (`require` audits), so the audit log never delays a reply.
 */
function denied(deps: HandlerDeps, vm: VmRecord, privilege: Privilege, action: string): string | undefined {
  const principal = guestPrincipal(vm);
  if (deps.access.can(principal, privilege)) return undefined;
  // At most one audit record per VM per second: a flooding guest must not flood the audit log.
  const now = deps.now();
  if (now - (lastAudit.get(vm) ?? 0) < 1000)
    return `${principal.name} (role ${principal.role}) lacks ${privilege} for ${action}`;
  lastAudit.set(vm, now);
  afterReplies(() => {
    try {
      deps.access.require(principal, privilege, action);
    } catch {
      // Expected: require audits the refusal and throws.
    }
  });
  return `${principal.name} (role ${principal.role}) lacks ${privilege} for ${action}`;
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

/**
 * The vCPU a request's `resource_id` names, or why it names none. Read from the frame as two
 * 32-bit halves: no BigInt per request.
 */
function vcpuOf(deps: HandlerDeps, vm: VmRecord, frame: Buffer): number | string {
  const id = frame.readUInt32LE(REQUEST_OFFSETS.resource_id);
  if (id > 4096 || frame.readUInt32LE(REQUEST_OFFSETS.resource_id + 4) !== 0)
    return `resource_id ${frame.readBigUInt64LE(REQUEST_OFFSETS.resource_id)} is out of range`;
  if (frame[REQUEST_OFFSETS.core_type] === 0) return id;
  // A physical core is honoured only when one of this VM's vCPUs is pinned to it alone.
  const n = Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length);
  for (let v = 0; v < n; v++) {
    const pcpus = deps.control.pcpusOf(vm, v);
    if (pcpus?.length === 1 && pcpus[0] === id) return v;
  }
  return `pCPU ${id} is not pinned to a vCPU of VM '${vm.name}'`;
}

/** Answers a query from memory; a promise only when a pCPU is not loaded yet. */
function answerQuery(deps: HandlerDeps, vm: VmRecord, p: PacketHeader): Buffer | Promise<Buffer> {
  const nv = Math.min(MAX_VCPU_PER_VM, Math.max(vm.vcpuMap?.length ?? 0, vm.pins.length));
  const pcpus = Array.from({ length: nv }, (_, v) => deps.control.pcpusOf(vm, v)?.[0]);
  const head = { resourceId: p.resourceId, unit: p.unit, vmName: vm.name, numVcpu: nv };
  const freqs = p.command === Command.QUERY_FREQ_LIST || p.command === Command.QUERY_FREQ;
  const only = p.command === Command.QUERY_FREQ || p.command === Command.QUERY_CAPS ? Number(p.resourceId) : undefined;
  const values: number[] = [];
  for (let v = 0; v < pcpus.length; v++) {
    const pc = pcpus[v];
    if (pc === undefined || (only !== undefined && v !== only)) values.push(0);
    else {
      const known = freqs ? deps.control.knownKHz(pc) : deps.turboAvailable(pc);
      if (known === undefined)
        return deps.control.warm(pcpus.filter((x) => x !== undefined)).then(() => answerQuery(deps, vm, p));
      values.push(typeof known === 'boolean' ? (known ? 1 : 0) : known);
    }
  }
  return freqs
    ? encodeFreqList({ ...head, freqList: values })
    : encodeCapsList({ ...head, turbo: values, priority: pcpus.map(() => 0) });
}

/** A frame being refused, and where it came from (for the log line). */
interface Refused {
  readonly deps: HandlerDeps;
  readonly vm: VmRecord;
  readonly ch: ChannelRecord | undefined;
  readonly command: number;
  readonly frame: Buffer;
}

/** Counts a refusal and logs it after the reply; returns the NACK when the protocol has one. */
function refuse({ deps, vm, ch, command, frame }: Refused, reason: string, reply: boolean): Buffer | undefined {
  count(vm, ch, 'refused');
  // At most one warning per VM per second: a misbehaving guest must not flood the log.
  const now = deps.now();
  const warn = now - (lastWarn.get(vm) ?? 0) >= 1000;
  if (warn) lastWarn.set(vm, now);
  if (warn || deps.log.isLevelEnabled('debug')) {
    const where = { vm: vm.name, channel: ch?.num, command: COMMAND_NAMES[command] ?? command, reason };
    const refused = vm.counters.refused;
    afterReplies(() => {
      if (warn) deps.log.warn({ ...where, refused }, 'guest power request refused');
      else deps.log.debug(where, 'guest power request refused');
    });
  }
  return reply ? encodeAck(frame, false) : undefined;
}

/**
 * The reply to a CPU_POWER once decided: counts it and echoes the frame with ACK or NACK. The
 * ACK is written into the frame itself (it is the handler's to answer, see {@link handleFrame}).
 */
function powerReply(
  deps: HandlerDeps,
  vm: VmRecord,
  ch: ChannelRecord | undefined,
  frame: Buffer,
  r: RequestOutcome,
): Buffer | undefined {
  if (!r.ok) {
    if (r.denied) {
      // DPDK's binary reply can only NACK: the reason goes to the JSON reply, counters and log.
      count(vm, ch, 'denied');
      deps.onDenied?.(vm, r.reason ?? 'raise denied');
    }
    return refuse({ deps, vm, ch, command: Command.CPU_POWER, frame }, r.reason ?? 'refused', true);
  }
  count(vm, ch, 'accepted');
  if (r.clamped) {
    count(vm, ch, 'clamped');
    deps.onClamped?.(vm, r.clampedBy ?? 'host bounds');
  }
  if (r.coalesced) count(vm, ch, 'coalesced');
  return ackInPlace(frame, true);
}

/**
 * A CPU_POWER request, the one a guest sends over and over: read field by field from the frame
 * (no header object, no BigInt, no name decoded), answered without a closure or a copy.
 */
function cpuPower(
  deps: HandlerDeps,
  vm: VmRecord,
  ch: ChannelRecord | undefined,
  frame: Buffer,
): Buffer | undefined | Promise<Buffer | undefined> {
  try {
    const no = denied(deps, vm, 'ConfigureComponents', 'guest CPU_POWER');
    if (no) return refuse({ deps, vm, ch, command: Command.CPU_POWER, frame }, no, true);
    const vcpu = vcpuOf(deps, vm, frame);
    if (typeof vcpu === 'string') return refuse({ deps, vm, ch, command: Command.CPU_POWER, frame }, vcpu, true);
    const r = deps.control.request(vm, vcpu, frame.readUInt32LE(REQUEST_OFFSETS.unit));
    if (r instanceof Promise)
      return r.then(
        (o) => powerReply(deps, vm, ch, frame, o),
        (e: unknown) => refuse({ deps, vm, ch, command: Command.CPU_POWER, frame }, `failed: ${String(e)}`, true),
      );
    return powerReply(deps, vm, ch, frame, r);
  } catch (e) {
    const why = `failed: ${e instanceof Error ? e.message : String(e)}`;
    return refuse({ deps, vm, ch, command: Command.CPU_POWER, frame }, why, true);
  }
}

/**
 * Handles one 464-byte frame from a channel of `vm`; returns the reply, if any. The frame must be
 * the caller's to give away: an ACK or NACK to a CPU_POWER is the frame itself with its command
 * replaced (DPDK's echo), so the frame is neither copied nor read again after the reply.
 */
export function handleFrame(
  deps: HandlerDeps,
  vm: VmRecord,
  ch: ChannelRecord | undefined,
  frame: Buffer,
): Buffer | undefined | Promise<Buffer | undefined> {
  if (ch && !ch.enabled) return undefined; // DPDK reads and drops a disabled channel's messages.
  if (frame.length === REQUEST_SIZE && frame.readUInt32LE(REQUEST_OFFSETS.command) === Command.CPU_POWER)
    return cpuPower(deps, vm, ch, frame);
  const p = peekRequest(frame);
  if (p.command === Command.CPU_POWER_CONNECT) return undefined;
  const command = p.command;
  try {
    switch (p.command) {
      case Command.PKT_POLICY: {
        const no = denied(deps, vm, 'ConfigureComponents', 'guest PKT_POLICY');
        if (no) return refuse({ deps, vm, ch, command, frame }, no, true);
        const policyToUse = frame.readUInt32LE(REQUEST_OFFSETS.policy_to_use);
        if (policyToUse !== Policy.WORKLOAD && policyToUse !== Policy.TIME) {
          const name = POLICY_NAMES[policyToUse] ?? `policy ${policyToUse}`;
          return refuse(
            { deps, vm, ch, command, frame },
            `${name} policies need NIC or branch-miss counters this host does not provide; only WORKLOAD and TIME are supported`,
            true,
          );
        }
        const policy = toPolicy(decodeRequest(frame));
        if (policy.vcpus.length === 0)
          return refuse({ deps, vm, ch, command, frame }, 'the policy names no vCPU (num_vcpu is 0)', true);
        vm.policy = policy;
        count(vm, ch, 'accepted');
        // ACK first, as DPDK: the policy is applied (and saved) after the reply is written.
        afterReplies(() => {
          deps.policyChanged(vm);
          applyPolicy(deps, vm).catch((e: unknown) =>
            deps.log.warn({ vm: vm.name, err: String(e) }, 'policy apply failed'),
          );
        });
        return encodeAck(frame, true);
      }
      case Command.PKT_POLICY_REMOVE: {
        if (vm.policy) {
          const vcpus = vm.policy.vcpus;
          vm.policy = undefined;
          for (const v of vcpus) vm.requests.delete(v);
          afterReplies(() => {
            deps.policyChanged(vm);
            deps.control.reapply().catch(() => undefined);
          });
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
            { deps, vm, ch, command, frame },
            `queries are disabled for VM '${vm.name}' (set_query ${vm.name} enable)`,
            false,
          );
        if (p.vmName !== '' && p.vmName !== vm.name)
          return refuse(
            { deps, vm, ch, command, frame },
            `query names VM '${p.vmName}' but the channel belongs to '${vm.name}'`,
            false,
          );
        const no = denied(deps, vm, 'Login', 'guest query');
        if (no) return refuse({ deps, vm, ch, command, frame }, no, false);
        count(vm, ch, 'accepted');
        return answerQuery(deps, vm, p);
      }
      default:
        // Not a request DPDK sends (the stream's framing already dropped impossible heads):
        // DPDK answers nothing, and a NACK would be read as the reply to the guest's next request.
        return refuse({ deps, vm, ch, command, frame }, `unknown command ${p.command}`, false);
    }
  } catch (e) {
    return refuse(
      { deps, vm, ch, command, frame },
      `failed: ${e instanceof Error ? e.message : String(e)}`,
      p.command === Command.PKT_POLICY,
    );
  }
}
