/**
 * The stream's resynchronisation (garbage, stale partial frames), the dispatcher's round-robin
 * service of channels, and the JSON FIFO's bounds and DPDK dialect, as pure units (no clock:
 * times are passed in).
 */
import { describe, expect, it } from 'vitest';
import {
  BATCH,
  Dispatcher,
  FLUSH_AT,
  afterReplies,
  type Lane,
} from '../../../plugins/virtio-channels/channel/dispatcher.js';
import { BraceSplitter, dpdkJsonToPacket } from '../../../plugins/virtio-channels/json-fifo.js';
import { FrameReader, encodeRequest } from '../../../plugins/virtio-channels/protocol/packet-codec.js';
import {
  Command,
  Policy,
  REQUEST_SIZE,
  Unit,
  Workload,
} from '../../../plugins/virtio-channels/protocol/packet-layout.js';

const req = (unit: number): Buffer => encodeRequest({ command: Command.CPU_POWER, unit, resourceId: 0n });
/** The end of the event loop's turn, where the dispatcher writes what it decided. */
const endOfTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FrameReader resynchronisation', () => {
  it('skips garbage before a whole request in the same read, and counts it', () => {
    const r = new FrameReader(REQUEST_SIZE, 250);
    const frames = r.push(Buffer.concat([Buffer.alloc(100, 0xab), req(Unit.SCALE_MAX)]), 0);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.readUInt32LE(8)).toBe(Unit.SCALE_MAX);
    expect(r.dropped).toEqual({ frames: 1, bytes: 100 });
    expect(r.buffered).toBe(0);
  });

  it('drops a partial frame that is not completed in time; a prompt one is kept', () => {
    const r = new FrameReader(REQUEST_SIZE, 250);
    const a = req(Unit.SCALE_MIN);
    expect(r.push(a.subarray(0, 100), 0)).toHaveLength(0);
    expect(r.push(a.subarray(100), 10)).toHaveLength(1);
    expect(r.push(a.subarray(0, 100), 20)).toHaveLength(0);
    // The guest restarted: 300 ms later a whole request comes, and is read as one.
    const frames = r.push(req(Unit.SCALE_MAX), 320);
    expect(frames.map((f) => f.readUInt32LE(8))).toEqual([Unit.SCALE_MAX]);
    expect(r.dropped.bytes).toBe(100);
  });

  it('keeps a late rest of a frame: bytes that cannot start a request continue the partial one', () => {
    const r = new FrameReader(REQUEST_SIZE, 250);
    const a = req(Unit.SCALE_MIN);
    expect(r.push(a.subarray(0, 100), 0)).toHaveLength(0);
    // QEMU's I/O thread (or a starved writer) sends the rest a second later: still one request.
    const frames = r.push(Buffer.concat([a.subarray(100), req(Unit.SCALE_MAX)]), 1000);
    expect(frames.map((f) => f.readUInt32LE(8))).toEqual([Unit.SCALE_MIN, Unit.SCALE_MAX]);
    expect(r.dropped).toEqual({ frames: 0, bytes: 0 });
  });

  it('does not count the time reading was paused against a partial frame', () => {
    const r = new FrameReader(REQUEST_SIZE, 250);
    const a = req(Unit.SCALE_MIN);
    expect(r.push(a.subarray(0, 200), 0)).toHaveLength(0);
    // Paused for backpressure until 900 ms; the rest waited in the socket and is read at 910.
    r.restartClock(900);
    expect(r.push(a.subarray(200), 910).map((f) => f.readUInt32LE(8))).toEqual([Unit.SCALE_MIN]);
    expect(r.dropped.bytes).toBe(0);
  });

  it('never takes an impossible head for a request', () => {
    const r = new FrameReader(REQUEST_SIZE, 250);
    const bad = encodeRequest({ command: Command.CPU_POWER, unit: 99 });
    expect(r.push(Buffer.concat([bad, req(Unit.SCALE_UP)]), 0).map((f) => f.readUInt32LE(8))).toEqual([Unit.SCALE_UP]);
  });
});

describe('Dispatcher', () => {
  function lane(log: string[], name: string): Lane {
    return {
      handle: (f) => f,
      // One entry per reply: a channel's replies of one turn come in one write.
      reply: (bytes) => {
        for (let i = 0; i < bytes.length / REQUEST_SIZE; i++) log.push(name);
      },
      flow: () => undefined,
      limited: () => undefined,
      failed: (e) => {
        throw e;
      },
    };
  }

  it('serves channels round-robin in batches: a flood does not hold back another channel', async () => {
    const log: string[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const flood = lane(log, 'flood');
    const quiet = lane(log, 'quiet');
    d.push(
      flood,
      Array.from({ length: 10 * BATCH }, () => req(Unit.SCALE_UP)),
    );
    d.push(quiet, [req(Unit.SCALE_MAX)]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // One batch of the flood was served inline, then one round: the quiet channel's turn comes
    // after at most one more batch of the flood.
    expect(log.indexOf('quiet')).toBeLessThanOrEqual(2 * BATCH);
    d.close();
  });

  it('delays, never drops, what is over a channel’s budget', async () => {
    const replies: string[] = [];
    let limited = 0;
    // The budget's clock moves only when the test says so: a slow push on a busy host refills nothing.
    let nowMs = 0;
    const d = new Dispatcher({ messagesPerSecond: 1000, burst: 2 }, () => nowMs);
    const l = { ...lane(replies, 'x'), limited: () => limited++ };
    d.push(
      l,
      Array.from({ length: 5 }, () => req(Unit.SCALE_UP)),
    );
    expect(d.queued).toBe(3); // two decided at once, written at the end of the turn
    await endOfTurn();
    expect(replies).toHaveLength(2);
    for (let i = 0; i < 100 && replies.length < 5; i++) {
      nowMs += 5;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(replies).toHaveLength(5);
    expect(limited).toBeGreaterThan(0);
    d.close();
  });

  it('comes back for a channel whose budget ran out exactly as its batch ended', async () => {
    // The flood's lost wake-up: a round serves a full batch and leaves less than one token; the
    // channel's frames then waited for its socket's next read, which never comes once the guest
    // has stopped writing and waits for its last replies.
    const replies: string[] = [];
    let nowMs = 0;
    const d = new Dispatcher({ messagesPerSecond: 1000, burst: 10 }, () => nowMs);
    const l = lane(replies, 'x');
    d.push(
      l,
      Array.from({ length: 3 * BATCH }, () => req(Unit.SCALE_UP)),
    );
    expect(d.queued).toBe(2 * BATCH); // a batch decided inline, 2 tokens left
    // The next round spends the 2 tokens, refills 6.5 and serves 6 more: a full batch, 0.5 left.
    nowMs = 6.5;
    await endOfTurn();
    expect(replies).toHaveLength(2 * BATCH);
    // No more bytes arrive; the budget refills, and the rest must be served without them.
    for (let i = 0; i < 200 && replies.length < 3 * BATCH; i++) {
      nowMs += 5;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(replies).toHaveLength(3 * BATCH);
    d.close();
  });
});

describe('Dispatcher replies', () => {
  /** A lane whose handler echoes (or answers later, for frames `slow` says), logging each write. */
  function writer(writes: Buffer[], slow: (f: Buffer) => boolean = () => false): Lane {
    return {
      // A promise settled before the turn ends: its reply must still follow those in the outbox.
      handle: (f) => (slow(f) ? Promise.resolve(f) : f),
      reply: (bytes) => writes.push(bytes),
      flow: () => undefined,
      limited: () => undefined,
      failed: (e) => {
        throw e;
      },
    };
  }
  const units = (writes: Buffer[]): number[] =>
    writes.flatMap((w) =>
      Array.from({ length: w.length / REQUEST_SIZE }, (_, i) => w.readUInt32LE(i * REQUEST_SIZE + 8)),
    );

  it('writes the replies a channel got in one loop turn with one write, in order', async () => {
    const writes: Buffer[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const l = writer(writes);
    d.push(l, [req(Unit.SCALE_UP), req(Unit.SCALE_DOWN)]);
    d.push(l, [req(Unit.SCALE_MAX)]);
    expect(writes).toHaveLength(0);
    await endOfTurn();
    expect(writes).toHaveLength(1);
    expect(units(writes)).toEqual([Unit.SCALE_UP, Unit.SCALE_DOWN, Unit.SCALE_MAX]);
    d.close();
  });

  it('writes at once when the outbox is full, without waiting for the turn to end', () => {
    const writes: Buffer[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const lanes = Array.from({ length: FLUSH_AT }, () => writer(writes));
    for (const l of lanes) d.push(l, [req(Unit.SCALE_MIN)]);
    expect(writes).toHaveLength(FLUSH_AT);
    d.close();
  });

  it('keeps a channel’s order when a reply is decided later (a pCPU not loaded yet)', async () => {
    const writes: Buffer[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const l = writer(writes, (f) => f.readUInt32LE(8) === Unit.SCALE_DOWN);
    d.push(l, [req(Unit.SCALE_UP), req(Unit.SCALE_DOWN), req(Unit.SCALE_MAX)]);
    for (let i = 0; i < 200 && units(writes).length < 3; i++) await new Promise((r) => setTimeout(r, 1));
    expect(units(writes)).toEqual([Unit.SCALE_UP, Unit.SCALE_DOWN, Unit.SCALE_MAX]);
    d.close();
  });

  it('runs deferred work (log lines, audits, saves) after the turn’s replies are written', async () => {
    const events: string[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const l: Lane = {
      ...writer([]),
      // As the request handler defers a refusal's log line while it decides the reply.
      handle: (f) => {
        afterReplies(() => events.push('log'));
        return f;
      },
      reply: () => events.push('reply'),
    };
    d.push(l, [req(Unit.SCALE_UP)]);
    await endOfTurn();
    await endOfTurn();
    expect(events).toEqual(['reply', 'log']);
    d.close();
  });

  it('writes nothing of a closed connection to the next one on the same channel', async () => {
    const writes: Buffer[] = [];
    const d = new Dispatcher({ messagesPerSecond: 1e9, burst: 1e9 });
    const l = writer(writes);
    d.push(l, [req(Unit.SCALE_UP)]);
    d.remove(l); // the socket closed before the turn ended; the link reconnects
    d.push(l, [req(Unit.SCALE_MIN)]);
    await endOfTurn();
    expect(units(writes)).toEqual([Unit.SCALE_MIN]);
    d.close();
  });
});

describe('JSON FIFO bounds and DPDK dialect', () => {
  it('drops an object not closed in time, and reads the next one', () => {
    const s = new BraceSplitter(1023, 1000);
    expect(s.push('{"instruction":{', 0)).toEqual([]);
    const out = s.push('{"instruction":{"command":"power","unit":"SCALE_MAX"}}', 1500);
    expect(JSON.stringify(out[0])).toMatch(/not closed within 1000 ms/);
    expect(out[1]).toEqual({ text: '{"instruction":{"command":"power","unit":"SCALE_MAX"}}' });
  });

  it('drops an object longer than DPDK’s 1023 characters', () => {
    const s = new BraceSplitter(1023, 1000);
    const out = s.push(`{"x":"${'a'.repeat(1100)}"}{"instruction":{}}`, 0);
    expect(JSON.stringify(out[0])).toMatch(/longer than 1023/);
    expect(out[out.length - 1]).toEqual({ text: '{"instruction":{}}' });
  });

  it('acts on the FIFO’s core and ignores name, resource_id and core_list, as DPDK 22.11', () => {
    const { packet, ignored } = dpdkJsonToPacket(
      { instruction: { name: 'vm9', command: 'power', unit: 'SCALE_DOWN', resource_id: 7 } },
      2,
    );
    expect(packet).toMatchObject({
      command: Command.CPU_POWER,
      unit: Unit.SCALE_DOWN,
      resourceId: 2n,
      corePhysical: true,
    });
    expect(ignored).toEqual(['name', 'resource_id']);
    const policy = dpdkJsonToPacket({ policy: { core_list: [5], workload: 'MEDIUM', policy_type: 'WORKLOAD' } }, 3);
    expect(policy.packet).toMatchObject({
      command: Command.PKT_POLICY,
      policyToUse: Policy.WORKLOAD,
      workload: Workload.MEDIUM,
      vcpuToControl: [3],
      vmName: 'fifo3',
    });
    // DPDK's defaults: a policy, TIME, LOW.
    expect(dpdkJsonToPacket({ policy: {} }, 0).packet).toMatchObject({
      command: Command.PKT_POLICY,
      policyToUse: Policy.TIME,
      workload: Workload.LOW,
    });
    expect(() => dpdkJsonToPacket({ instruction: { unit: 'FASTER' } }, 0)).toThrow(/"unit" must be one of/);
  });
});
