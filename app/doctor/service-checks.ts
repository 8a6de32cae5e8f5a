/**
 * The facilities around the host: privileges, logind and libvirt-dbus on the system bus, the
 * management interface, the control socket (and whether an agent already answers on it) and the
 * state directory. Bus questions are bounded: a bus that hangs is a row saying so.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { resolveBindAddress } from '../../core/access/address-list.js';
import type { CoreConfig } from '../../core/config/core-schema.js';
import { BoundedBus, systemBusAddress } from '../../core/host-power/bounded-bus.js';
import { LOGIND_MANAGER, LOGIND_NAME, LOGIND_OBJECT } from '../../core/host-power/logind.js';
import { toVpmdError } from '../../core/errors.js';
import { ROOT_FIX, type Finding, type Privileges } from './facility.js';

/** How long one bus question may take. */
const BUS_TIMEOUT_MS = 3000;

/** uid and the capabilities vpmd's features need. */
export function checkPrivileges(priv: Privileges): Finding {
  const caps = [...priv.caps].sort();
  const enough = priv.uid === 0 || priv.caps.has('CAP_DAC_OVERRIDE');
  const found = `uid ${priv.uid}, ${caps.length === 0 ? 'no relevant capabilities' : caps.join(' ')}`;
  if (enough && (priv.uid === 0 || priv.caps.has('CAP_NET_BIND_SERVICE')))
    return { id: 'privileges', status: 'yes', found };
  return {
    id: 'privileges',
    status: enough ? 'degraded' : 'no',
    found,
    why: enough
      ? 'no CAP_NET_BIND_SERVICE: listeners on ports below 1024 (IPMI 623, SNMP 161, HTTPS 443) fail'
      : 'sysfs writes, RAPL energy, PM-QoS and the RTC alarm need root or CAP_DAC_OVERRIDE',
    fix: ROOT_FIX,
  };
}

function busFailure(e: unknown): string {
  return toVpmdError(e).message;
}

/** Does logind answer on the system bus, and may this process suspend? */
export async function checkLogind(busAddress: string | undefined): Promise<Finding> {
  const address = systemBusAddress(busAddress);
  try {
    const [answer] = await BoundedBus.once('logind', address, BUS_TIMEOUT_MS, (b) =>
      b.call('CanSuspend', {
        destination: LOGIND_NAME,
        path: LOGIND_OBJECT,
        interface: LOGIND_MANAGER,
        member: 'CanSuspend',
      }),
    );
    const can = String(answer);
    return {
      id: 'logind',
      status: can === 'yes' ? 'yes' : 'degraded',
      found: `logind answers, CanSuspend=${can}`,
      ...(can === 'yes'
        ? {}
        : {
            why: can === 'challenge' ? 'polkit asks for authorization' : `logind says '${can}'`,
            fix: 'as root, or allow the vpmd user in polkit (docs/running-for-real.md); check that the hardware can suspend',
          }),
    };
  } catch (e) {
    return {
      id: 'logind',
      status: 'no',
      found: `no answer on ${address}`,
      why: busFailure(e),
      fix: 'run systemd-logind and the system D-Bus (a container without systemd has neither); or set hostPower.busAddress',
    };
  }
}

/** Is libvirt-dbus (org.libvirt) running on, or activatable from, the system bus? */
export async function checkLibvirtDbus(busAddress: string | undefined): Promise<Finding> {
  const address = systemBusAddress(busAddress);
  const dbusCall = (member: string, body?: string) => ({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member,
    ...(body === undefined ? {} : { signature: 's', body: [body] }),
  });
  try {
    const [owned, activatable] = await BoundedBus.once('bus', address, BUS_TIMEOUT_MS, async (b) => [
      (await b.call('NameHasOwner', dbusCall('NameHasOwner', 'org.libvirt')))[0] === true,
      ((await b.call('ListActivatableNames', dbusCall('ListActivatableNames')))[0] as string[]).includes('org.libvirt'),
    ]);
    if (owned || activatable)
      return {
        id: 'libvirt-dbus',
        status: 'yes',
        found: `org.libvirt ${owned ? 'running' : 'activatable'} on ${address}`,
      };
    return {
      id: 'libvirt-dbus',
      status: 'no',
      found: `the bus at ${address} has no org.libvirt`,
      why: 'libvirt-dbus is not installed',
      fix: 'apt install libvirt-dbus (dnf install libvirt-dbus) and start libvirtd',
    };
  } catch (e) {
    return {
      id: 'libvirt-dbus',
      status: 'no',
      found: `no answer on ${address}`,
      why: busFailure(e),
      fix: 'start the system D-Bus, libvirtd and libvirt-dbus',
    };
  }
}

/** Does the management address resolve on this host? */
export function checkManagement(m: CoreConfig['management']): Finding {
  if (m.address === undefined && m.interface === undefined)
    return {
      id: 'management',
      status: 'no',
      found: 'no management address configured',
      why: 'network listeners (Redfish, IPMI, SNMP) never bind to all interfaces',
      fix: 'set management.address or management.interface in vpmd.yaml',
    };
  try {
    const address = resolveBindAddress(m);
    return { id: 'management', status: 'yes', found: `listeners bind to ${address}` };
  } catch (e) {
    return {
      id: 'management',
      status: 'no',
      found: 'the management interface is not usable',
      why: busFailure(e),
      fix: 'name an interface this host has (ip -br addr)',
    };
  }
}

/** Nearest existing ancestor of `path` (what `mkdir -p` would start from). */
async function existingAncestor(path: string): Promise<string> {
  let dir = path;
  for (;;) {
    try {
      await stat(dir);
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
}

/** Can the agent create and write `dir` (or its nearest existing ancestor)? */
async function writableDir(id: string, what: string, dir: string, fix: string): Promise<Finding> {
  const base = await existingAncestor(dir);
  try {
    await access(base, constants.W_OK | constants.X_OK);
    return { id, status: 'yes', found: `${what} ${dir}${base === dir ? '' : ` (created on start under ${base})`}` };
  } catch {
    return {
      id,
      status: 'no',
      found: `${what} ${dir}`,
      why: `${base} is not writable by uid ${process.geteuid?.() ?? '?'}`,
      fix,
    };
  }
}

/** Is an agent answering on the control socket? */
function agentAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The control socket and the state directory. */
export async function checkAgentFiles(config: CoreConfig): Promise<Finding[]> {
  const socket = config.control.socket;
  const running = await agentAnswers(socket);
  const control: Finding = running
    ? { id: 'control', status: 'yes', found: `an agent answers on ${socket} (vpmctl --socket ${socket} status)` }
    : await writableDir(
        'control',
        'socket directory',
        dirname(socket),
        'run as root or set control.socket to a writable path; the unit uses RuntimeDirectory=vpmd',
      );
  const state = await writableDir(
    'state',
    'state directory',
    config.state.dir,
    'run as root or set state.dir; the unit uses StateDirectory=vpmd',
  );
  return [control, state];
}
