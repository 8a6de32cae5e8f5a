/**
 * Free loopback ports: bind to port 0, read the port the kernel chose, close. All sockets of one
 * request stay open until every port is known, so a request never returns the same port twice.
 * (Another process can still take a port before the peer binds it; peers report that as a
 * start failure.)
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { peerFailedError } from './peer-errors.js';

const LOOPBACK = '127.0.0.1';

function bindUdp(): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, LOOPBACK, () => resolve(socket));
  });
}

function listenTcp(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve(server));
  });
}

/** `count` distinct free UDP ports on 127.0.0.1. */
export async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets: UdpSocket[] = [];
  try {
    for (let i = 0; i < count; i++) sockets.push(await bindUdp());
    return sockets.map((s) => s.address().port);
  } finally {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** `count` distinct free TCP ports on 127.0.0.1. */
export async function freeTcpPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenTcp());
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string')
        throw peerFailedError('free-ports', 'a TCP listener on 127.0.0.1:0 reported no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
