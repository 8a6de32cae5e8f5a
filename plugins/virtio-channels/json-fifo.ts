/**
 * DPDK's JSON interface: FIFOs `DIR/fifoN` (mode 0600), one per physical core, created at start,
 * taking JSON objects `{"instruction":{...}}` and `{"policy":{...}}` found by brace counting.
 * Two dialects (config `json`):
 *
 * - `dpdk` (default), exactly as DPDK 22.11's `channel_monitor.c` (`parse_json_to_pkt`): an
 *   object acts on the FIFO's core N. `name`, `resource_id` and `core_list` are ignored (DPDK
 *   logs them as unknown keys); absent keys default as in DPDK (command `create`, policy `TIME`,
 *   workload `LOW`). `power` scales core N as `set_cpu_freq N` does; `create` installs a
 *   WORKLOAD or TIME policy on core N; `destroy` removes it. Replies are DPDK's: the 464-byte
 *   ACK/NACK echo written into the FIFO.
 * - `vpmd`: an instruction names a VM (`name`) and a physical core (`resource_id`, honoured only
 *   when a vCPU of that VM is pinned to it alone); a policy names the VM's vCPUs (`core_list`).
 *   Every object gets a JSON line in `DIR/fifoN.reply` (mode 0600):
 *   `{"seq":N,"ok":true|false,"reply":"ACK"|"NACK"|null,"error":"..."}`; a request the host's
 *   bounds moved adds `"clamped":true,"clampedBy":"<owner>: <reason>"` (a cpu-limits claim such
 *   as `profiles:latency-critical`, or the VM's or pCPU's bounds); a request to raise the
 *   frequency of a VM whose raises are denied (over its power budget) is a NACK with
 *   `"denied":true,"error":"raise denied by <owner>: <reason>"`.
 *
 * The FIFO cannot be jammed: an object longer than DPDK's 1023 characters (16 KiB in the `vpmd`
 * dialect) or not closed within {@link OBJECT_MS} is dropped with a log line, and the next `{`
 * starts a new object.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { appendFile, open, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'vpmd';
import type { ChannelService } from './channel-service.js';
import { encodeAck, encodeRequest, type PowerPacketInit } from './protocol/packet-codec.js';
import { Command, Policy, Reply, Unit, Workload } from './protocol/packet-layout.js';

/** Largest JSON object in the `vpmd` dialect. */
export const MAX_OBJECT_CHARS = 16_384;
/** Largest JSON object in the `dpdk` dialect (DPDK's MAX_JSON_STRING_LEN 1024, with its NUL). */
export const DPDK_MAX_OBJECT_CHARS = 1023;
/** An object not closed within this time is dropped (a writer that died, or a stray `{`). */
export const OBJECT_MS = 1000;
/** The reply file is truncated when it grows beyond this. */
export const MAX_REPLY_BYTES = 1 << 20;

/** What the splitter produced: a whole object, or why bytes were dropped. */
export type SplitItem = { readonly text: string } | { readonly error: string };

/**
 * Splits a character stream into top-level JSON objects by brace counting (strings aware),
 * bounded in size and time so that one unclosed `{` cannot block later objects.
 */
export class BraceSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private startedAt = 0;

  constructor(
    private readonly maxChars = MAX_OBJECT_CHARS,
    private readonly maxMs = OBJECT_MS,
  ) {}

  private reset(): void {
    this.buf = '';
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }

  /** Drops an object that has been open longer than the time bound; returns why, if it did. */
  expire(now: number): SplitItem | undefined {
    if (this.depth === 0 || now - this.startedAt <= this.maxMs) return undefined;
    const error = `JSON object not closed within ${this.maxMs} ms dropped (${this.buf.length} characters: ${JSON.stringify(this.buf.slice(0, 40))}...)`;
    this.reset();
    return { error };
  }

  /** True while an object is open. */
  get open(): boolean {
    return this.depth > 0;
  }

  /** Adds text; returns complete objects and `error` entries for dropped ones. */
  push(text: string, now = 0): SplitItem[] {
    const out: SplitItem[] = [];
    const stale = this.expire(now);
    if (stale) out.push(stale);
    for (const ch of text) {
      if (this.depth === 0) {
        if (ch !== '{') continue; // whitespace or junk between objects
        this.startedAt = now;
      }
      this.buf += ch;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{') this.depth++;
      else if (ch === '}') this.depth--;
      if (this.depth === 0) {
        out.push({ text: this.buf });
        this.reset();
      } else if (this.buf.length > this.maxChars) {
        out.push({ error: `JSON object longer than ${this.maxChars} characters dropped` });
        this.reset();
      }
    }
    return out;
  }
}

const UNITS: Readonly<Record<string, number>> = {
  SCALE_UP: Unit.SCALE_UP,
  SCALE_DOWN: Unit.SCALE_DOWN,
  SCALE_MAX: Unit.SCALE_MAX,
  SCALE_MIN: Unit.SCALE_MIN,
  ENABLE_TURBO: Unit.ENABLE_TURBO,
  DISABLE_TURBO: Unit.DISABLE_TURBO,
};
const POLICIES: Readonly<Record<string, number>> = {
  TRAFFIC: Policy.TRAFFIC,
  TIME: Policy.TIME,
  WORKLOAD: Policy.WORKLOAD,
  BRANCH_RATIO: Policy.BRANCH_RATIO,
};
const WORKLOADS: Readonly<Record<string, number>> = { HIGH: Workload.HIGH, MEDIUM: Workload.MEDIUM, LOW: Workload.LOW };

function ints(v: unknown, what: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
    throw new Error(`"${what}" must be an array of integers`);
  return v as number[];
}

/** Pads an hour list to 24 entries with -1: zero padding would mean hour 0 to the C arrays. */
function hours(list: readonly number[]): number[] {
  return [...list.slice(0, 24), ...Array.from({ length: Math.max(0, 24 - list.length) }, () => -1)];
}

/** Translates one JSON message into a packet for `vm`. @throws Error naming the bad key */
export function jsonToPacket(obj: unknown): { vm: string; packet: PowerPacketInit } {
  if (typeof obj !== 'object' || obj === null) throw new Error('expected a JSON object');
  const o = obj as Record<string, unknown>;
  const kind = 'instruction' in o ? 'instruction' : 'policy' in o ? 'policy' : undefined;
  const body = kind ? (o[kind] as Record<string, unknown> | undefined) : undefined;
  if (!kind || typeof body !== 'object' || body === null)
    throw new Error('expected {"instruction":{...}} or {"policy":{...}}');
  const vm = body.name;
  if (typeof vm !== 'string' || vm === '') throw new Error(`"${kind}.name" (the VM) is required`);
  const command = body.command;
  if (kind === 'instruction') {
    if (command !== 'power') throw new Error(`"instruction.command" must be "power", got ${JSON.stringify(command)}`);
    const unit = UNITS[String(body.unit)];
    if (unit === undefined) throw new Error(`"instruction.unit" must be one of ${Object.keys(UNITS).join(' ')}`);
    const res = body.resource_id;
    if (!Number.isInteger(res) || (res as number) < 0)
      throw new Error('"instruction.resource_id" must be a physical core number');
    return {
      vm,
      packet: { command: Command.CPU_POWER, unit, resourceId: BigInt(res as number), corePhysical: true, vmName: vm },
    };
  }
  if (command === 'destroy') return { vm, packet: { command: Command.PKT_POLICY_REMOVE, vmName: vm } };
  if (command !== 'create')
    throw new Error(`"policy.command" must be "create" or "destroy", got ${JSON.stringify(command)}`);
  const policyToUse = POLICIES[String(body.policy_type)];
  if (policyToUse === undefined)
    throw new Error(`"policy.policy_type" must be one of ${Object.keys(POLICIES).join(' ')}`);
  const workload =
    body.workload === undefined
      ? Workload.HIGH
      : typeof body.workload === 'string'
        ? WORKLOADS[body.workload]
        : undefined;
  if (workload === undefined) throw new Error('"policy.workload" must be HIGH, MEDIUM or LOW');
  const cores = ints(body.core_list, 'policy.core_list');
  if (cores.length === 0 || cores.length > 8) throw new Error('"policy.core_list" must list 1 to 8 vCPUs');
  return {
    vm,
    packet: {
      command: Command.PKT_POLICY,
      vmName: vm,
      policyToUse,
      workload,
      vcpuToControl: cores,
      numVcpu: cores.length,
      busyHours: hours(ints(body.busy_hours, 'policy.busy_hours')),
      quietHours: hours(ints(body.quiet_hours, 'policy.quiet_hours')),
    },
  };
}

/**
 * Translates one JSON object as DPDK 22.11's `parse_json_to_pkt` does, for FIFO `core`: keys
 * are read wherever they appear under `policy` or `instruction`; the packet is about core `core`
 * (core_type physical, `vcpu_to_control` = [core]). @returns the packet and the keys DPDK ignores.
 * @throws Error naming the bad value (DPDK rejects the object)
 */
export function dpdkJsonToPacket(obj: unknown, core: number): { packet: PowerPacketInit; ignored: string[] } {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('expected a JSON object');
  const p: {
    command: number;
    unit: number;
    policyToUse: number;
    workload: number;
    busyHours: number[];
    quietHours: number[];
  } = {
    command: Command.PKT_POLICY,
    unit: 0,
    policyToUse: Policy.TIME,
    workload: Workload.LOW,
    busyHours: [],
    quietHours: [],
  };
  const ignored: string[] = [];
  const name = (v: unknown, key: string, table: Readonly<Record<string, number>>): number => {
    const found = typeof v === 'string' ? table[v] : undefined;
    if (found === undefined) throw new Error(`"${key}" must be one of ${Object.keys(table).join(' ')}`);
    return found;
  };
  const walk = (o: Record<string, unknown>): void => {
    for (const [key, v] of Object.entries(o)) {
      if (key === 'policy' || key === 'instruction') {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`"${key}" must be an object`);
        walk(v as Record<string, unknown>);
      } else if (key === 'command')
        p.command = name(v, key, {
          power: Command.CPU_POWER,
          create: Command.PKT_POLICY,
          destroy: Command.PKT_POLICY_REMOVE,
        });
      else if (key === 'policy_type') p.policyToUse = name(v, key, POLICIES);
      else if (key === 'workload') p.workload = name(v, key, WORKLOADS);
      else if (key === 'unit') p.unit = name(v, key, UNITS);
      else if (key === 'busy_hours') p.busyHours = ints(v, key).slice(0, 24);
      else if (key === 'quiet_hours') p.quietHours = ints(v, key).slice(0, 24);
      // NIC statistics keys: read by DPDK for TRAFFIC policies, which vpmd refuses.
      else if (key === 'mac_list' || key === 'avg_packet_thresh' || key === 'max_packet_thresh') continue;
      else ignored.push(key);
    }
  };
  walk(obj as Record<string, unknown>);
  return {
    packet: {
      ...p,
      resourceId: BigInt(core),
      corePhysical: true,
      vmName: `fifo${core}`,
      vcpuToControl: [core],
      numVcpu: 1,
    },
    ignored,
  };
}

/** Dropped objects are logged at most this often per FIFO (a writer must not flood the log). */
const DROP_LOG_MS = 1000;

/** One open FIFO. */
interface OpenFifo {
  readonly core: number;
  readonly handle: FileHandle;
  readonly socket: Socket;
  readonly splitter: BraceSplitter;
  timer?: NodeJS.Timeout;
  dropped: number;
  lastLog: number;
}

/** The FIFOs of the JSON interface. */
export class JsonFifos {
  private readonly open: OpenFifo[] = [];
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly numbers: readonly number[],
    private readonly svc: ChannelService,
    private readonly log: Logger,
    private readonly dialect: 'dpdk' | 'vpmd' = 'dpdk',
  ) {}

  /** FIFOs that could not be opened, with why (for health). */
  readonly failed = new Map<number, string>();

  /** Objects dropped (too long, not closed in time, not valid JSON or refused), over every FIFO. */
  dropped = 0;

  /** Creates (mkfifo 0600) and opens every FIFO; one that fails is reported, the others work. */
  async start(): Promise<void> {
    for (const n of this.numbers) {
      try {
        await this.openFifo(n);
      } catch (e) {
        const why = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
        this.failed.set(n, why);
        this.log.error({ fifo: n, err: why }, 'JSON FIFO cannot be opened');
      }
    }
  }

  private async openFifo(n: number): Promise<void> {
    const path = join(this.dir, `fifo${n}`);
    const isFifo = await stat(path).then(
      (s) => s.isFIFO(),
      () => undefined,
    );
    if (isFifo === false) await rm(path, { force: true });
    if (isFifo !== true) await promisify(execFile)('mkfifo', ['-m', '0600', path]);
    // O_RDWR keeps the FIFO open when writers come and go (no EOF), O_NONBLOCK for libuv.
    const handle = await open(path, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new Socket({ fd: handle.fd, readable: true, writable: this.dialect === 'dpdk' });
    const f: OpenFifo = {
      core: n,
      handle,
      socket,
      splitter: new BraceSplitter(this.dialect === 'dpdk' ? DPDK_MAX_OBJECT_CHARS : MAX_OBJECT_CHARS, OBJECT_MS),
      dropped: 0,
      lastLog: 0,
    };
    const replyFile = `${path}.reply`;
    let chain = Promise.resolve();
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      for (const item of f.splitter.push(text, Date.now())) chain = chain.then(() => this.handle(item, replyFile, f));
      this.arm(f);
    });
    socket.on('error', (e) => this.log.warn({ fifo: path, err: e.message }, 'JSON FIFO error'));
    this.open.push(f);
  }

  /** While an object is open, a timer drops it when it is not closed in time. */
  private arm(f: OpenFifo): void {
    clearTimeout(f.timer);
    f.timer = undefined;
    if (!f.splitter.open) return;
    f.timer = setTimeout(() => {
      f.timer = undefined;
      const item = f.splitter.expire(Date.now());
      if (item) void this.handle(item, join(this.dir, `fifo${f.core}.reply`), f);
      else this.arm(f);
    }, OBJECT_MS + 10);
    f.timer.unref();
  }

  private dropLog(f: OpenFifo, why: string): void {
    this.dropped++;
    f.dropped++;
    const now = Date.now();
    if (now - f.lastLog < DROP_LOG_MS) return;
    f.lastLog = now;
    this.log.warn({ fifo: f.core, error: why, droppedTotal: f.dropped }, 'JSON FIFO message dropped');
  }

  private async handle(item: SplitItem, replyFile: string, f: OpenFifo): Promise<void> {
    if (this.dialect === 'dpdk') return this.handleDpdk(item, f);
    const seq = ++this.seq;
    let line: Record<string, unknown>;
    try {
      if ('error' in item) throw new Error(item.error);
      const { vm: name, packet } = jsonToPacket(JSON.parse(item.text));
      const vm = this.svc.vm(name);
      this.svc.takeClamp(vm);
      this.svc.takeDenial(vm);
      const reply = await this.svc.handle(vm, encodeRequest(packet));
      const cmd = reply?.readUInt32LE(12);
      const clampedBy = this.svc.takeClamp(vm);
      const deniedBy = this.svc.takeDenial(vm);
      line = {
        seq,
        ok: cmd === undefined || cmd === Reply.ACK,
        reply: cmd === Reply.ACK ? 'ACK' : cmd === Reply.NACK ? 'NACK' : null,
        // The host's bounds moved the request: say so, and whose bound it was.
        ...(clampedBy !== undefined ? { clamped: true, clampedBy } : {}),
        // A raise denial (the VM is over its power budget): the reason DPDK's NACK cannot carry.
        ...(deniedBy !== undefined ? { denied: true, error: deniedBy } : {}),
      };
    } catch (e) {
      line = { seq, ok: false, reply: null, error: e instanceof Error ? e.message : String(e) };
      this.dropLog(f, String(line.error));
    }
    try {
      const size = await stat(replyFile).then(
        (s) => s.size,
        () => 0,
      );
      if (size > MAX_REPLY_BYTES) await truncate(replyFile, 0);
      await appendFile(replyFile, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    } catch (e) {
      this.log.warn({ replyFile, err: String(e) }, 'cannot write the JSON FIFO reply');
    }
  }

  /** DPDK's dialect: act on the FIFO's core; reply with the binary ACK/NACK into the FIFO. */
  private async handleDpdk(item: SplitItem, f: OpenFifo): Promise<void> {
    if ('error' in item) return this.dropLog(f, item.error);
    let parsed: { packet: PowerPacketInit; ignored: string[] };
    try {
      parsed = dpdkJsonToPacket(JSON.parse(item.text), f.core);
    } catch (e) {
      return this.dropLog(f, e instanceof Error ? e.message : String(e));
    }
    if (parsed.ignored.length > 0)
      this.log.debug({ fifo: f.core, keys: parsed.ignored }, 'JSON FIFO keys DPDK ignores (it acts on the FIFO core)');
    const frame = encodeRequest(parsed.packet);
    let reply: Buffer | undefined;
    if (parsed.packet.command === Command.CPU_POWER) {
      try {
        await this.svc.operatorScale(f.core, parsed.packet.unit ?? 0);
        reply = encodeAck(frame, true);
      } catch (e) {
        this.dropLog(f, e instanceof Error ? e.message : String(e));
        reply = encodeAck(frame, false);
      }
    } else reply = await this.svc.hostPolicy(f.core, frame);
    if (reply && !f.socket.destroyed) f.socket.write(reply);
  }

  /** Closes the FIFOs (they stay in DIR for the next start). */
  async stop(): Promise<void> {
    for (const f of this.open.splice(0)) {
      clearTimeout(f.timer);
      f.socket.destroy();
      await f.handle.close().catch(() => undefined);
    }
  }
}
