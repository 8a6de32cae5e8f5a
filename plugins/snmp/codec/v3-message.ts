/**
 * The SNMPv3 message format (RFC 3412 section 6, RFC 3414 section 2.4): parsing that remembers
 * where msgAuthenticationParameters lie (the HMAC is computed with them zeroed), and building a
 * message with the HMAC filled in after encoding.
 */
import { BerError, BerReader, TAG, encInt, encString, lengthBytes, tlv } from './ber.js';
import {
  SaltCounter,
  computeMac,
  encryptScopedPdu,
  macLength,
  type AuthProtocol,
  type PrivProtocol,
} from './usm-crypto.js';

/** msgFlags bits. */
export const FLAG = Object.freeze({ auth: 1, priv: 2, reportable: 4 });

/** USM security parameters of a message. */
export interface SecurityParams {
  readonly engineId: Buffer;
  readonly boots: number;
  readonly time: number;
  readonly userName: string;
  readonly authParams: Buffer;
  readonly privParams: Buffer;
}

/** A parsed SNMPv3 message (the scoped PDU still encoded, possibly encrypted). */
export interface V3Message {
  readonly msgId: number;
  readonly maxSize: number;
  readonly flags: number;
  readonly securityModel: number;
  readonly security: SecurityParams;
  /** Offsets of the authentication parameters' content in `raw`. */
  readonly authAt: { readonly start: number; readonly end: number };
  /** Plain scoped PDU bytes, or the ciphertext when the priv flag is set. */
  readonly data: Buffer;
  readonly raw: Buffer;
}

/** Reads the version of any SNMP message (0 = v1, 1 = v2c, 3 = v3). @throws BerError. */
export function messageVersion(buf: Buffer): number {
  return new BerReader(buf).enter(TAG.Sequence).int();
}

/** Parses an SNMPv3 message. @throws BerError when malformed. */
export function parseV3(buf: Buffer): V3Message {
  const msg = new BerReader(buf).enter(TAG.Sequence);
  if (msg.int() !== 3) throw new BerError('not an SNMPv3 message');
  const g = msg.enter(TAG.Sequence);
  const msgId = g.int();
  const maxSize = g.int();
  const flagsOctets = g.octets();
  if (flagsOctets.length !== 1) throw new BerError('msgFlags must be one octet');
  const securityModel = g.int();
  const spOuter = msg.next(TAG.OctetString);
  const sp = new BerReader(buf, spOuter.start, spOuter.end).enter(TAG.Sequence);
  const engineId = sp.octets();
  const boots = sp.int();
  const time = sp.int();
  const userName = sp.octets().toString('utf8');
  const authTlv = sp.next(TAG.OctetString);
  const privParams = sp.octets();
  const dataTlv = msg.next();
  const flags = flagsOctets[0] as number;
  if (flags & FLAG.priv ? dataTlv.tag !== TAG.OctetString : dataTlv.tag !== TAG.Sequence)
    throw new BerError('msgData does not match the privacy flag');
  return {
    msgId,
    maxSize,
    flags,
    securityModel,
    security: { engineId, boots, time, userName, authParams: buf.subarray(authTlv.start, authTlv.end), privParams },
    authAt: { start: authTlv.start, end: authTlv.end },
    data: flags & FLAG.priv ? buf.subarray(dataTlv.start, dataTlv.end) : buf.subarray(dataTlv.at, dataTlv.end),
    raw: buf,
  };
}

/** The context and PDU bytes of a scoped PDU. */
export function openScopedPdu(plain: Buffer): { contextEngineId: Buffer; contextName: string; pdu: BerReader } {
  const r = new BerReader(plain).enter(TAG.Sequence);
  const contextEngineId = r.octets();
  const contextName = r.octets().toString('utf8');
  return { contextEngineId, contextName, pdu: r };
}

/** Encodes a scoped PDU. */
export function scopedPdu(contextEngineId: Buffer, contextName: string, pdu: Buffer): Buffer {
  return tlv(TAG.Sequence, [encString(contextEngineId), encString(contextName), pdu]);
}

/** Keys of a USM user, localised to the authoritative engine. */
export interface LocalizedUser {
  readonly name: string;
  readonly auth: AuthProtocol;
  readonly priv?: PrivProtocol;
  readonly authKey: Buffer;
  readonly privKey?: Buffer;
}

/** What to build. */
export interface BuildOptions {
  readonly msgId: number;
  readonly flags: number;
  readonly engineId: Buffer;
  readonly boots: number;
  readonly time: number;
  /** Null for unauthenticated messages (discovery and most reports). */
  readonly user: LocalizedUser | null;
  readonly userName?: string;
  readonly scopedPdu: Buffer;
  readonly salts?: SaltCounter;
  readonly maxSize?: number;
}

function headerLength(contentLength: number): number {
  return 1 + (contentLength < 0x80 ? 1 : contentLength < 0x100 ? 2 : contentLength < 0x10000 ? 3 : 4);
}

/** Builds an SNMPv3 message; authenticates (and encrypts) when the flags say so. */
export function buildV3(o: BuildOptions): Buffer {
  const authOn = (o.flags & FLAG.auth) !== 0 && o.user !== null;
  const privOn = authOn && (o.flags & FLAG.priv) !== 0 && o.user?.priv !== undefined && o.user.privKey !== undefined;
  let data = o.scopedPdu;
  let privParams: Buffer = Buffer.alloc(0);
  if (privOn && o.user?.priv && o.user.privKey) {
    const salt = (o.salts ?? defaultSalts).next();
    const enc = encryptScopedPdu(o.user.priv, o.user.auth, o.user.privKey, o.boots, o.time, salt, o.scopedPdu);
    data = encString(enc.data);
    privParams = enc.privParams;
  }
  const macLen = authOn && o.user ? macLength(o.user.auth) : 0;
  const flags = (o.flags & FLAG.reportable) | (authOn ? FLAG.auth : 0) | (privOn ? FLAG.priv : 0);
  const head = [encString(o.engineId), encInt(o.boots), encInt(o.time), encString(o.user?.name ?? o.userName ?? '')];
  const authTlv = encString(Buffer.alloc(macLen));
  const spSeq = tlv(TAG.Sequence, [...head, authTlv, encString(privParams)]);
  const spOctets = encString(spSeq);
  const version = encInt(3);
  const global = tlv(TAG.Sequence, [
    encInt(o.msgId),
    encInt(o.maxSize ?? 65507),
    encString(Buffer.from([flags])),
    encInt(3),
  ]);
  const body = [version, global, spOctets, data];
  const bodyLen = body.reduce((n, b) => n + b.length, 0);
  const msg = Buffer.concat([Buffer.from([TAG.Sequence]), lengthBytes(bodyLen), ...body]);
  if (authOn && o.user) {
    const headLen = head.reduce((n, b) => n + b.length, 0);
    // Offset of the MAC's content: message header, version, global data, the octet-string
    // wrapper, the security sequence header, the fields before it, and its own header.
    const at =
      headerLength(bodyLen) +
      version.length +
      global.length +
      headerLength(spSeq.length) +
      headerLengthOfSeq(spSeq) +
      headLen +
      headerLength(macLen);
    computeMac(o.user.auth, o.user.authKey, msg).copy(msg, at);
  }
  return msg;
}

const defaultSalts = new SaltCounter();

function headerLengthOfSeq(seq: Buffer): number {
  const second = seq[1] as number;
  return second & 0x80 ? 2 + (second & 0x7f) : 2;
}
