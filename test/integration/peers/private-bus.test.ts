import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startLibvirtDbus,
  startLogindMock,
  startPrivateBus,
  type BusClient,
  type PrivateBus,
} from '../../../testkit/peers/index.js';
import { expectNoProcess } from './process-state.js';

const DBUS = {
  destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  interface: 'org.freedesktop.DBus',
} as const;

describe('startPrivateBus', () => {
  let bus: PrivateBus;
  let client: BusClient;

  beforeAll(async () => {
    bus = await startPrivateBus();
    client = await bus.connect();
  });

  afterAll(async () => {
    client?.close();
    await bus?.stop();
  });

  it('listens on a unix socket inside its own temp directory, not on a system bus', () => {
    expect(bus.address).toMatch(/^unix:path=/);
    expect(bus.address).toContain(`${bus.dir}/bus`);
    expect(bus.address).not.toContain('/run/dbus/system_bus_socket');
  });

  it('answers the bus interface to a real client', async () => {
    const [names] = await client.call({ ...DBUS, member: 'ListNames' });
    expect(names).toContain('org.freedesktop.DBus');
  });

  it('activates nothing: a call to an unowned name fails at once with ServiceUnknown', async () => {
    const started = Date.now();
    await expect(
      client.call({
        destination: 'org.freedesktop.login1',
        path: '/org/freedesktop/login1',
        interface: 'org.freedesktop.login1.Manager',
        member: 'CanSuspend',
      }),
    ).rejects.toMatchObject({ details: { dbusError: 'org.freedesktop.DBus.Error.ServiceUnknown' } });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives each bus its own daemon', async () => {
    const other = await startPrivateBus();
    try {
      expect(other.address).not.toBe(bus.address);
      expect(other.pid).not.toBe(bus.pid);
    } finally {
      await other.stop();
    }
  });
});

describe('PrivateBus.stop', () => {
  it('stops the peers attached to the bus, then the daemon, and removes the temp directory', async () => {
    const bus = await startPrivateBus();
    const logind = await startLogindMock(bus);
    const libvirt = await startLibvirtDbus(bus);

    await bus.stop();

    for (const pid of [logind.pid, libvirt.pid, bus.pid]) expectNoProcess(pid);
    for (const dir of [bus.dir, logind.dir, libvirt.dir]) expect(existsSync(dir)).toBe(false);
    await expect(bus.stop()).resolves.toBeUndefined(); // idempotent
  });
});
