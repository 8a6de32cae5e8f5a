/**
 * What every python-dbusmock template peer in the test kit shares: starting
 * `python3 -m dbusmock --system --template NAME` on a private bus, waiting until the mocked
 * service answers, calls on its control interface (org.freedesktop.DBus.Mock), reading back the
 * recorded calls, and stopping it. The logind and systemd mocks extend {@link DbusmockPeer} with
 * what their template lacks.
 */
import { join } from 'node:path';
import { BusClient } from './bus-client.js';
import { readMockCalls, type MockCall } from './dbusmock-calls.js';
import { PeerProcess } from './peer-process.js';
import { createWorkDir, removeWorkDir } from './peer-workdir.js';
import { assertBusAddress, attachToBus, type BusAddress } from './private-bus.js';
import { DEBIAN_PYTHON, requirePythonModule } from './program-lookup.js';
import { pollUntil } from './wait.js';

const MOCK_IFACE = 'org.freedesktop.DBus.Mock';

/** Which template to run, and how to tell that it is ready. */
export interface DbusmockTemplate {
  /** Peer name for errors and the temp directory, e.g. "logind-mock". */
  readonly peer: string;
  /** dbusmock's template name, e.g. "logind". */
  readonly template: string;
  /** The well-known name the template owns. */
  readonly busName: string;
  /** The template's main object: control calls go there. */
  readonly path: string;
  /** Template parameters, a plain object passed to dbusmock as `-p JSON`. */
  readonly parameters?: object;
  /** What readiness means, for the timeout error ("answer CanSuspend"). */
  readonly readyWhat: string;
  /** One readiness attempt on `client`: a value means ready, undefined or a throw "not yet". */
  readonly probe: (client: BusClient) => Promise<unknown>;
  /** Bound for the template to answer `probe`; default 15 s (python start-up is slow on CI). */
  readonly startTimeoutMs?: number;
  /** Bound for each control call (AddMethod, GetCalls, ...); default 5 s. */
  readonly callTimeoutMs?: number;
}

/** What {@link startDbusmockTemplate} hands to the subclass constructor. */
export interface StartedDbusmock {
  readonly proc: PeerProcess;
  readonly client: BusClient;
  readonly dir: string;
  readonly busName: string;
  readonly path: string;
  readonly callTimeoutMs: number;
}

/** A running dbusmock template: control calls, recorded calls, stop. */
export class DbusmockPeer {
  /** Pid (and process group) of the python process. */
  readonly pid: number;
  /** The temp directory holding the mock's call log; removed by stop(). */
  readonly dir: string;
  /** The python process, for subclasses that freeze it. */
  protected readonly proc: PeerProcess;
  private readonly started: StartedDbusmock;
  private stopping: Promise<void> | undefined;
  private detach: () => void = () => undefined;

  constructor(started: StartedDbusmock) {
    this.started = started;
    this.proc = started.proc;
    this.pid = started.proc.pid;
    this.dir = started.dir;
  }

  /** Calls recorded since start or the last clearCalls(), optionally of one method only. */
  calls(method?: string): Promise<MockCall[]> {
    return readMockCalls((member, signature, body) => this.mock(member, signature, body), method);
  }

  /** Forgets the recorded calls. */
  async clearCalls(): Promise<void> {
    await this.mock('ClearCalls');
  }

  /** Stops the mock and removes its temp directory; later calls return the same promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.detach();
      this.started.client.close();
      await this.proc.stop();
      await removeWorkDir(this.dir);
    })();
    return this.stopping;
  }

  /** Ties this mock to `bus`, so that stopping a private bus stops the mock first. */
  attach(bus: BusAddress): void {
    this.detach = attachToBus(bus, this);
  }

  /** One call on org.freedesktop.DBus.Mock (AddMethod, EmitSignal, ...), bounded by callTimeoutMs. */
  protected mock(member: string, signature?: string, body?: unknown[]): Promise<unknown[]> {
    const { client, busName, path, callTimeoutMs } = this.started;
    return client.call({
      destination: busName,
      path,
      interface: MOCK_IFACE,
      member,
      ...(signature === undefined ? {} : { signature, body: body ?? [] }),
      timeoutMs: callTimeoutMs,
    });
  }
}

/**
 * Starts `/usr/bin/python3 -m dbusmock --system --template T` on `bus` (as its "system bus"),
 * waits until `spec.probe` answers, builds the mock with `create`, clears the calls the probe left
 * in the log and ties the mock to the bus. On any failure the process, the connection and the
 * temp directory are cleaned up before the error is rethrown.
 * @throws VpmdError: python3-dbusmock missing (names scripts/setup-peers.sh), mock exited, or
 *   not ready in time
 */
export async function startDbusmockTemplate<M extends DbusmockPeer>(
  bus: BusAddress,
  spec: DbusmockTemplate,
  create: (started: StartedDbusmock) => M,
): Promise<M> {
  const { peer } = spec;
  const address = assertBusAddress(peer, bus);
  await requirePythonModule(peer, 'dbusmock', 'python3-dbusmock');
  const dir = await createWorkDir(peer);
  const parameters = spec.parameters === undefined ? [] : ['-p', JSON.stringify(spec.parameters)];
  let proc: PeerProcess | undefined;
  let client: BusClient | undefined;
  try {
    proc = await PeerProcess.spawn({
      peer,
      program: DEBIAN_PYTHON,
      args: ['-m', 'dbusmock', '--system', '--template', spec.template, '-l', join(dir, 'calls.log'), ...parameters],
      // Both variables point at the private bus: nothing may reach the real system bus.
      env: {
        DBUS_SYSTEM_BUS_ADDRESS: address,
        DBUS_SESSION_BUS_ADDRESS: address,
        DBUS_STARTER_ADDRESS: undefined,
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    const running = proc;
    const connected = await BusClient.connect(address);
    client = connected;
    await pollUntil({
      peer,
      what: `${spec.busName} to ${spec.readyWhat} on ${address}`,
      timeoutMs: spec.startTimeoutMs ?? 15_000,
      intervalMs: 50,
      check: () => running.assertRunning('starting'),
      output: () => running.output(),
      probe: () => spec.probe(connected),
    });
    const mock = create({
      proc: running,
      client: connected,
      dir,
      busName: spec.busName,
      path: spec.path,
      callTimeoutMs: spec.callTimeoutMs ?? 5_000,
    });
    // The readiness probe itself was recorded; start with an empty call log.
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
