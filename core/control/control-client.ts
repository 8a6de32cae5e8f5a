/**
 * vpmctl's side of the control channel: connect, send one request, relay progress, return the
 * final reply. Used by the one-shot CLI and by the interactive shell (one connection per shell).
 */
import { createConnection, type Socket } from 'node:net';
import { VpmdError } from '../errors.js';
import type { CommandInfo } from '../services/commands.js';
import { lineSplitter, MAX_REPLY_BYTES, toJsonLine, type ControlReply } from './protocol.js';

/** The final reply to a `run`. */
export type RunReply = Extract<ControlReply, { type: 'result' } | { type: 'error' }>;

/** A connection to the agent. */
export class ControlClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { onReply: (r: ControlReply) => void }>();
  private closedError: VpmdError | undefined;

  private constructor(private readonly sock: Socket) {
    sock.on(
      'data',
      lineSplitter(
        (line) => this.dispatch(line),
        () => this.failAll(new VpmdError('E_CONTROL_PROTOCOL', 'agent reply line too long')),
        MAX_REPLY_BYTES,
      ),
    );
    sock.on('close', () => this.failAll(new VpmdError('E_CONTROL_CONNECT', 'the agent closed the control connection')));
  }

  /**
   * Connects to the socket at `path`.
   * @throws VpmdError E_CONTROL_CONNECT saying whether the agent is not running or access is denied.
   */
  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new VpmdError('E_CONTROL_CONNECT', `${path}: no answer within ${timeoutMs} ms`, { socket: path }));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(sock));
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? 'the agent is not running (start it with: vpmd --config FILE, or vpmd --demo)'
            : e.code === 'EACCES'
              ? 'permission denied (the control socket is mode 0600: run as its owner, normally root)'
              : e.message;
        reject(
          new VpmdError('E_CONTROL_CONNECT', `cannot connect to ${path}: ${why}`, {
            socket: path,
            errno: e.code ?? 'EIO',
          }),
        );
      });
    });
  }

  /** Runs a command; `onProgress` sees progress lines as they come. */
  run(
    argv: readonly string[],
    opts: { stdin?: readonly string[]; onProgress?: (m: string) => void } = {},
  ): Promise<RunReply> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      const id = this.nextId++;
      this.waiting.set(id, {
        onReply: (r) => {
          if (r.type === 'progress') return opts.onProgress?.(r.message);
          this.waiting.delete(id);
          if (r.type === 'result' || r.type === 'error') resolve(r);
          else reject(new VpmdError('E_CONTROL_PROTOCOL', `unexpected reply type ${r.type}`));
        },
      });
      this.sock.write(toJsonLine({ id, type: 'run', argv, ...(opts.stdin ? { stdin: opts.stdin } : {}) }));
    });
  }

  /** The commands this client may run (for help and completion). */
  commands(): Promise<readonly CommandInfo[]> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      const id = this.nextId++;
      this.waiting.set(id, {
        onReply: (r) => {
          this.waiting.delete(id);
          if (r.type === 'commands') resolve(r.commands);
          else reject(new VpmdError('E_CONTROL_PROTOCOL', 'unexpected reply to commands'));
        },
      });
      this.sock.write(toJsonLine({ id, type: 'commands' }));
    });
  }

  /** Closes the connection. */
  close(): void {
    this.sock.end();
  }

  private dispatch(line: string): void {
    let r: ControlReply;
    try {
      r = JSON.parse(line) as ControlReply;
    } catch {
      return this.failAll(new VpmdError('E_CONTROL_PROTOCOL', 'agent sent a line that is not JSON'));
    }
    if (r.id === -1 && r.type === 'error') return this.failAll(new VpmdError(r.error.code, r.error.message));
    this.waiting.get(r.id)?.onReply(r);
  }

  private failAll(e: VpmdError): void {
    this.closedError = e;
    for (const [, w] of this.waiting) w.onReply({ id: -1, type: 'error', error: { ...e.toJSON() } });
    this.waiting.clear();
    this.sock.destroy();
  }
}
