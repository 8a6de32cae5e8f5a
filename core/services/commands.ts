/**
 * The command registry: every operator action (vpmctl, the shell, later Redfish/SNMP bridges)
 * is a named command with a privilege, an argument schema, a handler and a human formatter.
 * Registration happens at plugin register time; the kernel removes a plugin's commands when it
 * stops or its start is rolled back.
 */
import type { Static, TObject } from '@sinclair/typebox';
import { VpmdError, isVpmdError } from '../errors.js';
import type { AccessPolicy } from '../access/access-policy.js';
import type { Principal, Privilege } from '../access/privileges.js';
import { describeParams, parseCommandArgs, usageLine, type ParamInfo } from './command-args.js';
import { formatHuman } from './format.js';

/** A value read from standard input instead of the command line (secrets never go on argv). */
export interface StdinField {
  /** Argument name the line is stored under (must be a string property of the schema). */
  readonly name: string;
  /** Prompt shown when stdin is a terminal. */
  readonly prompt: string;
  /** Hide the input on a terminal. */
  readonly secret: boolean;
}

/** What a handler gets besides its arguments. */
export interface Invocation {
  readonly principal: Principal;
  /** Reports progress of a long operation; shown by vpmctl as it happens. */
  progress(message: string): void;
  /** Aborted when the client goes away or the agent stops. */
  readonly signal: AbortSignal;
}

/** A command's declaration. */
export interface CommandSpec<S extends TObject = TObject, R = unknown> {
  /** Words separated by single spaces, e.g. `status`, `ipmi sensors`. */
  readonly name: string;
  /** One line for help listings. */
  readonly summary: string;
  readonly privilege: Privilege;
  /** Argument schema; property descriptions become help text. */
  readonly args: S;
  /** Properties given positionally, in order (the last may be an array for variadics). */
  readonly positional?: readonly (keyof Static<S> & string)[];
  /** Lines read from standard input, in order. */
  readonly stdin?: readonly StdinField[];
  readonly handler: (args: Static<S>, inv: Invocation) => R | Promise<R>;
  /** Human output (virsh/ipmitool style); defaults to a generic key/value or table rendering. */
  readonly human?: (result: R, args: Static<S>) => string;
}

/** Identity-typed helper that infers argument types from the schema. */
export function defineCommand<S extends TObject, R>(spec: CommandSpec<S, R>): CommandSpec<S, R> {
  return spec;
}

/** Public description of a command (help, completion). */
export interface CommandInfo {
  readonly name: string;
  readonly summary: string;
  readonly privilege: Privilege;
  readonly owner: string;
  readonly usage: string;
  readonly params: readonly ParamInfo[];
  readonly stdin: readonly StdinField[];
}

/** The outcome of running a command. */
export interface CommandOutcome {
  readonly result: unknown;
  readonly human: string;
}

interface Entry {
  readonly owner: string;
  readonly spec: CommandSpec;
}

// Underscores are allowed so that ecosystem command names survive as-is (DPDK's vm_power_manager: add_vm, show_vm).
const NAME = /^[a-z][a-z0-9_-]*( [a-z][a-z0-9_-]*)*$/;

/** The agent-wide command registry. */
/**
 * What the agent tells the registry while it starts plugins: the control socket answers before
 * every plugin runs, so a command of a plugin still starting (or not yet registered) waits for
 * start-up instead of failing as unknown.
 */
export interface StartupGate {
  /** Names of enabled plugins not yet started (pending or starting); empty once start-up is over. */
  starting(): readonly string[];
  /** Resolves when start-up is over (every plugin running or failed). */
  readonly done: Promise<void>;
}

/** How long a command waits for start-up before it is answered "busy". */
export const STARTUP_WAIT_MS = 5_000;

export class CommandRegistry {
  private readonly entries = new Map<string, Entry>();
  private gate: StartupGate | undefined;
  private gateWaitMs = STARTUP_WAIT_MS;

  constructor(private readonly policy: AccessPolicy) {}

  /** Registers `spec` on behalf of `owner`. @throws E_COMMAND_DUPLICATE, E_INTERNAL on a bad name. */
  register<S extends TObject, R>(owner: string, spec: CommandSpec<S, R>): void {
    if (!NAME.test(spec.name))
      throw new VpmdError(
        'E_INTERNAL',
        `command name '${spec.name}' must be lower-case words separated by single spaces`,
      );
    const prev = this.entries.get(spec.name);
    if (prev) {
      throw new VpmdError('E_COMMAND_DUPLICATE', `command '${spec.name}' is already registered by ${prev.owner}`, {
        command: spec.name,
        owner: prev.owner,
      });
    }
    describeParams(spec.args, spec.positional ?? []); // fails early on a positional missing from the schema
    this.entries.set(spec.name, { owner, spec: spec as unknown as CommandSpec });
  }

  /** Makes commands wait for start-up (see {@link StartupGate}); the agent sets it while it starts. */
  setStartupGate(gate: StartupGate | undefined, waitMs = STARTUP_WAIT_MS): void {
    this.gate = gate;
    this.gateWaitMs = waitMs;
  }

  /**
   * {@link resolve}, but while plugins are starting: a command that is unknown so far, or whose
   * plugin has not finished starting, waits for start-up (up to {@link STARTUP_WAIT_MS} by default).
   * @throws E_PLUGIN_STARTING (busy, exit 5) when start-up is still going on after that
   */
  private async resolveWhenStarted(argv: readonly string[]): Promise<{ info: CommandInfo; rest: string[] }> {
    const gate = this.gate;
    const attempt = (): { info: CommandInfo; rest: string[] } | undefined => {
      try {
        return this.resolve(argv);
      } catch (e) {
        if (isVpmdError(e) && e.code === 'E_COMMAND_UNKNOWN') return undefined;
        throw e;
      }
    };
    // Unknown so far, or owned by a plugin that has not finished starting: wait for start-up.
    const mustWait = (r: { info: CommandInfo } | undefined): boolean => {
      const starting = gate?.starting() ?? [];
      return starting.length > 0 && (r === undefined || starting.includes(r.info.owner));
    };
    const first = attempt();
    if (gate === undefined || !mustWait(first)) return first ?? this.resolve(argv);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gate.done, new Promise<void>((r) => (timer = setTimeout(r, this.gateWaitMs)))]);
    clearTimeout(timer);
    const second = attempt();
    if (mustWait(second)) {
      const who = second?.info.owner ?? gate.starting()[0] ?? 'a plugin';
      throw new VpmdError('E_PLUGIN_STARTING', `busy: plugin ${who} is starting; try again in a moment`, {
        plugin: who,
        starting: [...gate.starting()],
      });
    }
    return second ?? this.resolve(argv);
  }

  /** Removes every command of `owner`; returns how many. */
  removeOwner(owner: string): number {
    let n = 0;
    for (const [name, e] of this.entries) {
      if (e.owner === owner) {
        this.entries.delete(name);
        n++;
      }
    }
    return n;
  }

  /** Every command, sorted by name; only those `principal` may run when given. */
  list(principal?: Principal): CommandInfo[] {
    return [...this.entries.values()]
      .filter((e) => !principal || this.policy.can(principal, e.spec.privilege))
      .map((e) => this.info(e))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Finds the command named by the longest prefix of `argv`. */
  resolve(argv: readonly string[]): { info: CommandInfo; rest: string[] } {
    for (let n = Math.min(argv.length, 4); n >= 1; n--) {
      const e = this.entries.get(argv.slice(0, n).join(' '));
      if (e) return { info: this.info(e), rest: argv.slice(n) };
    }
    const typed = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    const near = [...this.entries.keys()].filter((k) => k.startsWith(argv[0] ?? '\0'));
    throw new VpmdError(
      'E_COMMAND_UNKNOWN',
      `unknown command '${typed}'${near.length ? `; did you mean: ${near.join(', ')}` : "; 'help' lists the commands"}`,
      { command: typed },
    );
  }

  /**
   * Resolves, authorises, parses and runs a command.
   * @throws E_COMMAND_UNKNOWN, E_PLUGIN_STARTING, E_ACCESS_DENIED, E_COMMAND_STDIN (input lines missing), E_COMMAND_USAGE, or the handler's error.
   */
  async run(argv: readonly string[], inv: Invocation, stdinLines?: readonly string[]): Promise<CommandOutcome> {
    const { info, rest } = await this.resolveWhenStarted(argv);
    const entry = this.entries.get(info.name) as Entry;
    const spec = entry.spec;
    this.policy.require(inv.principal, spec.privilege, info.name);
    const stdin = spec.stdin ?? [];
    const extra: Record<string, string> = {};
    if (stdin.length > 0) {
      if (!stdinLines || stdinLines.length < stdin.length) {
        throw new VpmdError(
          'E_COMMAND_STDIN',
          `${info.name}: expects ${stdin.map((f) => f.name).join(', ')} on standard input, one per line`,
          {
            fields: stdin.map((f) => f.name),
          },
        );
      }
      stdin.forEach((f, i) => (extra[f.name] = stdinLines[i] as string));
    }
    const args = parseCommandArgs(
      info.name,
      spec.args,
      spec.positional ?? [],
      rest,
      extra,
      stdin.map((f) => f.name),
    );
    // Read-only commands (Login) are not audited: the trail is for actions that change things.
    const audited = spec.privilege !== 'Login';
    try {
      const result = await spec.handler(args, inv);
      const human = spec.human ? spec.human(result, args) : formatHuman(result);
      if (audited) this.policy.audit(inv.principal, info.name, 'ok');
      return { result, human };
    } catch (e) {
      if (audited) this.policy.audit(inv.principal, info.name, 'failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  private info(e: Entry): CommandInfo {
    const stdinNames = (e.spec.stdin ?? []).map((f) => f.name);
    const params = describeParams(e.spec.args, e.spec.positional ?? []).filter((p) => !stdinNames.includes(p.name));
    return {
      name: e.spec.name,
      summary: e.spec.summary,
      privilege: e.spec.privilege,
      owner: e.owner,
      usage: usageLine(e.spec.name, params),
      params,
      stdin: e.spec.stdin ?? [],
    };
  }
}
