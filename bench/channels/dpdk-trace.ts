/**
 * Where a real DPDK guest's reply time goes. Boots the agent, runs the librte_power guest
 * (test/plugins/virtio-channels/c/dpdk-guest.c, word `trace:N`) behind socat, and joins the
 * guest's timestamps of each slow reply with the agent's own (all CLOCK_MONOTONIC, the clock of
 * `process.hrtime`): when the request reached the agent's event loop and when its reply was
 * written. The three legs of a reply: guest -> pty -> socat -> agent (`toAgentUs`), the agent
 * (`inAgentUs`), agent -> socat -> pty -> guest (`toGuestUs`). A diagnostic, not a benchmark:
 * it prints the legs of every reply slower than 1 ms, and the event loop's delay.
 *
 *   tsx bench/channels/dpdk-trace.ts [--hogs N] [--n 3000] [--rt PRIO] [--cold K] [--transport direct]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { bootAgent } from '../../testkit/index.js';
import plugin from '../../plugins/virtio-channels/index.js';
import { Dispatcher, type Lane } from '../../plugins/virtio-channels/channel/dispatcher.js';
import { runDpdkGuest } from '../../test/plugins/virtio-channels/support/dpdk-guest.js';
import { withHogs } from './hog.js';
import { arg } from './bench-agent.js';

const HOGS = Number(arg('--hogs') ?? 0);
const N = Number(arg('--n') ?? 3000);
const RT = Number(arg('--rt') ?? 0);
/** `--cold K`: K VMs added at run time, each on a pCPU never touched, one channel each. */
const COLD = Number(arg('--cold') ?? 0);
/** `--transport direct`: no socat and pty between the guest and the agent (c/direct-port.c). */
const TRANSPORT = arg('--transport') === 'direct' ? 'direct' : 'pty';

const usNow = (): number => Number(process.hrtime.bigint() / 1000n);

/** The agent's side of one reply. */
interface AgentSide {
  readonly arrived: number;
  readonly written: number;
  /** The request took the asynchronous (not yet loaded) path. */
  readonly async: boolean;
}
/** Replies by lane, in order. */
const agentSide = new Map<Lane, AgentSide[]>();
const arrivedAt = new WeakMap<Buffer, number>();

function instrument(lane: Lane): AgentSide[] {
  const done: AgentSide[] = [];
  agentSide.set(lane, done);
  const waiting: Array<{ arrived: number; async: boolean }> = [];
  const handle = lane.handle.bind(lane);
  const reply = lane.reply.bind(lane);
  const l = lane as { handle: Lane['handle']; reply: Lane['reply'] };
  l.handle = (f) => {
    const out = handle(f);
    // CONNECT (2) and PKT_POLICY_REMOVE (4) get no reply.
    const cmd = f.readUInt32LE(12);
    if (cmd !== 2 && cmd !== 4) waiting.push({ arrived: arrivedAt.get(f) ?? NaN, async: out instanceof Promise });
    return out;
  };
  l.reply = (b) => {
    reply(b);
    const w = waiting.shift();
    done.push({ arrived: w?.arrived ?? NaN, written: usNow(), async: w?.async ?? false });
  };
  return done;
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its `this` below
const push = Dispatcher.prototype.push;
Dispatcher.prototype.push = function (this: Dispatcher, lane: Lane, frames: readonly Buffer[]) {
  const t = usNow();
  for (const f of frames) arrivedAt.set(f, t);
  if (!agentSide.has(lane)) instrument(lane);
  push.call(this, lane, frames);
};
/** The replies of the lane created last. */
const lastLane = (): AgentSide[] => [...agentSide.values()].at(-1) ?? [];

/** Joins the guest's `trace` lines with the agent's replies. */
function legs(lines: readonly string[], agent: readonly AgentSide[]): object[] {
  const out: object[] = [];
  for (const l of lines) {
    const m = /^trace (\d+) (\d+) (\d+) (\d+) (\w+)$/.exec(l);
    if (!m) continue;
    const [i, t1, t2] = [m[1], m[3], m[4]].map(Number) as [number, number, number];
    const a = agent[i];
    out.push({
      i,
      outcome: m[5],
      totalUs: t2 - t1,
      toAgentUs: a ? a.arrived - t1 : null,
      inAgentUs: a ? a.written - a.arrived : null,
      toGuestUs: a ? t2 - a.written : null,
      async: a?.async,
    });
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'vpmd-trace-'));
const agent = await bootAgent({
  plugins: [plugin],
  sections: {
    'virtio-channels': {
      dir,
      libvirt: false,
      reconnect: { minMs: 20, maxMs: 100 },
      schedFifoPriority: RT,
      vms: [{ name: 'vm1', pins: [2, 3], channels: '0,1', query: true }],
    },
  },
});
const lag = monitorEventLoopDelay({ resolution: 1 });
/** Garbage collections on the agent's thread: count, total and longest pause. */
const gc = { count: 0, totalMs: 0, maxMs: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.totalMs += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
try {
  await withHogs(HOGS, async () => {
    lag.enable();
    for (let k = 0; k < COLD; k++) {
      const vm = `cold${k}`;
      await agent.run(['add_vm', vm]);
      await agent.run(['set_pcpu', vm, '0', String(4 + k)]);
      await agent.run(['add_channels', vm, '0']);
      const r = await runDpdkGuest(dir, vm, 0, ['init', 'trace:3'], 30_000, RT, TRANSPORT);
      const side = lastLane();
      console.log(
        JSON.stringify({
          vm,
          guest: r.lines.at(-1),
          inAgentUs: side.map((s) => s.written - s.arrived),
          async: side.map((s) => s.async),
          slow: legs(r.lines, side),
        }),
      );
    }
    if (N > 0) {
      const run = await runDpdkGuest(dir, 'vm1', 0, ['init', `trace:${N}`], 300_000, RT, TRANSPORT);
      if (run.code !== 0) throw new Error(run.stderr);
      const side = [...agentSide.values()].reduce((a, b) => (b.length > a.length ? b : a), [] as AgentSide[]);
      for (const l of legs(run.lines, side)) console.log(JSON.stringify(l));
      const inAgent = side.map((s) => s.written - s.arrived).sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          guest: run.lines.at(-1),
          inAgentUs: {
            p50: inAgent[Math.floor(inAgent.length * 0.5)],
            p99: inAgent[Math.floor(inAgent.length * 0.99)],
            max: inAgent.at(-1),
          },
          async: side.filter((s) => s.async).length,
        }),
      );
    }
    lag.disable();
    console.log(
      JSON.stringify({
        hogs: HOGS,
        transport: TRANSPORT,
        eventLoopDelayMs: { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6, mean: lag.mean / 1e6 },
        gc,
      }),
    );
  });
} finally {
  await agent.stop();
  await rm(dir, { recursive: true, force: true });
}
