/**
 * AgentX subagent (RFC 2741) for hosts that already run snmpd: our MIB subtrees are registered
 * with the master agent, which then answers its managers with them under its own USM/VACM
 * configuration. Read-only: every TestSet is answered notWritable. Served from the same sorted
 * {@link MibIndex} as our own agent, so GetNext and GetBulk stay O(log n) per request.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from 'vpmd';
import { compareOid, type SnmpValue } from '../codec/pdu.js';
import { TAG } from '../codec/ber.js';
import type { MibCache, MibIndex } from '../mib/mib-index.js';

const PDU = {
  open: 1,
  close: 2,
  register: 3,
  get: 5,
  getNext: 6,
  getBulk: 7,
  testSet: 8,
  commitSet: 9,
  undoSet: 10,
  cleanupSet: 11,
  response: 18,
} as const;
const FLAG_NETWORK_ORDER = 0x10;
const FLAG_NON_DEFAULT_CONTEXT = 0x08;
const ERR_NOT_WRITABLE = 17;
const PREFIX = [1, 3, 6, 1];

/** Encodes an AgentX OID (RFC 2741 5.1), with the 1.3.6.1 prefix compressed. */
export function axOid(oid: readonly number[], include = false): Buffer {
  const prefixed = oid.length > 4 && PREFIX.every((v, i) => oid[i] === v) && (oid[4] as number) < 256;
  const subs = prefixed ? oid.slice(5) : oid;
  const b = Buffer.alloc(4 + 4 * subs.length);
  b[0] = subs.length;
  b[1] = prefixed ? (oid[4] as number) : 0;
  b[2] = include ? 1 : 0;
  subs.forEach((s, i) => b.writeUInt32BE(s >>> 0, 4 + 4 * i));
  return b;
}

function axString(s: Buffer): Buffer {
  const pad = (4 - (s.length % 4)) % 4;
  const b = Buffer.alloc(4 + s.length + pad);
  b.writeUInt32BE(s.length, 0);
  s.copy(b, 4);
  return b;
}

function axValue(v: SnmpValue): Buffer {
  switch (v.tag) {
    case TAG.Integer:
    case TAG.Counter32:
    case TAG.Gauge32:
    case TAG.TimeTicks: {
      const b = Buffer.alloc(4);
      if (v.tag === TAG.Integer) b.writeInt32BE(v.value);
      else b.writeUInt32BE(v.value >>> 0);
      return b;
    }
    case TAG.Counter64: {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(v.value);
      return b;
    }
    case TAG.OctetString:
    case TAG.Opaque:
      return axString(Buffer.isBuffer(v.value) ? v.value : Buffer.from(v.value));
    case TAG.IpAddress:
      return axString(Buffer.from(v.value.split('.').map(Number)));
    case TAG.Oid:
      return axOid(v.value);
    default:
      return Buffer.alloc(0);
  }
}

function axVarbind(oid: readonly number[], v: SnmpValue): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(v.tag, 0);
  return Buffer.concat([head, axOid(oid), axValue(v)]);
}

/** A reader honouring the PDU's byte order. */
class AxReader {
  constructor(
    private readonly b: Buffer,
    public pos: number,
    private readonly be: boolean,
  ) {}
  u16(): number {
    const v = this.be ? this.b.readUInt16BE(this.pos) : this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.be ? this.b.readUInt32BE(this.pos) : this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  oid(): { oid: number[]; include: boolean } {
    const n = this.b[this.pos] as number;
    const prefix = this.b[this.pos + 1] as number;
    const include = this.b[this.pos + 2] === 1;
    this.pos += 4;
    const subs: number[] = [];
    for (let i = 0; i < n; i++) subs.push(this.u32());
    return { oid: prefix ? [...PREFIX, prefix, ...subs] : subs, include };
  }
  skipString(): void {
    const len = this.u32();
    this.pos += len + ((4 - (len % 4)) % 4);
  }
}

/** What the subagent needs. */
export interface AgentxOptions {
  /** `tcp:HOST:PORT` or a unix socket path (snmpd's default is /var/agentx/master). */
  readonly socket: string;
  readonly mib: MibCache;
  /** Subtrees registered with the master. */
  readonly roots: ReadonlyArray<readonly number[]>;
  readonly uptimeTicks: () => number;
  readonly log: Logger;
}

/** An AgentX subagent session that reconnects when the master goes away. */
export class AgentxSubagent {
  private sock: Socket | undefined;
  private session = 0;
  private packetId = 1;
  private buf = Buffer.alloc(0);
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** True once the master accepted our Open and registrations. */
  registered = false;

  constructor(private readonly o: AgentxOptions) {}

  /** Connects, opens a session and registers the subtrees (reconnects in the background). */
  start(): void {
    this.stopped = false;
    const m = /^tcp:([^:]+):(\d+)$/.exec(this.o.socket);
    const sock = m ? connect(Number(m[2]), m[1] as string) : connect(this.o.socket);
    this.sock = sock;
    sock.on('connect', () =>
      this.send(
        PDU.open,
        Buffer.concat([
          Buffer.from([30, 0, 0, 0]),
          axOid([1, 3, 6, 1, 4, 1, 99999, 6, 1]),
          axString(Buffer.from('vpmd')),
        ]),
      ),
    );
    sock.on('data', (d) => this.onData(d));
    sock.on('error', (e) => this.o.log.warn({ socket: this.o.socket, err: e.message }, 'agentx master unreachable'));
    sock.on('close', () => {
      this.registered = false;
      this.session = 0;
      if (!this.stopped) this.retry = setTimeout(() => this.start(), 5000);
    });
  }

  /** Closes the session. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.sock && this.session) this.send(PDU.close, Buffer.from([1, 0, 0, 0]));
    this.sock?.end();
    this.sock?.destroy();
  }

  private send(type: number, payload: Buffer, reply?: { session: number; transaction: number; packet: number }): void {
    const h = Buffer.alloc(20);
    h[0] = 1;
    h[1] = type;
    h[2] = FLAG_NETWORK_ORDER;
    h.writeUInt32BE(reply?.session ?? this.session, 4);
    h.writeUInt32BE(reply?.transaction ?? 0, 8);
    h.writeUInt32BE(reply?.packet ?? this.packetId++, 12);
    h.writeUInt32BE(payload.length, 16);
    this.sock?.write(Buffer.concat([h, payload]));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    // Several PDUs may arrive in one data event (and one PDU across several): frame by length.
    while (this.buf.length >= 20) {
      const be = ((this.buf[2] as number) & FLAG_NETWORK_ORDER) !== 0;
      const len = be ? this.buf.readUInt32BE(16) : this.buf.readUInt32LE(16);
      if (this.buf.length < 20 + len) return;
      const pdu = this.buf.subarray(0, 20 + len);
      this.buf = this.buf.subarray(20 + len);
      this.handle(pdu, be).catch((e: unknown) =>
        this.o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'agentx request failed'),
      );
    }
  }

  private async handle(pdu: Buffer, be: boolean): Promise<void> {
    const r = new AxReader(pdu, 4, be);
    const ids = { session: r.u32(), transaction: r.u32(), packet: r.u32() };
    r.u32();
    const type = pdu[1] as number;
    const flags = pdu[2] as number;
    if (type === PDU.response) {
      r.u32(); // sysUpTime
      const err = r.u16();
      if (!this.session) {
        this.session = ids.session;
        if (err !== 0) this.o.log.warn({ error: err }, 'agentx master refused our Open');
        else
          for (const root of this.o.roots)
            this.send(PDU.register, Buffer.concat([Buffer.from([30, 127, 0, 0]), axOid(root)]));
        return;
      }
      if (err !== 0) this.o.log.warn({ error: err }, 'agentx master refused a registration');
      else this.registered = true;
      return;
    }
    if (flags & FLAG_NON_DEFAULT_CONTEXT) r.skipString();
    const index = await this.o.mib.index();
    let vbs: Buffer[] = [];
    if (type === PDU.get) {
      while (r.pos < pdu.length) {
        const { oid } = r.oid();
        r.oid();
        const e = index.get(oid);
        vbs.push(
          axVarbind(
            oid,
            e ? e.value : { tag: index.isUnderObject(oid) ? TAG.NoSuchInstance : TAG.NoSuchObject, value: null },
          ),
        );
      }
    } else if (type === PDU.getNext) {
      while (r.pos < pdu.length) vbs.push(this.next(index, r.oid(), r.oid().oid));
    } else if (type === PDU.getBulk) {
      const nonRep = r.u16();
      const maxRep = Math.min(r.u16(), 1000);
      const ranges: { start: { oid: number[]; include: boolean }; end: number[] }[] = [];
      while (r.pos < pdu.length) ranges.push({ start: r.oid(), end: r.oid().oid });
      ranges.slice(0, nonRep).forEach((g) => vbs.push(this.next(index, g.start, g.end)));
      const rep = ranges.slice(nonRep).map((g) => ({ ...g }));
      for (let i = 0; i < maxRep && rep.length; i++) {
        for (const g of rep) {
          const vb = this.next(index, g.start, g.end);
          vbs.push(vb);
          const e = this.nextEntry(index, g.start, g.end);
          if (e) g.start = { oid: [...e.oid], include: false };
        }
      }
    } else if (type === PDU.testSet) {
      return this.respond(ids, ERR_NOT_WRITABLE, 1, []);
    } else if (type === PDU.commitSet || type === PDU.undoSet || type === PDU.cleanupSet) {
      vbs = [];
    } else return;
    this.respond(ids, 0, 0, vbs);
  }

  private nextEntry(
    index: MibIndex,
    start: { oid: number[]; include: boolean },
    end: number[],
  ): { oid: readonly number[]; value: SnmpValue } | undefined {
    const exact = start.include ? index.get(start.oid) : undefined;
    const e = exact ?? index.next(start.oid);
    if (!e || (end.length > 0 && compareOid(e.oid, end) >= 0)) return undefined;
    return e;
  }

  private next(index: MibIndex, start: { oid: number[]; include: boolean }, end: number[]): Buffer {
    const e = this.nextEntry(index, start, end);
    return e ? axVarbind(e.oid, e.value) : axVarbind(start.oid, { tag: TAG.EndOfMibView, value: null });
  }

  private respond(
    ids: { session: number; transaction: number; packet: number },
    error: number,
    errIndex: number,
    vbs: Buffer[],
  ): void {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(this.o.uptimeTicks() >>> 0, 0);
    head.writeUInt16BE(error, 4);
    head.writeUInt16BE(errIndex, 6);
    this.send(PDU.response, Buffer.concat([head, ...vbs]), ids);
  }
}
