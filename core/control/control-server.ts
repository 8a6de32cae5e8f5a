/**
 * The agent's side of the control channel: a unix socket created mode 0600 (only its owner, root
 * in production, may connect; Node cannot read peer credentials, so the file mode is the gate),
 * running registered commands on behalf of the socket owner.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import type { Logger } from '../logger.js';
import { VpmdError, isVpmdError, toVpmdError } from '../errors.js';
import type { Principal } from '../access/privileges.js';
import type { CommandRegistry } from '../services/commands.js';
import { MAX_LINE_BYTES, lineSplitter, toJsonLine, type ControlReply, type ControlRequest } from './protocol.js';

/** How long an overflowing client may go on sending (read and dropped) before it is cut off. */
const OVERFLOW_DRAIN_MS = 5_000;

function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new VpmdError('E_CONTROL_PROTOCOL', 'control request is not JSON');
  }
  const r = v as Partial<Record<string, unknown>>;
  if (typeof v !== 'object' || v === null || typeof r.id !== 'number')
    throw new VpmdError('E_CONTROL_PROTOCOL', 'control request needs a numeric id');
  if (r.type === 'commands') return { id: r.id, type: 'commands' };
  if (r.type === 'run' && Array.isArray(r.argv) && r.argv.every((a) => typeof a === 'string')) {
    const stdin =
      Array.isArray(r.stdin) && r.stdin.every((a) => typeof a === 'string') ? (r.stdin as string[]) : undefined;
    return { id: r.id, type: 'run', argv: r.argv as string[], ...(stdin ? { stdin } : {}) };
  }
  throw new VpmdError('E_CONTROL_PROTOCOL', "control request type must be 'run' (with argv: string[]) or 'commands'");
}

/** Is a live agent listening on `path`? */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The control socket server. */
export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly principal: Principal;

  constructor(
    private readonly path: string,
    private readonly commands: CommandRegistry,
    private readonly log: Logger,
  ) {
    this.principal = { name: userInfo().username, role: 'Administrator', origin: 'control-socket' };
  }

  /** Creates the socket (mode 0600). @throws E_CONTROL_SOCKET when another agent owns it or the path is unusable. */
  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const existing = await lstat(this.path).catch(() => undefined);
    if (existing) {
      if (!existing.isSocket())
        throw new VpmdError('E_CONTROL_SOCKET', `${this.path} exists and is not a socket; refusing to replace it`, {
          path: this.path,
        });
      if (await probe(this.path))
        throw new VpmdError('E_CONTROL_SOCKET', `another agent is listening on ${this.path}`, { path: this.path });
      await unlink(this.path);
    }
    const server = createServer((sock) => this.accept(sock));
    // umask closes the window between bind() and chmod() in which the socket would be group/world-connectable.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new VpmdError(
        'E_CONTROL_SOCKET',
        `cannot listen on ${this.path}: ${(e as Error).message}`,
        { path: this.path },
        { cause: e },
      );
    } finally {
      process.umask(old);
    }
    await chmod(this.path, 0o600);
    this.server = server;
    this.log.info({ socket: this.path }, 'control socket listening');
  }

  /** Closes the socket and every connection, and removes the socket file. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    const ac = new AbortController();
    const send = (r: ControlReply): void => {
      if (!sock.destroyed) sock.write(toJsonLine(r));
    };
    sock.on(
      'data',
      lineSplitter(
        (line) => void this.handle(line, send, ac.signal),
        () => {
          // Answer first, then half-close: the client may still be writing, and a reset
          // (destroy) would lose the answer. The rest of its line is read and dropped.
          const error = new VpmdError(
            'E_CONTROL_PROTOCOL',
            `control request line longer than ${MAX_LINE_BYTES} bytes: a request is one JSON line of at most ` +
              `${MAX_LINE_BYTES >> 20} MiB; the connection is closed`,
            { limitBytes: MAX_LINE_BYTES },
          );
          if (!sock.destroyed) sock.end(toJsonLine({ id: -1, type: 'error', error: { ...error.toJSON() } }));
          // Bounded: a client that never stops sending is cut off.
          setTimeout(() => sock.destroy(), OVERFLOW_DRAIN_MS).unref();
        },
      ),
    );
    sock.on('close', () => {
      ac.abort();
      this.sockets.delete(sock);
    });
    sock.on('error', () => sock.destroy());
  }

  private async handle(line: string, send: (r: ControlReply) => void, signal: AbortSignal): Promise<void> {
    let id = -1;
    let argv: readonly string[] | undefined;
    try {
      const req = parseRequest(line);
      id = req.id;
      if (req.type === 'run') argv = req.argv;
      if (req.type === 'commands') {
        send({ id, type: 'commands', commands: this.commands.list(this.principal) });
        return;
      }
      const out = await this.commands.run(
        req.argv,
        { principal: this.principal, signal, progress: (message) => send({ id, type: 'progress', message }) },
        req.stdin,
      );
      send({ id, type: 'result', result: out.result, human: out.human });
    } catch (e) {
      const err = toVpmdError(e);
      if (err.category === 'internal') this.log.error({ err: e }, 'control command failed');
      // The run's own command says what to read: resolve it again rather than re-parse the line.
      const stdin = isVpmdError(e, 'E_COMMAND_STDIN') && argv ? [...this.commands.resolve(argv).info.stdin] : undefined;
      send({ id, type: 'error', error: { ...err.toJSON(), ...(stdin ? { stdin } : {}) } });
    }
  }
}
