/**
 * A channel link over a real unix socket, served by the dispatcher with its message budget: the
 * guest's side is a socket server that writes requests and counts the replies. The budget's clock
 * is the test's, so which round runs out of tokens is decided here, not by the machine's speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { pollUntil } from '../../../testkit/index.js';
import { ChannelLink } from '../../../plugins/virtio-channels/channel/channel-link.js';
import { BATCH, Dispatcher } from '../../../plugins/virtio-channels/channel/dispatcher.js';
import { encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import { Command, REQUEST_SIZE, Unit } from '../../../plugins/virtio-channels/protocol/packet-layout.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A guest end: QEMU's listening socket with the guest's bytes behind it. */
async function guestEnd(): Promise<{ path: string; peer: Promise<Socket>; replyBytes: () => number }> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-link-'));
  const path = join(dir, 'vm.0');
  let bytes = 0;
  let server: Server | undefined;
  const peer = new Promise<Socket>((resolve) => {
    server = createServer((s) => {
      s.on('data', (d: Buffer) => (bytes += d.length));
      resolve(s);
    });
  });
  await new Promise<void>((r) => server?.listen(path, r));
  cleanup.push(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  return { path, peer, replyBytes: () => bytes };
}

describe('ChannelLink with the dispatcher', () => {
  it('answers every request of a burst once the guest stops writing, whatever the budget left', async () => {
    let nowMs = 0;
    const dispatcher = new Dispatcher({ messagesPerSecond: 1000, burst: 10 }, () => nowMs);
    const guest = await guestEnd();
    const link = new ChannelLink(
      guest.path,
      { minMs: 10, maxMs: 100 },
      { frame: (f) => f, state: () => undefined, dropped: () => undefined, limited: () => undefined },
      createLogger({ level: 'silent' }),
      dispatcher,
    );
    cleanup.push(() => dispatcher.close());
    cleanup.push(() => link.stop());
    link.start();
    const socket = await guest.peer;
    cleanup.push(() => void socket.destroy());

    const total = 3 * BATCH;
    const request = encodeRequest({ command: Command.CPU_POWER, unit: Unit.SCALE_UP, resourceId: 0n });
    socket.write(Buffer.concat(Array.from({ length: total }, () => request)));
    const replies = (): number => Math.floor(guest.replyBytes() / REQUEST_SIZE);
    // The burst's 10 tokens are spent; the clock stands still, so the rest waits in the queue.
    await pollUntil({
      peer: 'channel link',
      what: 'the burst answered and the rest queued',
      timeoutMs: 10_000,
      intervalMs: 5,
      probe: () => Promise.resolve(replies() === 10 && dispatcher.queued === total - 10 ? true : undefined),
    });
    // 8.5 tokens: the next round serves a whole batch and ends with half a token.
    nowMs = 8.5;
    await pollUntil({
      peer: 'channel link',
      what: 'the next batch answered',
      timeoutMs: 10_000,
      intervalMs: 5,
      probe: () => Promise.resolve(replies() === 10 + BATCH ? true : undefined),
    });
    // The guest writes nothing more: the budget's refill alone must bring the dispatcher back.
    await pollUntil({
      peer: 'channel link',
      what: `all ${total} requests answered`,
      timeoutMs: 10_000,
      intervalMs: 5,
      output: () => `answered: ${replies()}`,
      probe: () => {
        nowMs += 5;
        return Promise.resolve(replies() === total ? true : undefined);
      },
    });
    expect(dispatcher.queued).toBe(0);
  });
});
