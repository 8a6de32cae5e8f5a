/**
 * What a session is given (target, retransmit policy), what it counts, and the error for a
 * refused command: shared by the session and the commands built on it.
 */
import { VpmdError } from 'vpmd';
import type { CipherFloor } from '../codec/cipher-suites.js';
import { completionText } from '../codec/message.js';
import type { PrivilegeName } from '../codec/rakp.js';

/** How to reach and log in to one BMC. Secrets live only here, never in logs or errors. */
export interface SessionTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** BMC key (KG); the password is used when absent. */
  readonly kg?: Buffer;
  readonly privilege: PrivilegeName;
  readonly cipherFloor: CipherFloor;
  /** Force one cipher suite instead of negotiating. */
  readonly cipherSuite?: number;
}

/** Retransmit policy. */
export interface SessionTiming {
  /** Wait per attempt, ms. */
  readonly timeoutMs: number;
  /** Retransmissions after the first attempt, at least. */
  readonly retries: number;
  /**
   * Time (ms) a request keeps being retransmitted, with growing waits, before it counts as
   * lost; at least `retries` retransmissions are sent either way. Absent: `retries` alone bounds it.
   */
  readonly budgetMs?: number;
}

/** One IPMI request of a batch (`IpmiSession.requestAll`). */
export interface RequestSpec {
  readonly netFn: number;
  readonly cmd: number;
  readonly data: readonly number[] | Uint8Array;
  /** LUN at the responder (sensor owner LUN). */
  readonly rsLun: number;
}

export type { SessionStats } from './link-faults.js';

/** The error for a non-zero completion code. */
export function commandError(target: string, netFn: number, cmd: number, cc: number): VpmdError {
  return new VpmdError(
    'E_IPMI_COMMAND',
    `BMC ${target}: command 0x${netFn.toString(16).padStart(2, '0')}/0x${cmd.toString(16).padStart(2, '0')} failed: ${completionText(cc)}`,
    {
      target,
      netFn,
      cmd,
      completionCode: cc,
    },
  );
}
