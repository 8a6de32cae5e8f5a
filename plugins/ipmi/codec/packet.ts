/**
 * RMCP/ASF framing of IPMI 1.5 (sessionless, for Get Channel Authentication Capabilities and
 * Get Channel Cipher Suites) and IPMI 2.0 / RMCP+ packets with integrity and confidentiality.
 */
import { VpmdError } from 'vpmd';
import type { CipherSuite } from './cipher-suites.js';
import {
  AesCbc128,
  authCodeLength,
  decryptPayload,
  encryptPayload,
  encryptedLength,
  integrityCode,
  sameBytes,
  sameRange,
} from './crypto.js';
import { HmacSha1 } from './hmac-sha1.js';

/** RMCP header: version 6, reserved, sequence FF (no RMCP ack), class 7 (IPMI). */
export const RMCP_HEADER = Buffer.from([0x06, 0x00, 0xff, 0x07]);

/** RMCP+ payload types. */
export const PAYLOAD = {
  ipmi: 0x00,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15,
} as const;

/** Keys and algorithms of an active session; absent before the session is up. */
export interface PacketSecurity {
  readonly suite: CipherSuite;
  readonly k1: Buffer;
  readonly k2: Buffer;
  /** The session's long-lived AES contexts (see {@link sessionSecurity}); one per packet otherwise. */
  readonly aes?: AesCbc128;
  /** HMAC-SHA1 under K1 with its pads hashed once (suites with HMAC-SHA1-96 integrity). */
  readonly sha1?: HmacSha1;
}

/** The security of an established session, with its AES and HMAC-SHA1 key schedules made once. */
export function sessionSecurity(suite: CipherSuite, k1: Buffer, k2: Buffer): PacketSecurity {
  return {
    suite,
    k1,
    k2,
    ...(suite.conf !== 'none' ? { aes: new AesCbc128(k2) } : {}),
    ...(suite.integrity === 'hmac-sha1-96' ? { sha1: new HmacSha1(k1) } : {}),
  };
}

/** Scratch for the expected auth code of an inbound packet (decoding is synchronous). */
const EXPECTED_CODE = Buffer.alloc(32);

/** Wraps an IPMI message in an IPMI 1.5 packet with auth type none (outside a session). */
export function encodeV15(message: Uint8Array): Buffer {
  const head = Buffer.alloc(14);
  RMCP_HEADER.copy(head, 0);
  head[4] = 0x00; // auth type none; sequence and session id stay 0
  head[13] = message.length;
  return Buffer.concat([head, message]);
}

/** Builds an RMCP+ packet; with `security` the payload is encrypted and/or authenticated. */
export function encodeV20(
  payloadType: number,
  sessionId: number,
  seq: number,
  payload: Uint8Array,
  security?: PacketSecurity,
): Buffer {
  const encrypt = security !== undefined && security.suite.conf !== 'none';
  const authenticate = security !== undefined && security.suite.integrity !== 'none';
  const bodyLen = encrypt ? encryptedLength(payload.length) : payload.length;
  // Integrity pad: AuthType .. NextHeader must be a multiple of 4 bytes.
  const pad = authenticate ? (4 - ((12 + bodyLen + 2) % 4)) % 4 : 0;
  const codeLen = authenticate ? authCodeLength(security.suite.integrity) : 0;
  const signedEnd = 16 + bodyLen + (authenticate ? pad + 2 : 0);
  // One buffer per packet: header, body, trailer and auth code are written in place.
  const out = Buffer.allocUnsafe(signedEnd + codeLen);
  RMCP_HEADER.copy(out, 0);
  out[4] = 0x06;
  out[5] = (payloadType & 0x3f) | (encrypt ? 0x80 : 0) | (authenticate ? 0x40 : 0);
  out.writeUInt32LE(sessionId >>> 0, 6);
  out.writeUInt32LE(seq >>> 0, 10);
  out.writeUInt16LE(bodyLen, 14);
  if (!encrypt) out.set(payload, 16);
  else if (security.aes !== undefined) security.aes.encryptInto(payload, out, 16);
  else encryptPayload(security.k2, payload).copy(out, 16);
  if (!authenticate) return out;
  out.fill(0xff, 16 + bodyLen, 16 + bodyLen + pad);
  out[signedEnd - 2] = pad;
  out[signedEnd - 1] = 0x07;
  if (security.sha1 !== undefined) security.sha1.macRangeInto(out, 4, signedEnd, out, signedEnd, codeLen);
  else integrityCode(security.suite.integrity, security.k1, out.subarray(4, signedEnd)).copy(out, signedEnd);
  return out;
}

/** A decoded inbound packet. */
export type DecodedPacket =
  | { readonly kind: 'v15'; readonly sessionId: number; readonly seq: number; readonly message: Buffer }
  | {
      readonly kind: 'v20';
      readonly payloadType: number;
      readonly encrypted: boolean;
      readonly authenticated: boolean;
      readonly sessionId: number;
      readonly seq: number;
      readonly payload: Buffer;
    };

function malformed(what: string, length: number): VpmdError {
  return new VpmdError('E_IPMI_PROTOCOL', `malformed RMCP packet: ${what}`, { length });
}

/**
 * Decodes a datagram. With `security`, an authenticated packet's HMAC is checked and an
 * encrypted payload decrypted; a packet that should be protected but is not is rejected.
 * @throws E_IPMI_PROTOCOL for anything that is not a well-formed, correctly signed packet
 */
export function decodePacket(buf: Buffer, security?: PacketSecurity): DecodedPacket {
  if (buf.length < 5 || buf[0] !== 0x06 || buf[3] !== 0x07)
    throw malformed('not an RMCP IPMI-class datagram', buf.length);
  const authType = buf[4] ?? 0;
  if (authType !== 0x06) {
    // IPMI 1.5: auth type, seq(4), session id(4), [auth code(16) when auth type != 0], length(1)
    const codeLen = authType === 0 ? 0 : 16;
    const lenAt = 13 + codeLen;
    if (buf.length < lenAt + 1) throw malformed('IPMI 1.5 header truncated', buf.length);
    const len = buf[lenAt] ?? 0;
    if (buf.length < lenAt + 1 + len) throw malformed('IPMI 1.5 message truncated', buf.length);
    return {
      kind: 'v15',
      seq: buf.readUInt32LE(5),
      sessionId: buf.readUInt32LE(9),
      message: buf.subarray(lenAt + 1, lenAt + 1 + len),
    };
  }
  if (buf.length < 16) throw malformed('RMCP+ header truncated', buf.length);
  const typeByte = buf[5] ?? 0;
  const encrypted = (typeByte & 0x80) !== 0;
  const authenticated = (typeByte & 0x40) !== 0;
  const payloadType = typeByte & 0x3f;
  const sessionId = buf.readUInt32LE(6);
  const seq = buf.readUInt32LE(10);
  const len = buf.readUInt16LE(14);
  if (buf.length < 16 + len) throw malformed(`payload length ${len} exceeds the datagram`, buf.length);
  let payload = buf.subarray(16, 16 + len);
  if (security !== undefined && sessionId !== 0) {
    if (security.suite.integrity !== 'none') {
      if (!authenticated) throw malformed('unauthenticated packet inside an authenticated session', buf.length);
      const codeLen = authCodeLength(security.suite.integrity);
      if (buf.length < 16 + len + 2 + codeLen) throw malformed('integrity trailer truncated', buf.length);
      const signedEnd = buf.length - codeLen;
      if (buf[signedEnd - 1] !== 0x07) throw malformed('next header is not 0x07', buf.length);
      let valid: boolean;
      if (security.sha1 !== undefined) {
        security.sha1.macRangeInto(buf, 4, signedEnd, EXPECTED_CODE, 0, codeLen);
        valid = sameRange(EXPECTED_CODE, 0, buf, signedEnd, codeLen); // signedEnd + codeLen = length
      } else
        valid = sameBytes(
          integrityCode(security.suite.integrity, security.k1, buf.subarray(4, signedEnd)),
          buf.subarray(signedEnd),
        );
      if (!valid)
        throw new VpmdError('E_IPMI_PROTOCOL', 'packet integrity check failed (HMAC mismatch)', { sessionId });
    }
    if (security.suite.conf !== 'none') {
      if (!encrypted) throw malformed('plain-text payload inside an encrypted session', buf.length);
      payload = security.aes !== undefined ? security.aes.decrypt(payload) : decryptPayload(security.k2, payload);
    }
  }
  return { kind: 'v20', payloadType, encrypted, authenticated, sessionId, seq, payload };
}
