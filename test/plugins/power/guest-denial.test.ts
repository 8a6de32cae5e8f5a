/**
 * The last rung of a per-VM budget, end to end on one agent: a VM (domains@1) drawing 30 W
 * against a 20 W budget, on exclusive pCPUs, with no CPU quota to fall back on. The power
 * plugin lowers the frequency ceiling to the floor, then denies the VM's raises through
 * cpu-limits@1; a real DPDK guest (librte_power, KVM_VM) asking for more gets DPDK's NACK while
 * asking for less is ACKed, the vpmd JSON reply carries the reason, the counters (also on
 * Prometheus' /metrics) and `vpmctl power status` show it, and recovery lifts the denial.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PowerControlStatus } from '../../../core/contracts/power-control.js';
import { InMemoryDomains, inMemoryDomainsPlugin } from '../../../testkit/in-memory-domains.js';
import { bootAgent, pollUntil, type BootedAgent } from '../../../testkit/index.js';
import power from '../../../plugins/power/index.js';
import { fixedPowerVm } from './fixed-power-vm.js';
import channels from '../../../plugins/virtio-channels/index.js';
import prometheus from '../../../plugins/prometheus/index.js';
import { freePort, get, promtoolCheck, sampleValue } from '../prometheus/support.js';
import { buildC } from '../virtio-channels/support/build-c.js';
import { runDpdkGuest } from '../virtio-channels/support/dpdk-guest.js';

const UUID = '77777777-7777-4777-8777-777777777777';
const REASON = 'raise denied by power:budget:vm1: VM vm1 is over its 20 W power budget';
const domains = new InMemoryDomains();
const guest = fixedPowerVm(UUID, 'vm1', 30);

interface ShowVm {
  raiseDenied: { owner: string; reason: string } | null;
  counters: { denied: number; refused: number; accepted: number };
}
interface Stats {
  vm: string;
  channel: string;
  denied: number;
}

let dir: string;
let agent: BootedAgent;
let metricsUrl: string;

beforeAll(async () => {
  await buildC('dpdk-guest');
  dir = await mkdtemp(join(tmpdir(), 'vpmd-guest-denial-'));
  domains.start({ uuid: UUID, name: 'vm1', vcpus: [{ pins: [2] }, { pins: [3] }], emulator: { pins: [2, 3] } });
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  agent = await bootAgent({
    plugins: [inMemoryDomainsPlugin(domains), guest.plugin, power, channels, prometheus],
    sections: {
      prometheus: { port: metricsPort, address: '127.0.0.1', tls: { enabled: false } },
      'test-domains': {},
      'test-energy': {},
      power: { periodMs: 200 },
      'virtio-channels': {
        dir,
        reconnect: { minMs: 20, maxMs: 100 },
        vms: [{ name: 'vm1', channels: '0' }],
        fifos: [2],
        json: 'vpmd',
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function lastReply(fifo: string): Promise<Record<string, unknown>> {
  return pollUntil({
    peer: 'vpmd',
    what: `a reply line in ${fifo}.reply`,
    timeoutMs: 10_000,
    intervalMs: 50,
    probe: async () => {
      const text = await readFile(`${fifo}.reply`, 'utf8').catch(() => '');
      const line = text.trim().split('\n').filter(Boolean).pop();
      return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
    },
  });
}

// One VM's budget story on one agent (exhausted, denied, recovered): kept in order.
describe('guest-channel denials of a VM over its budget', { shuffle: false }, () => {
  it('denies the raises once the ceiling is at its floor, and says so in power status', async () => {
    await agent.json(['power', 'budget', 'vm1', '--watts', '20']);
    const denied = await pollUntil({
      peer: 'vpmd',
      what: 'the raise denial of vm1 in show_vm',
      timeoutMs: 60_000,
      intervalMs: 100,
      probe: async () => (await agent.json<ShowVm>(['show_vm', 'vm1'])).raiseDenied ?? undefined,
    });
    expect(denied.owner).toBe('power:budget:vm1');
    expect(`raise denied by ${denied.owner}: ${denied.reason}`).toMatch(new RegExp(`^${REASON}`));
    const status = await agent.json<PowerControlStatus>(['power', 'status']);
    expect(status.budgets[0]?.actuators).toContain('guest-raise-denied');
    expect(status.budgets[0]?.actuators.some((a) => a.startsWith('frequency-ceiling'))).toBe(true);
    expect(status.lastActions.some((a) => a.action === 'vm1: guest requests to raise the frequency denied')).toBe(true);
    const human = await agent.run(['power', 'status']);
    expect(human.type === 'result' && human.human).toContain('guest-raise-denied');
    const audit = await agent.json<{ detail?: string }[]>(['audit', '--limit', '200']);
    expect(
      audit.some((a) =>
        /vm1: guest requests to raise the frequency denied \(cause: vm1 drew [\d.]+ W against 20\.0 W\)/.test(
          a.detail ?? '',
        ),
      ),
    ).toBe(true);
  }, 90_000);

  it('a real DPDK guest gets NACKs for max, up and turbo, and an ACK for min', async () => {
    const run = await runDpdkGuest(dir, 'vm1', 0, [
      'init',
      'max',
      'recv-ack',
      'up',
      'recv-ack',
      'turbo-on',
      'recv-ack',
      'min',
      'recv-ack',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.filter((l) => l.startsWith('ack '))).toEqual([
      'ack cmd=2 unit=3 resource=0',
      'ack cmd=2 unit=1 resource=0',
      'ack cmd=2 unit=5 resource=0',
      'ack cmd=1 unit=4 resource=0',
    ]);
    const stats = await agent.json<Stats[]>(['show_channel_stats']);
    expect(stats.find((s) => s.vm === 'vm1' && s.channel === '0')?.denied).toBe(3);
  }, 60_000);

  it('the vpmd JSON reply carries the reason DPDK’s NACK cannot', async () => {
    const fifo = join(dir, 'fifo2');
    await writeFile(fifo, '{"instruction":{"name":"vm1","command":"power","unit":"SCALE_UP","resource_id":2}}');
    const line = await lastReply(fifo);
    expect(line).toMatchObject({ ok: false, reply: 'NACK', denied: true });
    expect(String(line.error)).toMatch(new RegExp(`^${REASON}`));
    const shown = await agent.json<ShowVm>(['show_vm', 'vm1']);
    expect(shown.counters.denied).toBe(4);
  });

  it('/metrics carries the denied requests through guest-channels@1, promtool-clean', async () => {
    const body = (await get(metricsUrl)).body;
    const requests = (outcome: string): number | undefined =>
      sampleValue(body, `vpmd_guest_channel_requests_total{domain_name="vm1",outcome="${outcome}"} `);
    const vm = await agent.json<ShowVm>(['show_vm', 'vm1']);
    expect([requests('denied'), requests('refused'), requests('accepted')]).toEqual([
      4,
      vm.counters.refused,
      vm.counters.accepted,
    ]);
    expect(await promtoolCheck(body)).toEqual({ code: 0, output: '' });
  });

  it('recovery lifts the denial: the guest may scale up again', async () => {
    guest.watts = 5;
    await pollUntil({
      peer: 'vpmd',
      what: 'the raise denial of vm1 lifted',
      timeoutMs: 60_000,
      intervalMs: 100,
      probe: async () => ((await agent.json<ShowVm>(['show_vm', 'vm1'])).raiseDenied === null ? true : undefined),
    });
    const run = await runDpdkGuest(dir, 'vm1', 0, ['init', 'max', 'recv-ack']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines).toContain('ack cmd=1 unit=3 resource=0');
    const audit = await agent.json<{ detail?: string }[]>(['audit', '--limit', '400']);
    expect(
      audit.some((a) => (a.detail ?? '').includes('vm1: guest requests to raise the frequency allowed again')),
    ).toBe(true);
  }, 90_000);
});
