/**
 * The JSON FIFO interface (DPDK's keys, replies a client can read in DIR/fifoN.reply) and the
 * guest-channels capability as another plugin consumes it.
 */
import { testPlugin } from '../../../testkit/index.js';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUEST_CHANNELS, Type, defineCommand } from '../../../core/index.js';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import plugin from '../../../plugins/virtio-channels/index.js';
import { BraceSplitter } from '../../../plugins/virtio-channels/json-fifo.js';
import { cpufreq, eventually, settles } from './support/sim-files.js';

/** A consumer of guest-channels@1, as SNMP or Redfish would be. */
const consumer = testPlugin({
  name: 'gc-consumer',
  description: 'test consumer of guest-channels',
  requires: [GUEST_CHANNELS.id],
  register(ctx) {
    ctx.commands.register(
      defineCommand({
        name: 'gc bound',
        summary: 'set a bound through the capability',
        privilege: 'Login',
        args: Type.Object({ pcpu: Type.Integer(), max: Type.Integer(), role: Type.String() }),
        positional: ['pcpu', 'max', 'role'],
        handler: async ({ pcpu, max, role }) => {
          const gc = ctx.capabilities.get(GUEST_CHANNELS);
          await gc.setBounds({ pcpu, maxKHz: max }, { name: 'tester', role: role as 'ReadOnly', origin: 'internal' });
          return { bounds: gc.bounds(), stats: gc.stats(), freqs: await gc.frequencies() };
        },
      }),
    );
    return { start() {}, stop() {} };
  },
});

let dir: string;
let agent: BootedAgent;
const fifo = (): string => join(dir, 'fifo0');

async function replies(): Promise<Array<{ seq: number; ok: boolean; reply: string | null; error?: string }>> {
  const text = await readFile(join(dir, 'fifo0.reply'), 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { seq: number; ok: boolean; reply: string | null; error?: string });
}
async function send(text: string, expectTotal: number): Promise<void> {
  await appendFile(fifo(), text);
  await eventually(async () => (await replies()).length >= expectTotal, `${expectTotal} replies in fifo0.reply`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-vc-json-'));
  agent = await bootAgent({
    plugins: [plugin, consumer],
    sections: {
      'virtio-channels': { dir, libvirt: false, fifos: [0], json: 'vpmd', vms: [{ name: 'vm1', pins: [2] }] },
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

// The FIFO's replies are numbered across the block (seq 1, 2 ...) and each step starts at the
// frequency the step before left: a sequence, kept in order under `--sequence.shuffle`.
describe('JSON FIFO interface', { shuffle: false }, () => {
  // The capability block may have written to the FIFO first: count from what is there.
  let base = 0;
  const ours = async (): Promise<Awaited<ReturnType<typeof replies>>> => (await replies()).slice(base);
  beforeAll(async () => {
    base = (await replies()).length;
  });

  it('applies an instruction and writes a readable reply', async () => {
    await send('{"instruction":{"name":"vm1","command":"power","unit":"SCALE_MIN","resource_id":2}}', base + 1);
    expect((await ours())[0]).toEqual({ seq: base + 1, ok: true, reply: 'ACK' });
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1200000');
  });

  it('splits objects by braces across writes, ignoring braces inside strings', async () => {
    await appendFile(fifo(), '{"instruction":{"name":"vm1","command":"power",');
    await send(
      '"unit":"SCALE_UP","resource_id":2}} {"instruction":{"name":"vm1","command":"power","unit":"SCALE_UP","resource_id":2,"x":"}{"}}',
      base + 3,
    );
    expect((await ours()).slice(1).map((r) => r.reply)).toEqual(['ACK', 'ACK']);
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1600000');
  });

  it('answers bad messages with a specific error and changes nothing', async () => {
    await send('{"instruction":{"name":"vm1","command":"power","unit":"FAST","resource_id":2}}', base + 4);
    await send('{"instruction":{"name":"vm9","command":"power","unit":"SCALE_UP","resource_id":2}}', base + 5);
    await send('{"instruction":{"name":"vm1","command":"power","unit":"SCALE_MAX","resource_id":5}}', base + 6);
    await send('{"policy":{"name":"vm1","command":"create","policy_type":"TRAFFIC","core_list":[0]}}', base + 7);
    const r = (await ours()).slice(3);
    expect(r[0]?.error).toMatch(/"instruction.unit" must be one of SCALE_UP/);
    expect(r[1]?.error).toMatch(/VM 'vm9' has not been added/);
    expect(r[2]).toMatchObject({ ok: false, reply: 'NACK' });
    expect(r[3]).toMatchObject({ ok: false, reply: 'NACK' });
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '1600000');
  });

  it('creates a WORKLOAD policy', async () => {
    await send(
      '{"policy":{"name":"vm1","command":"create","policy_type":"WORKLOAD","workload":"LOW","core_list":[0]}}',
      base + 8,
    );
    expect((await ours())[7]).toMatchObject({ ok: true, reply: 'ACK' });
    await eventually(
      async () => (await cpufreq(agent.hostRoot, 2, 'scaling_setspeed')) === '1200000',
      'the LOW workload frequency',
    );
  });

  it('drops an oversized object with an error', () => {
    const s = new BraceSplitter();
    const out = s.push(`{"a":"${'x'.repeat(20_000)}"}{"b":1}`);
    expect(out[0]).toEqual({ error: expect.stringMatching(/longer than/) });
    expect(out.at(-1)).toEqual({ text: '{"b":1}' });
  });
});

// Bounds accumulate (none, then pCPU 2, then pCPU 0 beside it): a sequence, kept in order.
describe('guest-channels capability', { shuffle: false }, () => {
  it('checks the caller’s privilege before changing bounds', async () => {
    const denied = await agent.run(['gc', 'bound', '2', '2000000', 'ReadOnly']);
    expect(denied.type === 'error' && denied.error.code).toBe('E_ACCESS_DENIED');
    expect(await agent.json(['show_bounds'])).toEqual([]);
  });

  it('sets bounds that apply at once and reports stats and frequencies', async () => {
    // A guest request of its own, so vm1 has accepted one whichever block ran first.
    const sent = (await replies()).length;
    await send('{"instruction":{"name":"vm1","command":"power","unit":"SCALE_MIN","resource_id":2}}', sent + 1);
    await agent.run(['set_cpu_freq', '2', 'max']);
    const r = await agent.json<{
      bounds: unknown;
      stats: Array<{ vm: string; accepted: number }>;
      freqs: Array<{ pcpu: number; appliedKHz: number; vms: string[] }>;
    }>(['gc', 'bound', '2', '2000000', 'Operator']);
    expect(r.bounds).toEqual([{ pcpu: 2, maxKHz: 2000000 }]);
    expect(r.stats.find((s) => s.vm === 'vm1')?.accepted).toBeGreaterThan(0);
    // The optional counters Prometheus exports when a provider has them (guest-channels@1).
    expect(r.stats.find((s) => s.vm === 'vm1')).toMatchObject({
      coalesced: expect.any(Number) as unknown,
      dropped: expect.any(Number) as unknown,
      denied: expect.any(Number) as unknown,
    });
    expect(r.freqs.find((f) => f.pcpu === 2)).toMatchObject({ appliedKHz: 2000000, vms: ['vm1'] });
    await settles(agent.hostRoot, 2, 'scaling_setspeed', '2000000');
  });

  it('accepts bounds for pCPU 0 (the pCPU number is not a frequency)', async () => {
    const r = await agent.json<{ bounds: unknown }>(['gc', 'bound', '0', '2500000', 'Operator']);
    expect(r.bounds).toEqual([
      { pcpu: 0, maxKHz: 2500000 },
      { pcpu: 2, maxKHz: 2000000 },
    ]);
  });
});
