/**
 * The control channel's wire format: newline-delimited JSON over a unix stream socket.
 * One request per line; the agent answers with zero or more `progress` lines and then exactly one
 * `result` or `error` line carrying the same id. Lines are bounded so a confused client cannot
 * make the agent buffer without limit.
 */
import type { ErrorCategory, ErrorCode, ErrorDetails } from '../errors.js';
import type { CommandInfo, StdinField } from '../services/commands.js';

/** Longest line either side accepts, in bytes. */
export const MAX_LINE_BYTES = 1 << 20;

/** Requests from vpmctl. */
export type ControlRequest =
  | { readonly id: number; readonly type: 'run'; readonly argv: readonly string[]; readonly stdin?: readonly string[] }
  | { readonly id: number; readonly type: 'commands' };

/** Replies from the agent. */
export type ControlReply =
  | { readonly id: number; readonly type: 'progress'; readonly message: string }
  | { readonly id: number; readonly type: 'result'; readonly result: unknown; readonly human: string }
  | { readonly id: number; readonly type: 'commands'; readonly commands: readonly CommandInfo[] }
  | {
      readonly id: number;
      readonly type: 'error';
      readonly error: {
        readonly code: ErrorCode;
        readonly category: ErrorCategory;
        readonly message: string;
        readonly details: ErrorDetails;
        /** Present with E_COMMAND_STDIN: what to read and send again. */
        readonly stdin?: readonly StdinField[];
      };
    };

/** JSON.stringify that survives BigInt (64-bit values from D-Bus and counters). */
export function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

/**
 * Splits a byte stream into lines. Calls `onLine` per complete line and `onOverflow` once when a
 * line exceeds {@link MAX_LINE_BYTES} (the caller then drops the connection).
 */
export function lineSplitter(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let buf = '';
  let dead = false;
  return (chunk) => {
    if (dead) return;
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== '') onLine(line);
    }
    if (Buffer.byteLength(buf) > MAX_LINE_BYTES) {
      dead = true;
      onOverflow();
    }
  };
}
