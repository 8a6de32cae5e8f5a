/**
 * A private dbus-daemon on a unix socket in a temp directory: the bus the mocked logind and
 * libvirt-dbus attach to. It has no service directories, so nothing is ever auto-activated, and
 * an allow-all policy, so a test can own any name (org.freedesktop.login1 included).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BusClient } from './bus-client.js';
import { peerOptionsError } from './peer-errors.js';
import { PeerProcess } from './peer-process.js';
import { createWorkDir, removeWorkDir } from './peer-workdir.js';
import { requireProgram } from './program-lookup.js';
import { pollUntil } from './wait.js';

const PEER = 'dbus-daemon';
/** sun_path holds 108 bytes; leave room for the terminating NUL. */
const MAX_SOCKET_PATH = 100;

/** Options for {@link startPrivateBus}. */
export interface PrivateBusOptions {
  /** Bound for the daemon to print its address and answer; default 10 s. */
  readonly startTimeoutMs?: number;
}

/** Anything with a bus address: a {@link PrivateBus}, or a bus the caller runs itself. */
export interface BusAddress {
  readonly address: string;
}

/** A running private bus. */
export interface PrivateBus extends BusAddress {
  /** D-Bus address, e.g. `unix:path=/tmp/vpmd-dbus-daemon-x/bus,guid=...`. */
  readonly address: string;
  /** Process id (and process-group id) of the dbus-daemon. */
  readonly pid: number;
  /** The temp directory holding the config and the socket; removed by stop(). */
  readonly dir: string;
  /** A new client connection to this bus (close it when done). */
  connect(timeoutMs?: number): Promise<BusClient>;
  /** Stops the peers started on this bus, then the daemon, then removes `dir`. */
  stop(): Promise<void>;
}

/** Something to stop before its bus goes away. */
interface Dependent {
  stop(): Promise<void>;
}

const dependents = new WeakMap<BusAddress, Set<Dependent>>();

/**
 * Ties `peer` to `bus` so that stopping the bus stops the peer first (only for buses made by
 * {@link startPrivateBus}). Returns a function that unties it.
 */
export function attachToBus(bus: BusAddress, peer: Dependent): () => void {
  const set = dependents.get(bus);
  if (set === undefined) return () => undefined;
  set.add(peer);
  return () => set.delete(peer);
}

function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/**
 * Starts a private dbus-daemon and waits until it answers org.freedesktop.DBus.GetId.
 * The daemon runs in the foreground (--nofork) as a child of the test process, so its exit,
 * stderr and process group stay observable; a forked daemon would be reparented to init.
 * @throws VpmdError: dbus-daemon missing (names scripts/setup-peers.sh), exited, or not ready in time
 */
export async function startPrivateBus(opts: PrivateBusOptions = {}): Promise<PrivateBus> {
  const program = await requireProgram(PEER, 'dbus-daemon', 'dbus');
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const dir = await createWorkDir(PEER);
  const socketPath = join(dir, 'bus');
  let proc: PeerProcess | undefined;
  try {
    if (socketPath.length > MAX_SOCKET_PATH) {
      throw peerOptionsError(
        PEER,
        'TMPDIR',
        dir,
        `a temp directory whose socket path stays under ${MAX_SOCKET_PATH} characters`,
      );
    }
    const configPath = join(dir, 'bus.conf');
    await writeFile(configPath, busConfig(socketPath));
    proc = await PeerProcess.spawn({
      peer: PEER,
      program,
      args: [`--config-file=${configPath}`, '--nofork', '--nopidfile', '--print-address=1'],
    });
    const running = proc;
    const address = await pollUntil({
      peer: PEER,
      what: 'print its address',
      timeoutMs,
      intervalMs: 10,
      check: () => running.assertRunning('starting'),
      output: () => running.output(),
      probe: () => {
        const line = running.stdoutStart().split('\n')[0] ?? '';
        return Promise.resolve(
          running.stdoutStart().includes('\n') && line.startsWith('unix:') ? line.trim() : undefined,
        );
      },
    });
    await pollUntil({
      peer: PEER,
      what: `answer org.freedesktop.DBus.GetId on ${address}`,
      timeoutMs,
      intervalMs: 20,
      check: () => running.assertRunning('starting'),
      output: () => running.output(),
      probe: async () => {
        const client = await BusClient.connect(address, 1_000);
        try {
          await client.call({
            destination: 'org.freedesktop.DBus',
            path: '/org/freedesktop/DBus',
            interface: 'org.freedesktop.DBus',
            member: 'GetId',
            timeoutMs: 1_000,
          });
          return true;
        } finally {
          client.close();
        }
      },
    });
    const attached = new Set<Dependent>();
    let stopping: Promise<void> | undefined;
    const bus: PrivateBus = {
      address,
      pid: running.pid,
      dir,
      connect: (connectTimeoutMs?: number) => BusClient.connect(address, connectTimeoutMs),
      stop: () => {
        stopping ??= (async () => {
          const results = await Promise.allSettled([...attached].map((d) => d.stop()));
          await running.stop();
          await removeWorkDir(dir);
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        })();
        return stopping;
      },
    };
    dependents.set(bus, attached);
    return bus;
  } catch (e) {
    await proc?.stop();
    await removeWorkDir(dir);
    throw e;
  }
}

/** The address of `bus`, checked to be a unix-socket D-Bus address. */
export function assertBusAddress(peer: string, bus: BusAddress): string {
  if (typeof bus.address !== 'string' || !bus.address.startsWith('unix:')) {
    throw peerOptionsError(peer, 'bus.address', bus.address, 'a unix: D-Bus address, as startPrivateBus() returns');
  }
  return bus.address;
}
