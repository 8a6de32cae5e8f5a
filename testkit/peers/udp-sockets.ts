/**
 * Who has which UDP port bound, from /proc/net/udp and a process's file descriptors (Linux).
 * ipmi_sim binds its LAN ports with SO_REUSEADDR, so another simulator on the same port binds
 * too without an error and answers for it: only the socket table tells the two apart.
 */
import { readdir, readlink, readFile } from 'node:fs/promises';

/** One IPv4 UDP socket: its local port and socket inode. */
interface UdpSocket {
  readonly port: number;
  readonly inode: number;
}

async function udpSockets(): Promise<UdpSocket[]> {
  const table = await readFile('/proc/net/udp', 'utf8').catch(() => '');
  const out: UdpSocket[] = [];
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/); // sl local_address rem_address st … uid timeout inode
    const port = parseInt(fields[1]?.split(':')[1] ?? '', 16);
    const inode = Number(fields[9]);
    if (Number.isFinite(port) && Number.isFinite(inode)) out.push({ port, inode });
  }
  return out;
}

/** How many sockets are bound to each of `ports` (0 for a port nobody binds). */
export async function udpBindCounts(ports: readonly number[]): Promise<Map<number, number>> {
  const counts = new Map(ports.map((p) => [p, 0]));
  for (const s of await udpSockets()) {
    const n = counts.get(s.port);
    if (n !== undefined) counts.set(s.port, n + 1);
  }
  return counts;
}

/**
 * True when process `pid` itself holds a socket bound to each of `ports`; also true when its
 * descriptors cannot be read (no /proc, another user), where the check cannot be made.
 */
export async function holdsUdpPorts(pid: number, ports: readonly number[]): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return true;
  }
  const inodes = new Set<number>();
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m !== null) inodes.add(Number(m[1]));
  }
  const held = new Set((await udpSockets()).filter((s) => inodes.has(s.inode)).map((s) => s.port));
  return ports.every((p) => held.has(p));
}
