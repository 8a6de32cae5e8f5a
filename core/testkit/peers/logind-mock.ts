/**
 * A mocked systemd-logind (python-dbusmock's logind template) owning org.freedesktop.login1 on a
 * private bus. The 0.28 template has no *WithFlags methods and never emits PrepareForSleep; this
 * helper adds both through the mock's control interface (org.freedesktop.DBus.Mock).
 */
import { Variant } from 'dbus-next';
import { join } from 'node:path';
import { BusClient } from './bus-client.js';
import { readMockCalls, type MockCall } from './dbusmock-calls.js';
import { peerOptionsError } from './peer-errors.js';
import { PeerProcess } from './peer-process.js';
import { createWorkDir, removeWorkDir } from './peer-workdir.js';
import { assertBusAddress, attachToBus, type BusAddress } from './private-bus.js';
import { DEBIAN_PYTHON, requirePythonModule } from './program-lookup.js';
import { pollUntil } from './wait.js';

const PEER = 'logind-mock';

/** logind's well-known name, object and manager interface. */
export const LOGIND_BUS_NAME = 'org.freedesktop.login1';
/** The manager object path. */
export const LOGIND_PATH = '/org/freedesktop/login1';
/** The manager interface. */
export const LOGIND_MANAGER_IFACE = 'org.freedesktop.login1.Manager';
const MOCK_IFACE = 'org.freedesktop.DBus.Mock';

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
    if (!(key in DEFAULT_LOGIND_PROPS)) throw peerOptionsError(PEER, key, value, Object.keys(DEFAULT_LOGIND_PROPS).join(', '));
    // The values end up inside python code (the template's and ours): accept only the four words.
    if (!ANSWERS.includes(value as LogindAnswer)) throw peerOptionsError(PEER, key, value, ANSWERS.join(', '));
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

class RunningLogindMock implements LogindMock {
  readonly pid: number;
  private current: LogindProps;
  private readonly delays = new Map<LogindMethod, number>();
  private stopping: Promise<void> | undefined;
  private detach: () => void = () => undefined;

  constructor(
    private readonly proc: PeerProcess,
    private readonly client: BusClient,
    readonly dir: string,
    props: LogindProps,
    private readonly callTimeoutMs: number,
  ) {
    this.pid = proc.pid;
    this.current = props;
  }

  attach(bus: BusAddress): void {
    this.detach = attachToBus(bus, this);
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

  async calls(method?: string): Promise<LogindCall[]> {
    return readMockCalls((member, signature, body) => this.mock(member, signature, body), method);
  }

  async clearCalls(): Promise<void> {
    await this.mock('ClearCalls');
  }

  async setProps(props: Partial<LogindProps>): Promise<void> {
    checkProps(props);
    this.current = { ...this.current, ...props };
    for (const key of Object.keys(props) as (keyof LogindProps)[]) await this.define(key);
  }

  async setDelay(method: LogindMethod, delayMs: number): Promise<void> {
    if (!METHODS.includes(method)) throw peerOptionsError(PEER, 'method', method, METHODS.join(', '));
    if (!Number.isFinite(delayMs) || delayMs < 0) throw peerOptionsError(PEER, 'delayMs', delayMs, 'a finite number >= 0');
    this.delays.set(method, delayMs);
    await this.define(method);
  }

  freeze(): void {
    this.proc.suspend();
  }

  thaw(): void {
    this.proc.resume();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.detach();
      this.client.close();
      await this.proc.stop();
      await removeWorkDir(this.dir);
    })();
    return this.stopping;
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

  private mock(member: string, signature?: string, body?: unknown[]): Promise<unknown[]> {
    return this.client.call({
      destination: LOGIND_BUS_NAME,
      path: LOGIND_PATH,
      interface: MOCK_IFACE,
      member,
      ...(signature === undefined ? {} : { signature, body: body ?? [] }),
      timeoutMs: this.callTimeoutMs,
    });
  }
}

/**
 * Starts `/usr/bin/python3 -m dbusmock --system --template logind` on `bus` (as its "system
 * bus") and waits until CanSuspend answers.
 * @param props - Can* answers; unspecified ones answer "yes"
 * @throws VpmdError: python3-dbusmock missing (names scripts/setup-peers.sh), invalid props,
 *   mock exited, or not ready in time
 */
export async function startLogindMock(bus: BusAddress, props: Partial<LogindProps> = {}, opts: LogindMockOptions = {}): Promise<LogindMock> {
  const address = assertBusAddress(PEER, bus);
  checkProps(props);
  await requirePythonModule(PEER, 'dbusmock', 'python3-dbusmock');
  const full: LogindProps = { ...DEFAULT_LOGIND_PROPS, ...props };
  const dir = await createWorkDir(PEER);
  let proc: PeerProcess | undefined;
  let client: BusClient | undefined;
  try {
    proc = await PeerProcess.spawn({
      peer: PEER,
      program: DEBIAN_PYTHON,
      args: ['-m', 'dbusmock', '--system', '--template', 'logind', '-l', join(dir, 'calls.log'), '-p', JSON.stringify(full)],
      // Both variables point at the private bus: nothing may reach the real system bus.
      env: { DBUS_SYSTEM_BUS_ADDRESS: address, DBUS_SESSION_BUS_ADDRESS: address, DBUS_STARTER_ADDRESS: undefined, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const running = proc;
    const connected = await BusClient.connect(address);
    client = connected;
    await pollUntil({
      peer: PEER,
      what: `${LOGIND_BUS_NAME} to answer CanSuspend on ${address}`,
      timeoutMs: opts.startTimeoutMs ?? 15_000,
      intervalMs: 50,
      check: () => running.assertRunning('starting'),
      output: () => running.output(),
      probe: async () => {
        const [answer] = await connected.call({ destination: LOGIND_BUS_NAME, path: LOGIND_PATH, interface: LOGIND_MANAGER_IFACE, member: 'CanSuspend', timeoutMs: 1_000 });
        return answer as string;
      },
    });
    // The readiness probe itself was recorded; start with an empty call log.
    const mock = new RunningLogindMock(running, connected, dir, full, opts.callTimeoutMs ?? 5_000);
    await mock.clearCalls();
    mock.attach(bus);
    return mock;
  } catch (e) {
    client?.close();
    await proc?.stop();
    await removeWorkDir(dir);
    throw e;
  }
}
