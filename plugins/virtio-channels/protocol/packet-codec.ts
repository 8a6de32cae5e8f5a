/**
 * Encoding and decoding of the VM power channel's structs (layout in `packet-layout.ts`).
 * Decoding never trusts what follows the NUL of `vm_name` (DPDK guests leave junk there) and
 * reads the `bool` fields as C does (any non-zero byte is true).
 */
import {
  CAPS_LIST_OFFSETS as C,
  CAPS_LIST_SIZE,
  FREQ_LIST_OFFSETS as F,
  FREQ_LIST_SIZE,
  HOURS_PER_DAY,
  MAX_VCPU_PER_VM,
  MAX_VFS,
  REQUEST_OFFSETS as R,
  REQUEST_SIZE,
  Reply,
  VM_MAX_NAME_SZ,
} from './packet-layout.js';

/** A decoded `struct rte_power_channel_packet`. */
export interface PowerPacket {
  /** vCPU (core_type 0) or pCPU (core_type 1) number; u64 on the wire. */
  readonly resourceId: bigint;
  readonly unit: number;
  readonly command: number;
  /** `vm_name` up to its first NUL (at most 32 bytes), decoded as UTF-8. */
  readonly vmName: string;
  /** False when the 32 bytes of `vm_name` hold no NUL (a C reader would overrun). */
  readonly vmNameTerminated: boolean;
  readonly vfid: readonly bigint[];
  readonly nbMacToMonitor: number;
  readonly trafficPolicy: {
    readonly minPacketThresh: number;
    readonly avgMaxPacketThresh: number;
    readonly maxMaxPacketThresh: number;
  };
  readonly vcpuToControl: readonly number[];
  readonly numVcpu: number;
  readonly busyHours: readonly number[];
  readonly quietHours: readonly number[];
  readonly hoursToUseTrafficProfile: readonly number[];
  /** True for a physical core (core_type 1). */
  readonly corePhysical: boolean;
  readonly workload: number;
  readonly policyToUse: number;
  readonly turboEnabled: boolean;
}

/** Fields of a request to encode; absent fields are zero. */
export type PowerPacketInit = Partial<Omit<PowerPacket, 'vmNameTerminated'>>;

function readName(buf: Buffer, offset: number): { name: string; terminated: boolean } {
  const field = buf.subarray(offset, offset + VM_MAX_NAME_SZ);
  const nul = field.indexOf(0);
  return { name: field.subarray(0, nul === -1 ? VM_MAX_NAME_SZ : nul).toString('utf8'), terminated: nul !== -1 };
}

function writeName(buf: Buffer, offset: number, name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  // Keep room for the terminating NUL, as the C string must fit in char[32].
  bytes.copy(buf, offset, 0, Math.min(bytes.length, VM_MAX_NAME_SZ - 1));
}

function i32s(buf: Buffer, offset: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => buf.readInt32LE(offset + 4 * i));
}

function expectSize(buf: Buffer, size: number, what: string): void {
  if (buf.length !== size) throw new RangeError(`${what} must be ${size} bytes, got ${buf.length}`);
}

/** The fields every message uses, read without decoding the policy arrays (the hot path). */
export type PacketHeader = Pick<
  PowerPacket,
  'resourceId' | 'unit' | 'command' | 'vmName' | 'vmNameTerminated' | 'corePhysical'
>;

/** Decodes the header fields of a 464-byte request. @throws RangeError for a wrong size. */
export function peekRequest(buf: Buffer): PacketHeader {
  expectSize(buf, REQUEST_SIZE, 'a power channel request');
  const name = readName(buf, R.vm_name);
  return {
    resourceId: buf.readBigUInt64LE(R.resource_id),
    unit: buf.readUInt32LE(R.unit),
    command: buf.readUInt32LE(R.command),
    vmName: name.name,
    vmNameTerminated: name.terminated,
    corePhysical: buf.readUInt8(R.core_type) !== 0,
  };
}

/** Decodes one 464-byte request. @throws RangeError when `buf` is not exactly 464 bytes. */
export function decodeRequest(buf: Buffer): PowerPacket {
  const header = peekRequest(buf);
  return {
    ...header,
    vfid: Array.from({ length: MAX_VFS }, (_, i) => buf.readBigUInt64LE(R.vfid + 8 * i)),
    nbMacToMonitor: buf.readInt32LE(R.nb_mac_to_monitor),
    trafficPolicy: {
      minPacketThresh: buf.readUInt32LE(R.traffic_policy),
      avgMaxPacketThresh: buf.readUInt32LE(R.traffic_policy + 4),
      maxMaxPacketThresh: buf.readUInt32LE(R.traffic_policy + 8),
    },
    vcpuToControl: [...buf.subarray(R.vcpu_to_control, R.vcpu_to_control + MAX_VCPU_PER_VM)],
    numVcpu: buf.readUInt8(R.num_vcpu),
    busyHours: i32s(buf, R.busy_hours, HOURS_PER_DAY),
    quietHours: i32s(buf, R.quiet_hours, HOURS_PER_DAY),
    hoursToUseTrafficProfile: i32s(buf, R.hours_to_use_traffic_profile, HOURS_PER_DAY),
    workload: buf.readUInt32LE(R.workload),
    policyToUse: buf.readUInt32LE(R.policy_to_use),
    turboEnabled: buf.readUInt8(R.t_boost_status) !== 0,
  };
}

/** Encodes a request (what a DPDK guest sends); padding bytes are zero. */
export function encodeRequest(p: PowerPacketInit): Buffer {
  const buf = Buffer.alloc(REQUEST_SIZE);
  buf.writeBigUInt64LE(p.resourceId ?? 0n, R.resource_id);
  buf.writeUInt32LE(p.unit ?? 0, R.unit);
  buf.writeUInt32LE(p.command ?? 0, R.command);
  writeName(buf, R.vm_name, p.vmName ?? '');
  (p.vfid ?? []).slice(0, MAX_VFS).forEach((v, i) => buf.writeBigUInt64LE(v, R.vfid + 8 * i));
  buf.writeInt32LE(p.nbMacToMonitor ?? 0, R.nb_mac_to_monitor);
  buf.writeUInt32LE(p.trafficPolicy?.minPacketThresh ?? 0, R.traffic_policy);
  buf.writeUInt32LE(p.trafficPolicy?.avgMaxPacketThresh ?? 0, R.traffic_policy + 4);
  buf.writeUInt32LE(p.trafficPolicy?.maxMaxPacketThresh ?? 0, R.traffic_policy + 8);
  (p.vcpuToControl ?? []).slice(0, MAX_VCPU_PER_VM).forEach((v, i) => buf.writeUInt8(v, R.vcpu_to_control + i));
  buf.writeUInt8(p.numVcpu ?? 0, R.num_vcpu);
  const hours = (list: readonly number[] | undefined, offset: number): void =>
    (list ?? []).slice(0, HOURS_PER_DAY).forEach((v, i) => buf.writeInt32LE(v, offset + 4 * i));
  hours(p.busyHours, R.busy_hours);
  hours(p.quietHours, R.quiet_hours);
  hours(p.hoursToUseTrafficProfile, R.hours_to_use_traffic_profile);
  buf.writeUInt8(p.corePhysical ? 1 : 0, R.core_type);
  buf.writeUInt32LE(p.workload ?? 0, R.workload);
  buf.writeUInt32LE(p.policyToUse ?? 0, R.policy_to_use);
  buf.writeUInt8(p.turboEnabled ? 1 : 0, R.t_boost_status);
  return buf;
}

/**
 * The ACK/NACK reply: the received 464 bytes echoed with `command` replaced, as DPDK's host does
 * (the guest matches its own request).
 */
export function encodeAck(received: Buffer, ack: boolean): Buffer {
  expectSize(received, REQUEST_SIZE, 'an echoed request');
  const out = Buffer.from(received);
  out.writeUInt32LE(ack ? Reply.ACK : Reply.NACK, R.command);
  return out;
}

/**
 * The ACK/NACK reply made in place: `frame`'s `command` replaced, and `frame` returned. For the
 * request path, where the frame is the handler's own and is not read again: no copy per reply.
 */
export function ackInPlace(frame: Buffer, ack: boolean): Buffer {
  expectSize(frame, REQUEST_SIZE, 'an echoed request');
  frame.writeUInt32LE(ack ? Reply.ACK : Reply.NACK, R.command);
  return frame;
}

/** Contents of a FREQ_LIST reply. */
export interface FreqListReply {
  readonly resourceId: bigint;
  readonly unit: number;
  readonly vmName: string;
  /** kHz per vCPU (up to 8). */
  readonly freqList: readonly number[];
  readonly numVcpu: number;
}

/** Contents of a CAPS_LIST reply. */
export interface CapsListReply {
  readonly resourceId: bigint;
  readonly unit: number;
  readonly vmName: string;
  /** Turbo available (1) per vCPU. */
  readonly turbo: readonly number[];
  /** Priority core (1) per vCPU. */
  readonly priority: readonly number[];
  readonly numVcpu: number;
}

function writeHead(buf: Buffer, resourceId: bigint, unit: number, command: number, vmName: string): void {
  buf.writeBigUInt64LE(resourceId, 0);
  buf.writeUInt32LE(unit, 8);
  buf.writeUInt32LE(command, 12);
  writeName(buf, 16, vmName);
}

/** Reads the 48-byte head the two reply structs share (the twin of {@link writeHead}). */
function readHead(buf: Buffer): { resourceId: bigint; unit: number; command: number; vmName: string } {
  return {
    resourceId: buf.readBigUInt64LE(0),
    unit: buf.readUInt32LE(8),
    command: buf.readUInt32LE(12),
    vmName: readName(buf, 16).name,
  };
}

/** Encodes an 88-byte FREQ_LIST reply. */
export function encodeFreqList(r: FreqListReply): Buffer {
  const buf = Buffer.alloc(FREQ_LIST_SIZE);
  writeHead(buf, r.resourceId, r.unit, Reply.FREQ_LIST, r.vmName);
  r.freqList.slice(0, MAX_VCPU_PER_VM).forEach((f, i) => buf.writeUInt32LE(f, F.freq_list + 4 * i));
  buf.writeUInt8(r.numVcpu, F.num_vcpu);
  return buf;
}

/** Encodes a 184-byte CAPS_LIST reply. */
export function encodeCapsList(r: CapsListReply): Buffer {
  const buf = Buffer.alloc(CAPS_LIST_SIZE);
  writeHead(buf, r.resourceId, r.unit, Reply.CAPS_LIST, r.vmName);
  r.turbo.slice(0, MAX_VCPU_PER_VM).forEach((v, i) => buf.writeBigUInt64LE(BigInt(v), C.turbo + 8 * i));
  r.priority.slice(0, MAX_VCPU_PER_VM).forEach((v, i) => buf.writeBigUInt64LE(BigInt(v), C.priority + 8 * i));
  buf.writeUInt8(r.numVcpu, C.num_vcpu);
  return buf;
}

/** Decodes an 88-byte FREQ_LIST reply (for guests, tests and the benchmark). */
export function decodeFreqList(buf: Buffer): FreqListReply & { readonly command: number } {
  expectSize(buf, FREQ_LIST_SIZE, 'a FREQ_LIST reply');
  return {
    ...readHead(buf),
    freqList: Array.from({ length: MAX_VCPU_PER_VM }, (_, i) => buf.readUInt32LE(F.freq_list + 4 * i)),
    numVcpu: buf.readUInt8(F.num_vcpu),
  };
}

/** Decodes a 184-byte CAPS_LIST reply. */
export function decodeCapsList(buf: Buffer): CapsListReply & { readonly command: number } {
  expectSize(buf, CAPS_LIST_SIZE, 'a CAPS_LIST reply');
  return {
    ...readHead(buf),
    turbo: Array.from({ length: MAX_VCPU_PER_VM }, (_, i) => Number(buf.readBigUInt64LE(C.turbo + 8 * i))),
    priority: Array.from({ length: MAX_VCPU_PER_VM }, (_, i) => Number(buf.readBigUInt64LE(C.priority + 8 * i))),
    numVcpu: buf.readUInt8(C.num_vcpu),
  };
}

/** What {@link FrameReader.push} dropped while resynchronising. */
export interface Dropped {
  /** Frames (or partial frames) dropped. */
  frames: number;
  /** Bytes dropped. */
  bytes: number;
}

/**
 * True when the 16-byte head at `off` could start a request a DPDK guest sends: a known command
 * and, for CPU_POWER, a known unit and a core number below 2^16. CPU_POWER_CONNECT comes from an
 * uninitialised struct, so only its command is checked; policies may leave resource_id unset.
 */
export function plausibleHead(buf: Buffer, off: number): boolean {
  const command = buf.readUInt32LE(off + 12);
  switch (command) {
    case 1: {
      const unit = buf.readUInt32LE(off + 8);
      return unit >= 1 && unit <= 6 && buf.readUInt32LE(off + 4) === 0 && buf.readUInt32LE(off) < 65_536;
    }
    case 7:
    case 8:
    case 9:
    case 10:
      return buf.readUInt32LE(off + 4) === 0;
    case 2:
    case 3:
    case 4:
      return true;
    default:
      return false;
  }
}

/**
 * The stricter test used while resynchronising, where a false match costs a wrong request: the
 * head must also hold a core number below 2^16 and a unit of at most 6, which the garbage of an
 * uninitialised CONNECT may not, but every request a guest builds does.
 */
export function resyncHead(buf: Buffer, off: number): boolean {
  return (
    plausibleHead(buf, off) &&
    buf.readUInt32LE(off + 4) === 0 &&
    buf.readUInt32LE(off) < 65_536 &&
    buf.readUInt32LE(off + 8) <= 6
  );
}

const HEAD = 16;

/**
 * Reassembles fixed-size frames from a byte stream: a read may carry part of a message or
 * several at once. The stock DPDK host closes the channel on a partial read; this keeps the
 * remainder for the next read instead, and resynchronises as a restarted guest expects:
 *
 * - a partial frame not completed within `staleMs` (a guest that died mid-write, or garbage)
 *   is dropped when the next bytes arrive and can start a request themselves (a restarted
 *   guest's first write). Bytes that cannot start one are the rest of the partial frame, however
 *   late: QEMU writes a message in pieces when the socket is full, and its I/O thread, or this
 *   reader while paused for backpressure (see {@link FrameReader.restartClock}), may wait longer
 *   than `staleMs` on a saturated host;
 * - a frame whose head is impossible (see {@link plausibleHead}) is not a request: the bytes up
 *   to the next plausible head are dropped, so garbage followed by a whole packet realigns on
 *   that packet.
 *
 * Every drop is added to {@link dropped}.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private pendingSince = 0;
  /** False after a drop, until a frame starts at a head that passes {@link resyncHead}. */
  private synced = true;
  /** What was dropped so far. */
  readonly dropped: Dropped = { frames: 0, bytes: 0 };

  constructor(
    private readonly size: number,
    private readonly staleMs = Infinity,
  ) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  private drop(bytes: number): void {
    if (bytes <= 0) return;
    this.synced = false;
    this.dropped.frames++;
    this.dropped.bytes += bytes;
  }

  /**
   * Adds a chunk; returns every frame it completes, in order, each exactly `size` bytes. A frame
   * is a view of `chunk` (or of a buffer of the reader's own when it spans two chunks), not a
   * copy: the chunk becomes the frames' (a socket's read buffer is never reused).
   */
  push(chunk: Buffer, now = 0): Buffer[] {
    if (
      this.pending.length > 0 &&
      now - this.pendingSince > this.staleMs &&
      chunk.length >= HEAD &&
      resyncHead(chunk, 0)
    ) {
      this.drop(this.pending.length);
      this.pending = Buffer.alloc(0);
      this.synced = true; // a new write starts here
    }
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let off = 0;
    while (data.length - off >= HEAD) {
      if (!(this.synced ? plausibleHead(data, off) : resyncHead(data, off))) {
        // Skip to the next offset where a request could start (or keep a short tail).
        let next = off + 1;
        while (next + HEAD <= data.length && !resyncHead(data, next)) next++;
        this.drop(next - off);
        off = next;
        continue;
      }
      if (data.length - off < this.size) break;
      frames.push(data.subarray(off, off + this.size));
      off += this.size;
      this.synced = true;
    }
    const rest = data.length - off;
    if (rest === 0) this.pending = Buffer.alloc(0);
    else {
      if (this.pending.length === 0 || off > 0) this.pendingSince = now;
      this.pending = Buffer.from(data.subarray(off));
    }
    return frames;
  }

  /**
   * Restarts the age of a partial frame: reading resumed after a pause for backpressure, and
   * the time the rest waited unread in the socket was the reader's, not the writer's.
   */
  restartClock(now: number): void {
    if (this.pending.length > 0) this.pendingSince = now;
  }

  /** Drops a partial frame (after a reconnect the stream starts afresh). */
  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}
