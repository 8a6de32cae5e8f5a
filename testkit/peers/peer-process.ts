/**
 * One peer program run as a child in its own process group, with its output kept for error
 * messages, and stopped by group: SIGTERM, then SIGKILL after a grace period.
 *
 * Orphans are prevented three ways: stop() kills the whole group; a process-exit and signal
 * hook kills every peer still running when the test process ends (also on an uncaught error);
 * and, where util-linux `setpriv` exists, each peer gets PR_SET_PDEATHSIG=SIGKILL so even a
 * SIGKILLed test process takes its peers with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { onProcessEnd } from './exit-hooks.js';
import type { VpmdError } from '../../core/errors.js';
import { peerFailedError, describe } from './peer-errors.js';
import { withTimeout } from './wait.js';

/** How a peer process ended. */
export interface PeerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What {@link PeerProcess.spawn} starts. */
export interface SpawnPeerOptions {
  /** Label for errors and logs, e.g. "ipmi_sim". */
  readonly peer: string;
  /** Absolute path of the program (see requireProgram). */
  readonly program: string;
  readonly args: readonly string[];
  /** Variables set on top of the test process's environment (undefined removes one). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

const SETPRIV = '/usr/bin/setpriv';
const OUTPUT_TAIL_CHARS = 16_384;
const STDOUT_HEAD_CHARS = 4_096;

const live = new Set<PeerProcess>();
let hookInstalled = false;
const usePdeathsig = existsSync(SETPRIV);

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function killAllLive(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
  live.clear();
}

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  onProcessEnd(killAllLive);
}

/** A running peer program; see the module comment for how it is stopped. */
export class PeerProcess {
  /** The peer's pid, which is also its process-group id. */
  readonly pid: number;
  readonly peer: string;
  private tail = '';
  private stdoutHead = '';
  private exitInfo: PeerExit | undefined;
  private readonly exited: Promise<PeerExit>;
  private stopping: Promise<void> | undefined;

  private constructor(peer: string, child: ChildProcess, pid: number) {
    this.peer = peer;
    this.pid = pid;
    this.exited = new Promise<PeerExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.stdoutHead.length < STDOUT_HEAD_CHARS)
        this.stdoutHead += chunk.slice(0, STDOUT_HEAD_CHARS - this.stdoutHead.length);
      this.append(chunk);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.append(chunk));
  }

  /**
   * Starts a program in a new session and process group, stdin closed, stdout and stderr kept.
   * @throws VpmdError (peer failed) when the program cannot be executed
   */
  static async spawn(opts: SpawnPeerOptions): Promise<PeerProcess> {
    installHook();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(opts.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const [command, args] = usePdeathsig
      ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', opts.program, ...opts.args]]
      : [opts.program, [...opts.args]];
    const child = spawn(command, args, { detached: true, env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const failed = (err: unknown): VpmdError =>
      peerFailedError(
        opts.peer,
        `cannot execute ${opts.program}: ${describe(err)}`,
        { program: opts.program },
        '',
        err,
      );
    if (child.pid === undefined) throw failed(await new Promise<unknown>((resolve) => child.once('error', resolve)));
    // Listeners go on before any await, so no exit or output is missed.
    const proc = new PeerProcess(opts.peer, child, child.pid);
    live.add(proc);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(failed(err)));
    });
    return proc;
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): PeerExit | undefined {
    return this.exitInfo;
  }

  /** The last `maxChars` characters the peer wrote to stdout and stderr, interleaved. */
  output(maxChars = 3_000): string {
    return this.tail.slice(-maxChars);
  }

  /** The first characters the peer wrote to stdout (e.g. an address it prints on start). */
  stdoutStart(): string {
    return this.stdoutHead;
  }

  /**
   * Throws when the process has exited.
   * @param while_ - what was going on, e.g. "starting", for the message
   */
  assertRunning(while_: string): void {
    const exit = this.exitInfo;
    if (exit === undefined) return;
    const how = exit.signal === null ? `exit code ${String(exit.code)}` : `signal ${exit.signal}`;
    throw peerFailedError(
      this.peer,
      `exited (${how}) while ${while_}`,
      { pid: this.pid, exitCode: exit.code, signal: exit.signal },
      this.output(),
    );
  }

  /** Freezes the whole group (SIGSTOP): the peer stops answering until {@link resume}. */
  suspend(): void {
    if (this.exitInfo === undefined) killGroup(this.pid, 'SIGSTOP');
  }

  /** Lets a suspended group run again (SIGCONT). */
  resume(): void {
    if (this.exitInfo === undefined) killGroup(this.pid, 'SIGCONT');
  }

  /**
   * Stops the group: SIGCONT + SIGTERM, SIGKILL after `graceMs`, then SIGKILL to any member
   * left. Safe to call more than once and after the process exited on its own.
   * @throws VpmdError (peer failed) if the process survives SIGKILL
   */
  stop(graceMs = 2_000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    if (this.exitInfo === undefined) {
      killGroup(this.pid, 'SIGCONT'); // a stopped process would hold SIGTERM pending forever
      killGroup(this.pid, 'SIGTERM');
      if (!(await this.waitExit(graceMs))) {
        killGroup(this.pid, 'SIGKILL');
        if (!(await this.waitExit(5_000))) {
          throw peerFailedError(
            this.peer,
            `pid ${this.pid} did not exit after SIGKILL`,
            { pid: this.pid },
            this.output(),
          );
        }
      }
    }
    // Children the peer started (chassis scripts, helpers) share its group.
    killGroup(this.pid, 'SIGKILL');
    live.delete(this);
  }

  private async waitExit(ms: number): Promise<boolean> {
    try {
      await withTimeout(this.peer, 'exit', ms, this.exited);
      return true;
    } catch {
      return false;
    }
  }

  private append(chunk: string): void {
    this.tail = (this.tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  }
}
