/**
 * The socket table startIpmiSim reads to tell its own simulator from another on the same port
 * (ipmi_sim binds with SO_REUSEADDR, so a second one on the port gets no error).
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { holdsUdpPorts, udpBindCounts } from '../../../testkit/peers/udp-sockets.js';

const sockets: Socket[] = [];
async function bind(port = 0): Promise<number> {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', resolve));
  return s.address().port;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

describe('UDP socket ownership', () => {
  it('a process holds the ports it bound, and another process does not', async () => {
    const port = await bind();
    expect(await holdsUdpPorts(process.pid, [port])).toBe(true);
    const other = spawn('sleep', ['30']);
    try {
      expect(await holdsUdpPorts(other.pid ?? -1, [port])).toBe(false);
    } finally {
      other.kill();
    }
  });

  it('counts two sockets sharing a port with SO_REUSEADDR', async () => {
    const port = await bind();
    expect((await udpBindCounts([port])).get(port)).toBe(1);
    await bind(port);
    expect((await udpBindCounts([port])).get(port)).toBe(2);
  });
});
