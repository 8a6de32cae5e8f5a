/**
 * domains@1 from the real libvirt-dbus (Test driver on a private bus): the running domains with
 * their vCPUs, pins, metadata, states and channel sockets, lifecycle events from libvirt's own
 * signals, and the optional members guest channels use (lookup of defined domains, pinVcpu).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIBVIRT_BUS_NAME,
  LIBVIRT_CONNECT_IFACE,
  LIBVIRT_DOMAIN_IFACE,
  LIBVIRT_TEST_PATH,
  pollUntil,
  type BootedAgent,
  type BusClient,
} from '../../../testkit/index.js';
import type { DomainLifecycleEvent, Domains } from '../../../core/index.js';
import { LibvirtDomains } from '../../../plugins/libvirt-domains/libvirt-domains.js';
import { bootDomainsOnLibvirt, type DomainsOnLibvirt } from '../../support/domains-on-libvirt.js';

let libvirt: DomainsOnLibvirt;
let client: BusClient;
let agent: BootedAgent;
/** What any user of domains@1 sees: the capability and its lifecycle events. */
let seen: Domains | undefined;
let events: DomainLifecycleEvent[];

/** Calls a method of libvirt-dbus's Test driver connection. */
const callConnect = (member: string, signature: string, body: unknown[]): Promise<unknown[]> =>
  client.call({
    destination: LIBVIRT_BUS_NAME,
    path: LIBVIRT_TEST_PATH,
    interface: LIBVIRT_CONNECT_IFACE,
    member,
    signature,
    body,
  });

/** Calls a method of the Test driver's domain `name` (looked up by name first). */
async function callDomain(name: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
  const [path] = (await callConnect('DomainLookupByName', 's', [name])) as [string];
  return client.call({ destination: LIBVIRT_BUS_NAME, path, interface: LIBVIRT_DOMAIN_IFACE, member, signature, body });
}

/** The lifecycle event of `kind` for the domain `name`, once the consumer has received it. */
const lifecycleEvent = (name: string, kind: DomainLifecycleEvent['kind']): Promise<DomainLifecycleEvent> =>
  pollUntil({
    peer: 'libvirt-domains',
    what: `a ${kind} event for ${name}`,
    timeoutMs: 10_000,
    intervalMs: 50,
    probe: () => Promise.resolve(events.find((e) => e.name === name && e.kind === kind)),
  });

const NOVA = `<domain type='test'><name>nova-1</name><uuid>0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9</uuid>
  <title>web tier</title><memory>1048576</memory><vcpu>2</vcpu>
  <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/></cputune>
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:flavor name="m1.small"/>
      <nova:owner><nova:user uuid="u-42">alice</nova:user><nova:project uuid="p-7">shop</nova:project></nova:owner>
    </nova:instance>
    <vp:power xmlns:vp="urn:vpmd:libvirt:power:1" latency-class="realtime"/>
  </metadata>
  <os><type>hvm</type></os></domain>`;

beforeAll(async () => {
  libvirt = await bootDomainsOnLibvirt();
  ({ client, agent, domains: seen, events } = libvirt);
});
afterAll(async () => {
  await libvirt?.stop();
});

// One domain's life (nova-1 started, re-pinned, destroyed), step by step: the block keeps its
// order under `--sequence.shuffle` (vitest reorders describe.sequential blocks too).
describe('domains@1 from libvirt-dbus', { shuffle: false }, () => {
  it("lists the Test driver's running domain with its UUID, vCPUs, pins and CPU times", async () => {
    const list = (await seen?.list()) ?? [];
    const test = list.find((d) => d.name === 'test');
    expect(test?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(test?.state).toBe('running');
    expect(test?.vcpus.map((v) => v.index)).toEqual([0, 1]);
    expect(test?.vcpus.map((v) => v.pins)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ]);
    // The Test driver has no QEMU process: no threads, and it says so with null.
    expect(test?.vcpus.map((v) => v.threadId)).toEqual([null, null]);
    expect(await seen?.get(test?.uuid.toUpperCase() ?? '')).toMatchObject({ name: 'test' });
    const human = await agent.run(['domains', 'list']);
    expect(human.type === 'result' && human.human).toMatch(/test\s+running/);
  });

  it('reads Nova and vpmd metadata, and reports a started domain with a lifecycle event', async () => {
    await callConnect('DomainCreateXML', 'su', [NOVA, 0]);
    const started = await lifecycleEvent('nova-1', 'started');
    expect(started.domain?.metadata).toEqual({
      title: 'web tier',
      nova: {
        instanceId: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',
        projectId: 'p-7',
        projectName: 'shop',
        userId: 'u-42',
        flavor: 'm1.small',
      },
      latencyClass: 'realtime',
    });
    expect(started.domain?.vcpus.map((v) => v.pins)).toEqual([[2], [3]]);
    // The signal brought it into the steady list() (which no longer asks ListDomains).
    expect((await seen?.list())?.find((d) => d.name === 'nova-1')?.metadata.latencyClass).toBe('realtime');
  });

  it('shows a re-pin at once, and emits stopped (with the reason) when the domain is destroyed', async () => {
    const mask = Array.from({ length: 8 }, (_, i) => i === 5);
    await callDomain('nova-1', 'PinVcpu', 'uabu', [0, mask, 0]);
    // Read on demand: the new pin shows at once. (libvirt's Test driver sends no Tunable signal
    // for PinVcpu, so the 'repinned' event is asserted against QEMU in test/integration/real-vm.)
    expect((await seen?.get('nova-1'))?.vcpus[0]?.pins).toEqual([5]);
    await callDomain('nova-1', 'Destroy', 'u', [0]);
    const stopped = await lifecycleEvent('nova-1', 'stopped');
    expect(stopped).toMatchObject({ uuid: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9', reason: 'destroyed' });
    expect(await seen?.get('nova-1')).toBeUndefined();
    expect((await seen?.list())?.map((d) => d.name)).not.toContain('nova-1');
  });
});

const WITH_CHANNELS = `<domain type='test'><name>chan-1</name><memory>1048576</memory><vcpu>2</vcpu>
  <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/></cputune>
  <os><type>hvm</type></os><devices>
  <channel type='unix'><source mode='bind' path='/run/vpmd-test/chan-1.power.0'/><target type='virtio' name='virtio.serial.port.poweragent.0'/></channel>
  <channel type='unix'><source mode='bind' path='/run/vpmd-test/chan-1.agent'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices></domain>`;

// chan-1 defined, started, re-pinned through domains@1, destroyed: a sequence, kept in order.
describe('the optional members guest channels use', { shuffle: false }, () => {
  it('looks up a defined domain that does not run (as add_vm needs), and says no for an unknown one', async () => {
    await callConnect('DomainDefineXML', 's', [WITH_CHANNELS]);
    expect(await seen?.lookup?.('chan-1')).toMatchObject({ name: 'chan-1', active: false });
    expect(await seen?.get('chan-1')).toBeUndefined();
    expect(await seen?.lookup?.('ghost')).toBeUndefined();
    expect(await seen?.lookup?.('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it("reads a running domain's UNIX-socket channels from its live XML", async () => {
    await callDomain('chan-1', 'Create', 'u', [0]);
    const d = await seen?.get('chan-1');
    expect(d?.channels).toEqual([
      { target: 'virtio.serial.port.poweragent.0', path: '/run/vpmd-test/chan-1.power.0' },
      { target: 'org.qemu.guest_agent.0', path: '/run/vpmd-test/chan-1.agent' },
    ]);
    expect(await seen?.lookup?.(d?.uuid ?? '')).toMatchObject({ name: 'chan-1', active: true });
  });

  it('pins a vCPU, announces repinned with the new pins, and refuses an unknown domain', async () => {
    const before = events.length;
    await seen?.pinVcpu?.('chan-1', 1, [4, 6]);
    expect((await seen?.get('chan-1'))?.vcpus.map((v) => v.pins)).toEqual([[2], [4, 6]]);
    const repinned = events.slice(before).find((e) => e.name === 'chan-1' && e.kind === 'repinned');
    expect(repinned?.domain?.vcpus[1]?.pins).toEqual([4, 6]);
    await expect(seen?.pinVcpu?.('ghost', 0, [1])).rejects.toMatchObject({ code: 'E_LIBVIRT_DOMAINS_NOT_FOUND' });
    await callDomain('chan-1', 'Destroy', 'u', [0]);
  });
});

describe('what a steady list() costs', () => {
  it('asks libvirt only for the CPU times /proc cannot give, and says so in health', async () => {
    if (!(seen instanceof LibvirtDomains)) throw new Error('domains@1 is not the libvirt source');
    const provider = seen;
    const first = await provider.list();
    expect(first.length).toBeGreaterThan(0);
    // No ListDomains, no properties or XML: the Test driver has no QEMU process, so each
    // domain's times come from GetStats, with its pins (GetVcpuPinInfo, GetEmulatorPinInfo: the
    // Test driver re-pins without a signal). (A signal of the previous tests still on its way
    // makes one list() read that domain's structure again: wait until none is.)
    const again = await pollUntil({
      peer: 'libvirt-domains',
      what: 'a list() costing three calls per domain',
      timeoutMs: 10_000,
      intervalMs: 50,
      probe: async () => {
        const before = provider.dbusCalls;
        const list = await provider.list();
        return provider.dbusCalls - before === 3 * list.length ? list : undefined;
      },
    });
    expect(again.map((d) => d.uuid)).toEqual(first.map((d) => d.uuid));
    expect(provider.cpuSources).toMatchObject({ proc: 0, libvirt: again.length });
    const health = (await agent.status()).find((p) => p.name === 'libvirt-domains')?.health;
    expect(health?.status).toBe('ok');
    expect(health?.detail).toMatch(/from libvirt GetStats .* for \d+: \/run\/libvirt\/qemu\/[^ ]+\.pid: ENOENT/);
  });
});
