/**
 * IPMI messages (the payload inside RMCP/RMCP+): request encoding and response decoding with
 * the two 8-bit two's-complement checksums (IPMI v2.0 section 13.8).
 */
import { VpmdError } from 'vpmd';

/** rsAddr of the BMC. */
export const BMC_ADDR = 0x20;
/** rqAddr of a remote console (software id 0x81). */
export const CONSOLE_ADDR = 0x81;

/** Two's-complement checksum: the byte that makes the sum of `bytes` and itself zero mod 256. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** An IPMI request as the client builds it. */
export interface IpmiRequest {
  readonly netFn: number;
  readonly cmd: number;
  readonly data?: Uint8Array | readonly number[];
  /** 6-bit request sequence number. */
  readonly rqSeq: number;
  /** LUN at the responder (sensor owner LUN); default 0. */
  readonly rsLun?: number;
}

/** A decoded IPMI response. */
export interface IpmiResponse {
  readonly netFn: number;
  readonly cmd: number;
  readonly rqSeq: number;
  /** Completion code (0 = success). */
  readonly cc: number;
  /** Response data after the completion code. */
  readonly data: Buffer;
}

/** Encodes `rsAddr | netFn/rsLUN | chk1 | rqAddr | rqSeq/rqLUN | cmd | data | chk2`. */
export function encodeRequest(req: IpmiRequest): Buffer {
  const data = req.data ?? [];
  // Every byte is written below; allocUnsafe takes a slice of Node's pool, not an ArrayBuffer per message.
  const out = Buffer.allocUnsafe(7 + data.length);
  out[0] = BMC_ADDR;
  out[1] = ((req.netFn & 0x3f) << 2) | ((req.rsLun ?? 0) & 0x03);
  out[2] = checksum(out, 0, 2);
  out[3] = CONSOLE_ADDR;
  out[4] = (req.rqSeq & 0x3f) << 2;
  out[5] = req.cmd & 0xff;
  out.set(data, 6);
  out[out.length - 1] = checksum(out, 3, out.length - 1);
  return out;
}

/**
 * Decodes a response message and checks both checksums.
 * @throws E_IPMI_PROTOCOL when the message is short or a checksum is wrong
 */
export function decodeResponse(msg: Buffer): IpmiResponse {
  if (msg.length < 8)
    throw new VpmdError('E_IPMI_PROTOCOL', `IPMI response of ${msg.length} bytes is shorter than the 8-byte minimum`, {
      length: msg.length,
    });
  if (checksum(msg, 0, 3) !== 0) throw new VpmdError('E_IPMI_PROTOCOL', 'IPMI response header checksum is wrong', {});
  if (checksum(msg, 3, msg.length) !== 0)
    throw new VpmdError('E_IPMI_PROTOCOL', 'IPMI response data checksum is wrong', {});
  return {
    netFn: (msg[1] ?? 0) >> 2,
    rqSeq: (msg[4] ?? 0) >> 2,
    cmd: msg[5] ?? 0,
    cc: msg[6] ?? 0,
    data: msg.subarray(7, msg.length - 1),
  };
}

/** Human text of common completion codes (IPMI v2.0 table 5-2), as ipmitool prints them. */
export function completionText(cc: number): string {
  const table: Record<number, string> = {
    0x00: 'Command completed normally',
    0xc0: 'Node busy',
    0xc1: 'Invalid command',
    0xc2: 'Invalid command on LUN',
    0xc3: 'Timeout',
    0xc4: 'Out of space',
    0xc5: 'Reservation cancelled or invalid',
    0xc6: 'Request data truncated',
    0xc7: 'Request data length invalid',
    0xc8: 'Request data field length limit exceeded',
    0xc9: 'Parameter out of range',
    0xca: 'Cannot return number of requested data bytes',
    0xcb: 'Requested sensor, data, or record not found',
    0xcc: 'Invalid data field in request',
    0xcd: 'Command illegal for specified sensor or record type',
    0xce: 'Command response could not be provided',
    0xcf: 'Cannot execute duplicated request',
    0xd0: 'SDR Repository in update mode',
    0xd1: 'Device firmware in update mode',
    0xd2: 'BMC initialization in progress',
    0xd3: 'Destination unavailable',
    0xd4: 'Insufficient privilege level',
    0xd5: 'Command not supported in present state',
    0xd6: 'Cannot execute command, command disabled',
    0xff: 'Unspecified error',
  };
  return table[cc] ?? `Unknown (0x${cc.toString(16).padStart(2, '0')})`;
}
