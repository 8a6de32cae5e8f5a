/**
 * An agent whose domains@1 is the libvirt-domains plugin on the real libvirt-dbus (Test driver)
 * of a private bus, which the agent reaches as its session bus, with a consumer plugin that
 * sees domains@1 and its lifecycle events as any user of the capability does.
 */
import {
  bootAgent,
  startLibvirtDbus,
  startPrivateBus,
  testPlugin,
  type BootedAgent,
  type BusClient,
  type PrivateBus,
} from '../../testkit/index.js';
import { DOMAINS, type DomainLifecycleEvent, type Domains } from '../../core/index.js';
import domainsPlugin from '../../plugins/libvirt-domains/index.js';

/** What {@link bootDomainsOnLibvirt} started. */
export interface DomainsOnLibvirt {
  readonly bus: PrivateBus;
  /** A client on the private bus, to call libvirt-dbus directly. */
  readonly client: BusClient;
  readonly agent: BootedAgent;
  /** domains@1 as the consumer plugin got it. */
  readonly domains: Domains | undefined;
  /** The lifecycle events the consumer received, in order. */
  readonly events: DomainLifecycleEvent[];
  /** Stops the agent, the client and the bus, and restores DBUS_SESSION_BUS_ADDRESS. */
  stop(): Promise<void>;
}

/**
 * Starts a private bus with libvirt-dbus on it and boots the agent with libvirt-domains and a
 * domains@1 consumer. The agent finds the bus through DBUS_SESSION_BUS_ADDRESS (the core config
 * says `bus: 'session'`), so this sets it until `stop()`, or until a failed start is undone.
 */
export async function bootDomainsOnLibvirt(): Promise<DomainsOnLibvirt> {
  const savedAddress = process.env.DBUS_SESSION_BUS_ADDRESS;
  const events: DomainLifecycleEvent[] = [];
  let domains: Domains | undefined;
  const consumer = testPlugin({
    name: 'domains-consumer',
    description: 'sees what any domains@1 consumer sees',
    requires: ['domains@1'],
    register(ctx) {
      domains = ctx.capabilities.get(DOMAINS);
      ctx.events.on('domain.lifecycle.v1', (e) => {
        events.push(e);
      });
      return { start: () => Promise.resolve(), stop: () => Promise.resolve() };
    },
  });
  let bus: PrivateBus | undefined;
  let client: BusClient | undefined;
  let agent: BootedAgent | undefined;
  const stop = async (): Promise<void> => {
    await agent?.stop();
    client?.close();
    await bus?.stop(); // stops libvirt-dbus with it
    if (savedAddress === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = savedAddress;
  };
  try {
    bus = await startPrivateBus();
    await startLibvirtDbus(bus);
    client = await bus.connect();
    process.env.DBUS_SESSION_BUS_ADDRESS = bus.address;
    agent = await bootAgent({
      plugins: [domainsPlugin, consumer],
      core: { libvirt: { bus: 'session', driver: 'Test' } },
      sections: { 'libvirt-domains': {}, 'domains-consumer': {} },
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { bus, client, agent, domains, events, stop };
}
