/**
 * The control channel's wire format: newline-delimited JSON over a unix stream socket.
 * One request per line; the agent answers with zero or more `progress` lines and then exactly one
 * `result` or `error` line carrying the same id. Lines are bounded so a confused client cannot
 * make the agent buffer without limit.
 */
import type { ErrorCategory, ErrorCode, ErrorDetails } from '../errors.js';
import type { CommandInfo, StdinField } from '../services/commands.js';

/** Longest request line the agent accepts, in bytes: requests are small, and a client must not make the agent buffer without limit. */
export const MAX_LINE_BYTES = 1 << 20;

/** Longest reply line vpmctl accepts, in bytes: replies can be large (thousands of metrics). */
export const MAX_REPLY_BYTES = 256 << 20;

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
        /** The exit code vpmctl ends with (a plugin code's declared one); absent from agents before core API 1.2. */
        readonly exitCode?: number;
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
 * line exceeds `maxBytes` (the caller then drops the connection). Chunks are kept until a newline
 * arrives, so a long line costs one join, not one string copy per chunk.
 */
export function lineSplitter(
  onLine: (line: string) => void,
  onOverflow: () => void,
  maxBytes = MAX_LINE_BYTES,
): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let pending = 0;
  let dead = false;
  return (chunk) => {
    if (dead) return;
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      parts.push(chunk.subarray(start, nl));
      const line = Buffer.concat(parts).toString('utf8');
      parts = [];
      pending = 0;
      start = nl + 1;
      if (line.trim() !== '') onLine(line);
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      pending += chunk.length - start;
    }
    if (pending > maxBytes) {
      dead = true;
      onOverflow();
    }
  };
}
