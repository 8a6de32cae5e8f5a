/**
 * libvirt-dbus on a private bus as its "session bus": libvirt's API on D-Bus, with the Test
 * driver (test:///default) at /org/libvirt/Test, which has one running domain "test" (2 vCPUs,
 * 8 host CPUs). The Test driver's state lives inside this process and is reset by a restart.
 */
import { join } from 'node:path';
import { BusClient } from './bus-client.js';
import { PeerProcess } from './peer-process.js';
import { createWorkDir, removeWorkDir } from './peer-workdir.js';
import { assertBusAddress, attachToBus, type BusAddress } from './private-bus.js';
import { requireProgram } from './program-lookup.js';
import { pollUntil } from './wait.js';

const PEER = 'libvirt-dbus';

/** libvirt-dbus's well-known name. */
export const LIBVIRT_BUS_NAME = 'org.libvirt';
/** The Test driver's connection object (test:///default). */
export const LIBVIRT_TEST_PATH = '/org/libvirt/Test';
/** Interface of connection objects. */
export const LIBVIRT_CONNECT_IFACE = 'org.libvirt.Connect';
/** Interface of domain objects. */
export const LIBVIRT_DOMAIN_IFACE = 'org.libvirt.Domain';

/** Options for {@link startLibvirtDbus}. */
export interface LibvirtDbusOptions {
  /** Bound for the driver to answer ListDomains; default 15 s. */
  readonly startTimeoutMs?: number;
  /**
   * `session` (default): `libvirt-dbus --session`, the Test driver at /org/libvirt/Test.
   * `system`: `libvirt-dbus --system` on this bus (given as its system bus), so /org/libvirt/QEMU
   * is qemu:///system: the real libvirtd of {@link startRealVm}. Needs root.
   */
  readonly mode?: 'session' | 'system';
}

/** The QEMU driver's connection object (qemu:///system with `mode: 'system'`). */
export const LIBVIRT_QEMU_PATH = '/org/libvirt/QEMU';

/** A running libvirt-dbus. */
export interface LibvirtDbusPeer {
  /** Pid (and process group) of libvirt-dbus. */
  readonly pid: number;
  /** The temp directory used as XDG runtime/config/cache home; removed by stop(). */
  readonly dir: string;
  /** Object path of the Test driver's "test" domain (empty in `system` mode). */
  readonly testDomainPath: string;
  /** The connection object tests talk to: /org/libvirt/Test or /org/libvirt/QEMU. */
  readonly connectPath: string;
  /** Stops libvirt-dbus and removes its temp directory. */
  stop(): Promise<void>;
}

/**
 * Starts `libvirt-dbus --session` on `bus` and waits until /org/libvirt/Test answers
 * ListDomains. LIBVIRT_AUTOSTART=0 keeps libvirt from spawning a session libvirtd (which would
 * daemonize out of reach) if a test touches /org/libvirt/QEMU; XDG directories point into a temp
 * directory so nothing under $HOME is read or written.
 * @throws VpmdError: libvirt-dbus missing (names scripts/setup-peers.sh), exited, or not ready in time
 */
export async function startLibvirtDbus(bus: BusAddress, opts: LibvirtDbusOptions = {}): Promise<LibvirtDbusPeer> {
  const address = assertBusAddress(PEER, bus);
  const program = await requireProgram(PEER, 'libvirt-dbus', 'libvirt-dbus');
  const system = opts.mode === 'system';
  const connectPath = system ? LIBVIRT_QEMU_PATH : LIBVIRT_TEST_PATH;
  const dir = await createWorkDir(PEER);
  let proc: PeerProcess | undefined;
  let client: BusClient | undefined;
  try {
    proc = await PeerProcess.spawn({
      peer: PEER,
      program,
      args: [system ? '--system' : '--session'],
      env: {
        DBUS_SESSION_BUS_ADDRESS: address,
        DBUS_SYSTEM_BUS_ADDRESS: address,
        DBUS_STARTER_ADDRESS: undefined,
        LIBVIRT_AUTOSTART: '0',
        XDG_RUNTIME_DIR: join(dir, 'run'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_CACHE_HOME: join(dir, 'cache'),
      },
    });
    const running = proc;
    const connected = await BusClient.connect(address);
    client = connected;
    const testDomainPath = await pollUntil({
      peer: PEER,
      what: `${connectPath} to answer ListDomains on ${address}`,
      timeoutMs: opts.startTimeoutMs ?? 15_000,
      intervalMs: 50,
      check: () => running.assertRunning('starting'),
      output: () => running.output(),
      probe: async () => {
        const [paths] = await connected.call({
          destination: LIBVIRT_BUS_NAME,
          path: connectPath,
          interface: LIBVIRT_CONNECT_IFACE,
          member: 'ListDomains',
          signature: 'u',
          body: [0],
          timeoutMs: 1_000,
        });
        if (!Array.isArray(paths)) return undefined;
        if (system) return '';
        return typeof paths[0] === 'string' ? paths[0] : undefined;
      },
    });
    connected.close();
    let stopping: Promise<void> | undefined;
    let detach: () => void = () => undefined;
    const peer: LibvirtDbusPeer = {
      pid: running.pid,
      dir,
      testDomainPath,
      connectPath,
      stop: () => {
        stopping ??= (async () => {
          detach();
          await running.stop();
          await removeWorkDir(dir);
        })();
        return stopping;
      },
    };
    detach = attachToBus(bus, peer);
    return peer;
  } catch (e) {
    client?.close();
    await proc?.stop();
    await removeWorkDir(dir);
    throw e;
  }
}
