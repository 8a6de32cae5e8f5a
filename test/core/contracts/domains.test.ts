/**
 * The `domains@1` contract through the test kit's in-memory provider: a consumer plugin gets the
 * capability, reads vCPU threads, pins and CPU time, and receives lifecycle events on the bus.
 */
import { describe, expect, it } from 'vitest';
import {
  DOMAINS,
  Type,
  defineCommand,
  type DomainInfo,
  type DomainLifecycleEvent,
  type Domains,
} from '../../../core/index.js';
import { InMemoryDomains, bootAgent, inMemoryDomainsPlugin, testPlugin } from '../../../testkit/index.js';

const VM = '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01';

describe('domains@1 with the in-memory provider', () => {
  it('gives a consumer the domains, their threads, pins, CPU time and lifecycle events', async () => {
    let clock = 1_700_000_000_000;
    const domains = new InMemoryDomains(() => clock);
    const events: DomainLifecycleEvent[] = [];
    let seen: Domains | undefined;
    const consumer = testPlugin({
      name: 'domain-consumer',
      description: 'reads domains@1',
      requires: [DOMAINS.id],
      register(ctx) {
        ctx.events.on('domain.lifecycle.v1', (e) => void events.push(e));
        ctx.commands.register(
          defineCommand({
            name: 'consumer domains',
            summary: 'list domains through the capability',
            privilege: 'Login',
            args: Type.Object({}),
            handler: () => ctx.capabilities.get(DOMAINS).list(),
          }),
        );
        return {
          start() {
            seen = ctx.capabilities.get(DOMAINS);
          },
          stop() {},
        };
      },
    });
    const agent = await bootAgent({ plugins: [consumer, inMemoryDomainsPlugin(domains)] });
    try {
      domains.start({
        uuid: VM.toUpperCase(),
        name: 'web-1',
        pid: 4242,
        metadata: { nova: { instanceId: VM, projectId: 'p-1' }, latencyClass: 'interactive' },
        vcpus: [{ threadId: 4300, pins: [3, 2] }, { threadId: 4301 }],
        emulator: { threadIds: [4299, 4242], pins: [0, 1] },
      });
      clock += 1000;
      domains.burn(VM, 0, 750_000);
      domains.burn(VM, 'emulator', 20_000);
      domains.repin(VM, 1, [5]);
      const listed = await agent.json<DomainInfo[]>(['consumer', 'domains']);
      expect(listed).toEqual([
        {
          uuid: VM,
          name: 'web-1',
          state: 'running',
          pid: 4242,
          startedAt: 1_700_000_000_000,
          metadata: { nova: { instanceId: VM, projectId: 'p-1' }, latencyClass: 'interactive' },
          vcpus: [
            { index: 0, threadId: 4300, pins: [2, 3], cpuTimeUs: 750_000, state: 'running' },
            { index: 1, threadId: 4301, pins: [5], cpuTimeUs: 0, state: 'running' },
          ],
          emulator: { threadIds: [4242, 4299], pins: [0, 1], cpuTimeUs: 20_000 },
          sampledAt: 1_700_000_001_000,
        },
      ]);
      expect((await seen?.get('web-1'))?.uuid).toBe(VM);
      domains.stop(VM, 'crashed');
      expect(await seen?.list()).toEqual([]);
      expect(events.map((e) => [e.kind, e.uuid, e.reason ?? null])).toEqual([
        ['started', VM, null],
        ['repinned', VM, null],
        ['stopped', VM, 'crashed'],
      ]);
      expect(events[1]?.domain?.vcpus[1]?.pins).toEqual([5]);
      expect(events[2]?.domain).toBeUndefined();
    } finally {
      await agent.stop();
    }
  });

  it('refuses a malformed domain with a clear error and changes nothing', async () => {
    const domains = new InMemoryDomains();
    expect(() => domains.start({ uuid: 'not-a-uuid', name: 'x', vcpus: [{}] })).toThrow(
      "domain x: uuid 'not-a-uuid' is not a UUID",
    );
    expect(() => domains.start({ uuid: VM, name: 'x', vcpus: [{ pins: [-1] }] })).toThrow(
      'domain x vcpu 0 pins: host CPU numbers are integers ≥ 0, got -1',
    );
    expect(await domains.list()).toEqual([]);
  });
});
