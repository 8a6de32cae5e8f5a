/**
 * The guests' side of the benchmark, run in a worker thread so that the load generator does not
 * share the agent's event loop: one listening unix socket per channel (QEMU's side), then
 * closed-loop or paced request/reply runs on demand.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeRequest } from '../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../plugins/virtio-channels/protocol/packet-layout.js';

/** `changing` alternates SCALE_UP/SCALE_DOWN (a write per request); `steady` repeats SCALE_MAX. */
export type Mode = 'changing' | 'steady';

/** One measured run. */
export interface RunResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

/** Messages from the main thread. */
export type GuestCommand =
  | { readonly kind: 'run'; readonly mode: Mode; readonly seconds: number; readonly rate?: number }
  | { readonly kind: 'close' };

/** Messages to the main thread. */
export type GuestEvent = { readonly kind: 'listening' } | { readonly kind: 'connected' } | { readonly kind: 'result'; readonly result: RunResult };

interface Chan {
  readonly server: Server;
  peer?: Socket;
  pending?: (t: number) => void;
  rx: number;
}

const { paths, perVm } = workerData as { paths: string[]; perVm: number };
const port = parentPort;
if (!port) throw new Error('guest-load runs as a worker thread');

const chans: Chan[] = await Promise.all(
  paths.map(
    (path) =>
      new Promise<Chan>((resolve) => {
        const c: Chan = { server: createServer(), rx: 0 };
        c.server.on('connection', (s) => {
          c.peer = s;
          s.on('data', (d: Buffer) => {
            c.rx += d.length;
            while (c.rx >= REQUEST_SIZE) {
              c.rx -= REQUEST_SIZE;
              const p = c.pending;
              c.pending = undefined;
              p?.(performance.now());
            }
          });
          if (chans.every((x) => x.peer)) port.postMessage({ kind: 'connected' } satisfies GuestEvent);
        });
        c.server.listen(path, () => resolve(c));
      }),
  ),
);
port.postMessage({ kind: 'listening' } satisfies GuestEvent);

const round = (x: number): number => Math.round(x * 1000) / 1000;
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const unitFor = (mode: Mode, n: number): number => (mode === 'steady' ? Unit.SCALE_MAX : n % 2 ? Unit.SCALE_UP : Unit.SCALE_DOWN);

function request(c: Chan, frame: Buffer): Promise<number> {
  const t0 = performance.now();
  return new Promise((res) => {
    c.pending = (t) => res(t - t0);
    c.peer?.write(frame);
  });
}

async function run(mode: Mode, seconds: number, rate?: number): Promise<RunResult> {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const gap = rate === undefined ? 0 : (1000 * chans.length) / rate;
  await Promise.all(
    chans.map(async (c, i) => {
      let n = i;
      let next = performance.now() + (gap * i) / chans.length;
      while (performance.now() < end && (rate === undefined || next < end)) {
        if (rate !== undefined) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          next += gap;
        }
        const frame = encodeRequest({ resourceId: BigInt(i % perVm), unit: unitFor(mode, n++), command: Command.CPU_POWER });
        lat.push(await request(c, frame));
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { requests: lat.length, perSecond: Math.round(lat.length / seconds), p50ms: round(pct(lat, 50)), p99ms: round(pct(lat, 99)) };
}

port.on('message', (msg: GuestCommand) => {
  if (msg.kind === 'close') {
    for (const c of chans) {
      c.peer?.destroy();
      c.server.close();
    }
    port.close();
    return;
  }
  void run(msg.mode, msg.seconds, msg.rate).then((result) => port.postMessage({ kind: 'result', result } satisfies GuestEvent));
});
