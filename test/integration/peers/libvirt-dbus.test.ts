import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIBVIRT_BUS_NAME,
  LIBVIRT_CONNECT_IFACE,
  LIBVIRT_DOMAIN_IFACE,
  LIBVIRT_TEST_PATH,
  startLibvirtDbus,
  startPrivateBus,
  type BusClient,
  type LibvirtDbusPeer,
  type PrivateBus,
} from '../../../testkit/peers/index.js';
import { expectNoProcess } from './process-state.js';

describe('startLibvirtDbus', () => {
  let bus: PrivateBus;
  let libvirt: LibvirtDbusPeer;
  let client: BusClient;

  const call = (
    path: string,
    iface: string,
    member: string,
    signature?: string,
    body?: unknown[],
  ): Promise<unknown[]> =>
    client.call({
      destination: LIBVIRT_BUS_NAME,
      path,
      interface: iface,
      member,
      ...(signature === undefined ? {} : { signature, body: body ?? [] }),
    });

  beforeAll(async () => {
    bus = await startPrivateBus();
    libvirt = await startLibvirtDbus(bus);
    client = await bus.connect();
  });

  afterAll(async () => {
    client?.close();
    await libvirt?.stop();
    await bus?.stop();
  });

  it('lists exactly the Test driver domain "test", running', async () => {
    const [domains] = await call(LIBVIRT_TEST_PATH, LIBVIRT_CONNECT_IFACE, 'ListDomains', 'u', [0]);
    expect(domains).toEqual([libvirt.testDomainPath]);
    expect(await client.getProperty(LIBVIRT_BUS_NAME, libvirt.testDomainPath, LIBVIRT_DOMAIN_IFACE, 'Name')).toBe(
      'test',
    );
    expect(await client.getProperty(LIBVIRT_BUS_NAME, libvirt.testDomainPath, LIBVIRT_DOMAIN_IFACE, 'Active')).toBe(
      true,
    );
  });

  it('answers GetVcpuPinInfo with 2 vCPUs over 8 host CPUs, and keeps a PinVcpu change', async () => {
    const [before] = await call(libvirt.testDomainPath, LIBVIRT_DOMAIN_IFACE, 'GetVcpuPinInfo', 'u', [0]);
    expect(before).toEqual([Array<boolean>(8).fill(true), Array<boolean>(8).fill(true)]);

    const onlyCpu2 = [false, false, true, false, false, false, false, false];
    await call(libvirt.testDomainPath, LIBVIRT_DOMAIN_IFACE, 'PinVcpu', 'uabu', [1, onlyCpu2, 0]);

    const [after] = await call(libvirt.testDomainPath, LIBVIRT_DOMAIN_IFACE, 'GetVcpuPinInfo', 'u', [0]);
    expect(after).toEqual([Array<boolean>(8).fill(true), onlyCpu2]);
  });

  it("reports libvirt's own errors as org.libvirt.Error", async () => {
    await expect(
      call(LIBVIRT_TEST_PATH, LIBVIRT_CONNECT_IFACE, 'DomainLookupByName', 's', ['no-such-domain']),
    ).rejects.toMatchObject({
      details: { dbusError: 'org.libvirt.Error' },
    });
  });
});

describe('LibvirtDbusPeer.stop', () => {
  it('ends libvirt-dbus and releases org.libvirt', async () => {
    const bus = await startPrivateBus();
    const client = await bus.connect();
    try {
      const libvirt = await startLibvirtDbus(bus);
      expect(await client.nameHasOwner(LIBVIRT_BUS_NAME)).toBe(true);
      await libvirt.stop();
      expectNoProcess(libvirt.pid);
      expect(await client.nameHasOwner(LIBVIRT_BUS_NAME)).toBe(false);
    } finally {
      client.close();
      await bus.stop();
    }
  });
});
