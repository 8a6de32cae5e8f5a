/**
 * A mocked systemd-logind (python-dbusmock's logind template) owning org.freedesktop.login1 on a
 * private bus. The 0.28 template has no *WithFlags methods and never emits PrepareForSleep; this
 * helper adds both through the mock's control interface (org.freedesktop.DBus.Mock).
 */
import { Variant } from 'dbus-next';
import type { BusClient } from './bus-client.js';
import type { MockCall } from './dbusmock-calls.js';
import { DbusmockPeer, startDbusmockTemplate, type DbusmockTemplate, type StartedDbusmock } from './dbusmock-peer.js';
import { peerOptionsError } from './peer-errors.js';
import type { BusAddress } from './private-bus.js';

const PEER = 'logind-mock';

/** logind's well-known name, object and manager interface. */
export const LOGIND_BUS_NAME = 'org.freedesktop.login1';
/** The manager object path. */
export const LOGIND_PATH = '/org/freedesktop/login1';
/** The manager interface. */
export const LOGIND_MANAGER_IFACE = 'org.freedesktop.login1.Manager';

/** What logind's Can* methods answer. */
export type LogindAnswer = 'na' | 'yes' | 'no' | 'challenge';
const ANSWERS: readonly LogindAnswer[] = ['na', 'yes', 'no', 'challenge'];

/** The answers of the four Can* methods. */
export interface LogindProps {
  CanSuspend: LogindAnswer;
  CanHibernate: LogindAnswer;
  CanHybridSleep: LogindAnswer;
  CanSuspendThenHibernate: LogindAnswer;
}

/** The template's defaults: every sleep state supported. */
export const DEFAULT_LOGIND_PROPS: Readonly<LogindProps> = {
  CanSuspend: 'yes',
  CanHibernate: 'yes',
  CanHybridSleep: 'yes',
  CanSuspendThenHibernate: 'yes',
};

/** The sleep verbs; each has a `(b interactive)` form and a `(t flags)` WithFlags form. */
export type LogindSleepVerb = 'Suspend' | 'Hibernate' | 'HybridSleep' | 'SuspendThenHibernate';
const VERBS: readonly LogindSleepVerb[] = ['Suspend', 'Hibernate', 'HybridSleep', 'SuspendThenHibernate'];

/** Manager methods whose behaviour the helper can change (answer or delay). */
export type LogindMethod = keyof LogindProps | LogindSleepVerb | `${LogindSleepVerb}WithFlags`;

/** One call the mock recorded. */
export type LogindCall = MockCall;

/** Options for {@link startLogindMock}. */
export interface LogindMockOptions {
  /** Bound for the mock to answer CanSuspend; default 15 s (python start-up is slow on CI). */
  readonly startTimeoutMs?: number;
  /** Bound for each control call (AddMethod, GetCalls, ...); default 5 s. */
  readonly callTimeoutMs?: number;
}

/** A running logind mock. */
export interface LogindMock {
  /** Pid (and process group) of the python process. */
  readonly pid: number;
  /** The temp directory holding the mock's call log; removed by stop(). */
  readonly dir: string;
  /** The answers currently configured. */
  readonly props: Readonly<LogindProps>;
  /** Adds SuspendWithFlags, HibernateWithFlags, HybridSleepWithFlags, SuspendThenHibernateWithFlags `(t)`. */
  addSleepWithFlags(): Promise<void>;
  /** Emits Manager.PrepareForSleep(start): true before sleeping, false after resume. */
  emitPrepareForSleep(start: boolean): Promise<void>;
  /**
   * (Re)defines a Manager method with python `code` run by dbusmock (Mock.AddMethod), for what
   * the other helpers do not cover: e.g. `raise dbus.exceptions.DBusException('Access denied',
   * name='org.freedesktop.DBus.Error.AccessDenied')` as polkit's refusal, or `ret = "challenge"`.
   */
  addMethod(method: string, inSig: string, outSig: string, code: string): Promise<void>;
  /** Calls recorded since start or the last clearCalls(), optionally of one method only. */
  calls(method?: string): Promise<LogindCall[]>;
  /** Forgets the recorded calls. */
  clearCalls(): Promise<void>;
  /** Changes what the Can* methods answer from now on. */
  setProps(props: Partial<LogindProps>): Promise<void>;
  /**
   * Makes `method` sleep `delayMs` before answering (0 removes the delay). The mock is
   * single-threaded: while it sleeps, every other call to it waits too.
   */
  setDelay(method: LogindMethod, delayMs: number): Promise<void>;
  /** SIGSTOPs the mock: calls stay unanswered (the bus queues them) until {@link thaw}. */
  freeze(): void;
  /** SIGCONTs a frozen mock; queued calls are then answered. */
  thaw(): void;
  /** Stops the mock and removes its temp directory. */
  stop(): Promise<void>;
}

function checkProps(props: Partial<LogindProps>): void {
  for (const [key, value] of Object.entries(props)) {
    if (!(key in DEFAULT_LOGIND_PROPS))
      throw peerOptionsError(PEER, key, value, Object.keys(DEFAULT_LOGIND_PROPS).join(', '));
    // The values end up inside python code (the template's and ours): accept only the four words.
    if (!ANSWERS.includes(value)) throw peerOptionsError(PEER, key, value, ANSWERS.join(', '));
  }
}

/** In and out signature of each method the helper may (re)define. */
function signatureOf(method: LogindMethod): { inSig: string; outSig: string } {
  if (method.startsWith('Can')) return { inSig: '', outSig: 's' };
  return method.endsWith('WithFlags') ? { inSig: 't', outSig: '' } : { inSig: 'b', outSig: '' };
}

const METHODS: readonly LogindMethod[] = [
  ...(Object.keys(DEFAULT_LOGIND_PROPS) as (keyof LogindProps)[]),
  ...VERBS,
  ...VERBS.map((v) => `${v}WithFlags` as const),
];

class RunningLogindMock extends DbusmockPeer implements LogindMock {
  private current: LogindProps;
  private readonly delays = new Map<LogindMethod, number>();

  constructor(started: StartedDbusmock, props: LogindProps) {
    super(started);
    this.current = props;
  }

  get props(): Readonly<LogindProps> {
    return { ...this.current };
  }

  async addSleepWithFlags(): Promise<void> {
    for (const verb of VERBS) await this.define(`${verb}WithFlags`);
  }

  async emitPrepareForSleep(start: boolean): Promise<void> {
    await this.mock('EmitSignal', 'sssav', [LOGIND_MANAGER_IFACE, 'PrepareForSleep', 'b', [new Variant('b', start)]]);
  }

  async addMethod(method: string, inSig: string, outSig: string, code: string): Promise<void> {
    await this.mock('AddMethod', 'sssss', [LOGIND_MANAGER_IFACE, method, inSig, outSig, code]);
  }

  async setProps(props: Partial<LogindProps>): Promise<void> {
    checkProps(props);
    this.current = { ...this.current, ...props };
    for (const key of Object.keys(props) as (keyof LogindProps)[]) await this.define(key);
  }

  async setDelay(method: LogindMethod, delayMs: number): Promise<void> {
    if (!METHODS.includes(method)) throw peerOptionsError(PEER, 'method', method, METHODS.join(', '));
    if (!Number.isFinite(delayMs) || delayMs < 0)
      throw peerOptionsError(PEER, 'delayMs', delayMs, 'a finite number >= 0');
    this.delays.set(method, delayMs);
    await this.define(method);
  }

  freeze(): void {
    this.proc.suspend();
  }

  thaw(): void {
    this.proc.resume();
  }

  /** (Re)defines `method` with its configured answer and delay through Mock.AddMethod. */
  private async define(method: LogindMethod): Promise<void> {
    const { inSig, outSig } = signatureOf(method);
    const delayMs = this.delays.get(method) ?? 0;
    const lines: string[] = [];
    if (delayMs > 0) lines.push('import time', `time.sleep(${(delayMs / 1000).toFixed(3)})`);
    if (method.startsWith('Can')) lines.push(`ret = '${this.current[method as keyof LogindProps]}'`);
    await this.mock('AddMethod', 'sssss', [LOGIND_MANAGER_IFACE, method, inSig, outSig, lines.join('\n')]);
  }
}

/**
 * The inhibitor locks logind holds now (Manager.ListInhibitors through `client`, a connection to
 * the mock's bus): one row `[what, who, why, mode, uid, pid]` per lock.
 */
export async function listInhibitors(client: BusClient): Promise<unknown[][]> {
  const [rows] = await client.call({
    destination: LOGIND_BUS_NAME,
    path: LOGIND_PATH,
    interface: LOGIND_MANAGER_IFACE,
    member: 'ListInhibitors',
  });
  return rows as unknown[][];
}

/**
 * Starts `/usr/bin/python3 -m dbusmock --system --template logind` on `bus` (as its "system
 * bus") and waits until CanSuspend answers.
 * @param props - Can* answers; unspecified ones answer "yes"
 * @throws VpmdError: python3-dbusmock missing (names scripts/setup-peers.sh), invalid props,
 *   mock exited, or not ready in time
 */
export async function startLogindMock(
  bus: BusAddress,
  props: Partial<LogindProps> = {},
  opts: LogindMockOptions = {},
): Promise<LogindMock> {
  checkProps(props);
  const full: LogindProps = { ...DEFAULT_LOGIND_PROPS, ...props };
  const template: DbusmockTemplate = {
    peer: PEER,
    template: 'logind',
    busName: LOGIND_BUS_NAME,
    path: LOGIND_PATH,
    // The template takes the Can* answers as parameters, so they hold from the first call on.
    parameters: full,
    readyWhat: 'answer CanSuspend',
    probe: async (client) => {
      const [answer] = await client.call({
        destination: LOGIND_BUS_NAME,
        path: LOGIND_PATH,
        interface: LOGIND_MANAGER_IFACE,
        member: 'CanSuspend',
        timeoutMs: 1_000,
      });
      return answer;
    },
    startTimeoutMs: opts.startTimeoutMs,
    callTimeoutMs: opts.callTimeoutMs,
  };
  return startDbusmockTemplate(bus, template, (started) => new RunningLogindMock(started, full));
}
