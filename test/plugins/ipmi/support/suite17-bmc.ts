/**
 * A minimal RMCP+ responder speaking only cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128,
 * AES-CBC-128). No local BMC offers suite 17 (ipmi_sim stops at 14), so this stands in for one:
 * every HMAC comes from the test's own plain SHA-256 (reference-hmac.ts), the padding is written
 * out here, and only AES itself is Node's. It answers the login sequence, Set Session Privilege,
 * Get Device ID and Close Session.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { hmac, sha256 } from './reference-hmac.js';

const H = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => hmac(sha256, key, Buffer.concat(parts));
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};
const sum = (b: Uint8Array): number => (0x100 - (b.reduce((a, x) => a + x, 0) & 0xff)) & 0xff;

/** A running suite-17 BMC. */
export interface Suite17Bmc {
  readonly port: number;
  /** Sessions activated and not closed. */
  readonly open: Set<number>;
  close(): Promise<void>;
}

/** Starts the responder with one account and an optional KG. */
export async function startSuite17Bmc(user: string, password: string, kg?: string): Promise<Suite17Bmc> {
  const sock = createSocket('udp4');
  const pw = Buffer.from(password);
  const kgBuf = kg === undefined ? pw : Buffer.from(kg);
  const guid = randomBytes(16);
  const open = new Set<number>();
  const sessions = new Map<
    number,
    {
      consoleSid: number;
      rm?: Buffer;
      rc?: Buffer;
      role?: number;
      name?: Buffer;
      k1?: Buffer;
      k2?: Buffer;
      seq: number;
    }
  >();
  const reply = (pkt: Buffer, port: number, address: string): void => void sock.send(pkt, port, address);
  const ipmiReply = (req: Buffer, cc: number, data: number[]): Buffer => {
    const head = Buffer.from([0x81, (((req[1] ?? 0) >> 2) + 1) << 2, 0]);
    head[2] = sum(head.subarray(0, 2));
    const body = Buffer.from([0x20, req[4] ?? 0, req[5] ?? 0, cc, ...data]);
    return Buffer.concat([head, body, Buffer.from([sum(body)])]);
  };
  const v2 = (type: number, sid: number, seq: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(16);
    Buffer.from([6, 0, 0xff, 7, 6, type]).copy(h);
    h.writeUInt32LE(sid >>> 0, 6);
    h.writeUInt32LE(seq >>> 0, 10);
    h.writeUInt16LE(payload.length, 14);
    return Buffer.concat([h, payload]);
  };
  sock.on('message', (msg, r) => {
    if (msg[4] === 0x00) {
      const m = msg.subarray(14, 14 + (msg[13] ?? 0));
      const cmd = m[5];
      const data =
        cmd === 0x38 ? [0x01, 0x80, 0x04, 0x02, 0, 0, 0, 0] : cmd === 0x54 ? [0x01, 0xc0, 17, 0x03, 0x44, 0x81] : [];
      const out = ipmiReply(m, cmd === 0x38 || cmd === 0x54 ? 0 : 0xc1, data);
      const head = Buffer.alloc(14);
      Buffer.from([6, 0, 0xff, 7]).copy(head);
      head[13] = out.length;
      reply(Buffer.concat([head, out]), r.port, r.address);
      return;
    }
    const type = (msg[5] ?? 0) & 0x3f;
    const p = msg.subarray(16, 16 + msg.readUInt16LE(14));
    if (type === 0x10) {
      const consoleSid = p.readUInt32LE(4);
      const ok = p[12] === 3 && p[20] === 4 && p[28] === 1;
      const bmcSid = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
      sessions.set(bmcSid, { consoleSid, seq: 0 });
      const body = Buffer.concat([
        Buffer.from([p[0] ?? 0, ok ? 0 : 0x11, 4, 0]),
        u32(consoleSid),
        u32(bmcSid),
        p.subarray(8, 32),
      ]);
      reply(v2(0x11, 0, 0, body), r.port, r.address);
    } else if (type === 0x12) {
      const bmcSid = p.readUInt32LE(4);
      const s = sessions.get(bmcSid);
      if (s === undefined) return;
      s.rm = p.subarray(8, 24);
      s.role = p[24] ?? 0;
      s.name = p.subarray(28, 28 + (p[27] ?? 0));
      s.rc = randomBytes(16);
      if (s.name.toString() !== user) {
        reply(
          v2(0x13, 0, 0, Buffer.concat([Buffer.from([p[0] ?? 0, 0x0d, 0, 0]), u32(s.consoleSid)])),
          r.port,
          r.address,
        );
        return;
      }
      const code = H(
        pw,
        u32(s.consoleSid),
        u32(bmcSid),
        s.rm,
        s.rc,
        guid,
        Buffer.from([s.role, s.name.length]),
        s.name,
      );
      reply(
        v2(0x13, 0, 0, Buffer.concat([Buffer.from([p[0] ?? 0, 0, 0, 0]), u32(s.consoleSid), s.rc, guid, code])),
        r.port,
        r.address,
      );
    } else if (type === 0x14) {
      const bmcSid = p.readUInt32LE(4);
      const s = sessions.get(bmcSid);
      if (s?.rm === undefined || s.rc === undefined || s.name === undefined || s.role === undefined) return;
      const roleName = Buffer.from([s.role, s.name.length]);
      const expected = H(pw, s.rc, u32(s.consoleSid), roleName, s.name);
      if (!expected.equals(p.subarray(8))) {
        reply(
          v2(0x15, 0, 0, Buffer.concat([Buffer.from([p[0] ?? 0, 0x0f, 0, 0]), u32(s.consoleSid)])),
          r.port,
          r.address,
        );
        return;
      }
      const sik = H(kgBuf, s.rm, s.rc, roleName, s.name);
      s.k1 = H(sik, Buffer.alloc(20, 1));
      s.k2 = H(sik, Buffer.alloc(20, 2));
      open.add(bmcSid);
      const icv = H(sik, s.rm, u32(bmcSid), guid).subarray(0, 16);
      reply(
        v2(0x15, 0, 0, Buffer.concat([Buffer.from([p[0] ?? 0, 0, 0, 0]), u32(s.consoleSid), icv])),
        r.port,
        r.address,
      );
    } else if (type === 0x00) {
      const bmcSid = msg.readUInt32LE(6);
      const s = sessions.get(bmcSid);
      if (s?.k1 === undefined || s.k2 === undefined || (msg[5] ?? 0) !== 0xc0) return;
      const signedEnd = msg.length - 16;
      if (!H(s.k1, msg.subarray(4, signedEnd)).subarray(0, 16).equals(msg.subarray(signedEnd))) return;
      const d = createDecipheriv('aes-128-cbc', s.k2.subarray(0, 16), p.subarray(0, 16)).setAutoPadding(false);
      const plain = Buffer.concat([d.update(p.subarray(16)), d.final()]);
      const m = plain.subarray(0, plain.length - 1 - (plain[plain.length - 1] ?? 0));
      const cmd = m[5];
      const data =
        cmd === 0x3b
          ? [m[6] ?? 0]
          : cmd === 0x01
            ? [0x20, 0x81, 0x01, 0x17, 0x02, 0x9f, 0x57, 0x01, 0x00, 0x34, 0x12]
            : [];
      if (cmd === 0x3c) open.delete(bmcSid);
      const out = ipmiReply(m, 0, data);
      const n = (16 - ((out.length + 1) % 16)) % 16;
      const padded = Buffer.concat([out, Buffer.from(Array.from({ length: n }, (_, i) => i + 1)), Buffer.from([n])]);
      const iv = randomBytes(16);
      const c = createCipheriv('aes-128-cbc', s.k2.subarray(0, 16), iv).setAutoPadding(false);
      const enc = Buffer.concat([iv, c.update(padded), c.final()]);
      const head = v2(0xc0, s.consoleSid, ++s.seq, enc);
      const pad = (4 - ((head.length - 4 + 2) % 4)) % 4;
      const signed = Buffer.concat([head, Buffer.alloc(pad, 0xff), Buffer.from([pad, 0x07])]);
      reply(Buffer.concat([signed, H(s.k1, signed.subarray(4)).subarray(0, 16)]), r.port, r.address);
    }
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  return { port: sock.address().port, open, close: () => new Promise<void>((res) => sock.close(() => res())) };
}
