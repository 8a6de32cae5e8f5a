/**
 * DPDK's JSON interface: FIFOs `DIR/fifoN` (mode 0600) taking JSON objects
 * `{"instruction":{...}}` and `{"policy":{...}}` found by brace counting, with DPDK's keys.
 * Instructions name a VM and a physical core (`resource_id`, honoured only when a vCPU of that
 * VM is pinned to it alone). Unlike DPDK, every object gets a reply a client can read: one JSON
 * line appended to `DIR/fifoN.reply` (mode 0600):
 * `{"seq":N,"ok":true|false,"reply":"ACK"|"NACK"|null,"error":"..."}`.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { appendFile, open, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'vpmd';
import type { ChannelService } from './channel-service.js';
import { encodeRequest, type PowerPacketInit } from './protocol/packet-codec.js';
import { Command, Policy, Reply, Unit, Workload } from './protocol/packet-layout.js';

/** Largest JSON object accepted (DPDK: 1023 characters). */
export const MAX_OBJECT_CHARS = 16_384;
/** The reply file is truncated when it grows beyond this. */
export const MAX_REPLY_BYTES = 1 << 20;

/** Splits a character stream into top-level JSON objects by brace counting (strings aware). */
export class BraceSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Adds text; returns complete objects (and `error` entries for oversized ones). */
  push(text: string): Array<{ text: string } | { error: string }> {
    const out: Array<{ text: string } | { error: string }> = [];
    for (const ch of text) {
      if (this.depth === 0 && ch !== '{') continue; // whitespace or junk between objects
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
        this.buf = '';
      } else if (this.buf.length > MAX_OBJECT_CHARS) {
        out.push({ error: `JSON object longer than ${MAX_OBJECT_CHARS} characters dropped` });
        this.buf = '';
        this.depth = 0;
        this.inString = false;
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

/** The FIFOs of the JSON interface. */
export class JsonFifos {
  private readonly open: Array<{ handle: FileHandle; socket: Socket }> = [];
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly numbers: readonly number[],
    private readonly svc: ChannelService,
    private readonly log: Logger,
  ) {}

  /** FIFOs that could not be opened, with why (for health). */
  readonly failed = new Map<number, string>();

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
    {
      const path = join(this.dir, `fifo${n}`);
      const isFifo = await stat(path).then(
        (s) => s.isFIFO(),
        () => undefined,
      );
      if (isFifo === false) await rm(path, { force: true });
      if (isFifo !== true) await promisify(execFile)('mkfifo', ['-m', '0600', path]);
      // O_RDWR keeps the FIFO open when writers come and go (no EOF), O_NONBLOCK for libuv.
      const handle = await open(path, constants.O_RDWR | constants.O_NONBLOCK);
      const socket = new Socket({ fd: handle.fd, readable: true, writable: false });
      const splitter = new BraceSplitter();
      const replyFile = `${path}.reply`;
      let chain = Promise.resolve();
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => {
        for (const item of splitter.push(text)) chain = chain.then(() => this.handle(item, replyFile, n));
      });
      socket.on('error', (e) => this.log.warn({ fifo: path, err: e.message }, 'JSON FIFO error'));
      this.open.push({ handle, socket });
    }
  }

  private async handle(item: { text: string } | { error: string }, replyFile: string, fifo: number): Promise<void> {
    const seq = ++this.seq;
    let line: Record<string, unknown>;
    try {
      if ('error' in item) throw new Error(item.error);
      const { vm: name, packet } = jsonToPacket(JSON.parse(item.text));
      const vm = this.svc.vm(name);
      const reply = await this.svc.handle(vm, encodeRequest(packet));
      const cmd = reply?.readUInt32LE(12);
      line = {
        seq,
        ok: cmd === undefined || cmd === Reply.ACK,
        reply: cmd === Reply.ACK ? 'ACK' : cmd === Reply.NACK ? 'NACK' : null,
      };
    } catch (e) {
      line = { seq, ok: false, reply: null, error: e instanceof Error ? e.message : String(e) };
      this.log.warn({ fifo, error: line.error }, 'JSON FIFO message refused');
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

  /** Closes the FIFOs (they stay in DIR for the next start). */
  async stop(): Promise<void> {
    for (const f of this.open.splice(0)) {
      f.socket.destroy();
      await f.handle.close().catch(() => undefined);
    }
  }
}
