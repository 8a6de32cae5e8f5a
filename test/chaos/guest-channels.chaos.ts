/**
 * Guest channels under hostile guests (issue #21, and #13's fairness): while another process
 * plays QEMU for a hostile VM's four channels and writes garbage on two and valid requests as
 * fast as the sockets take them on the other two, a well-behaved guest on another VM keeps >= 99%
 * of its paced requests ACKed with p99 under 50 ms, and is told how many of its replies came
 * later than DPDK's 10 ms. Run by `npm run chaos`; the 10 ms contract itself is asserted with the
 * real DPDK guest by `npm run test:contract`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from 'vpmd/testkit';
import plugin from '../../plugins/virtio-channels/index.js';
import { encodeRequest } from '../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../plugins/virtio-channels/protocol/packet-layout.js';
import { QemuSocket } from '../plugins/virtio-channels/support/qemu-socket.js';
import { percentile } from './flood.js';

/** The hostile VM's QEMU side, in its own process: listens on DIR/hostile.N, floods once connected. */
const SCRIPT = `
const net = require('node:net');
const fs = require('node:fs');
const dir = process.argv[1];
const req = Buffer.from(process.argv[2], 'hex');
let sent = 0;
let stopped = false;
const servers = [];
for (let n = 0; n < 4; n++) {
  const path = dir + '/hostile.' + n;
  try { fs.rmSync(path, { force: true }); } catch {}
  const garbage = n < 2;
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    const chunk = garbage
      ? Buffer.from(Array.from({ length: 4096 }, (_, j) => (j * 37 + n) & 0xff))
      : Buffer.concat(Array.from({ length: 64 }, (_, j) => { const b = Buffer.from(req); b.writeUInt32LE(j % 2 ? 2 : 1, 8); return b; }));
    const loop = () => {
      if (stopped || s.destroyed) return;
      sent += garbage ? 1 : 64;
      if (s.write(chunk)) setImmediate(loop); else s.once('drain', loop);
    };
    loop();
  });
  server.listen(path);
  servers.push(server);
}
process.on('SIGTERM', () => { stopped = true; process.stdout.write(String(sent)); process.exit(0); });
`;

const REQUESTS = 300;
let dir: string;
let agent: BootedAgent;
let legit: QemuSocket;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-chaos-vc-'));
  legit = await QemuSocket.listen(join(dir, 'legit.0'));
  agent = await bootAgent({
    plugins: [plugin],
    sections: {
      'virtio-channels': {
        dir,
        libvirt: false,
        reconnect: { minMs: 20, maxMs: 100 },
        vms: [
          { name: 'legit', pins: [2], channels: '0' },
          { name: 'hostile', pins: [3] },
        ],
      },
    },
  });
  await legit.connected();
});
afterAll(async () => {
  await legit?.close().catch(() => undefined);
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('guest channels while a hostile VM floods four channels', () => {
  it(`ACKs >= 99% of ${REQUESTS} paced requests of another VM with p99 < 50 ms`, { timeout: 120_000 }, async () => {
    const hostileReq = encodeRequest({ resourceId: 0n, unit: Unit.SCALE_UP, command: Command.CPU_POWER });
    const child = spawn(process.execPath, ['-e', SCRIPT, dir, hostileReq.toString('hex')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let acked = 0;
    const latencies: number[] = [];
    try {
      const added = await agent.run(['add_channels', 'hostile', '0-3']);
      expect(added.type).toBe('result');
      for (let i = 0; i < REQUESTS; i++) {
        // A DPDK application's pace: one request, its reply, then work for a few milliseconds.
        await new Promise((r) => setTimeout(r, 5));
        const t0 = performance.now();
        legit.send(
          encodeRequest({ resourceId: 0n, unit: i % 2 ? Unit.SCALE_DOWN : Unit.SCALE_UP, command: Command.CPU_POWER }),
        );
        try {
          const reply = await legit.read(REQUEST_SIZE, 2_000);
          if (reply.readUInt32LE(12) === 1 && reply.readUInt32LE(8) === (i % 2 ? Unit.SCALE_DOWN : Unit.SCALE_UP))
            acked++;
          latencies.push(performance.now() - t0);
        } catch {
          latencies.push(2_000);
        }
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const floodSent = Number(out) || 0;
    const stats = await agent.json<Array<{ vm: string; channel: string; accepted: number; dropped: number }>>([
      'show_channel_stats',
    ]);
    const p99 = percentile(latencies, 99);
    console.log(
      JSON.stringify({
        floodWrites: floodSent,
        requests: REQUESTS,
        acked,
        p50: percentile(latencies, 50),
        p99,
        max: Math.max(...latencies),
        laterThan10ms: latencies.filter((l) => l > 10).length,
        stats,
      }),
    );
    // The flood reached the agent: garbage dropped (counted per resynchronisation, at most one
    // budget of 16 KiB per 100 ms per channel) and hostile requests served by the thousand.
    const hostile = stats.find((s) => s.vm === 'hostile' && s.channel === 'all');
    expect(hostile?.dropped).toBeGreaterThan(10);
    expect(hostile?.accepted).toBeGreaterThan(1000);
    expect(acked / REQUESTS).toBeGreaterThanOrEqual(0.99);
    expect(p99).toBeLessThan(50);
  });
});
