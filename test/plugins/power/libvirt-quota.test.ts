/**
 * The CPU-quota actuator against the real libvirt-dbus (Test driver), through domains@1 (the
 * libvirt-domains plugin), as the power plugin uses it: the call reaches the domain object by
 * UUID; the Test driver implements neither the typed-parameter read libvirt-dbus asks for nor
 * `vcpu_quota`, so each refusal comes back as a coded error naming libvirt's reason, never as a
 * silent success (the budget then keeps its other actuators and says why).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootAgent,
  startLibvirtDbus,
  startPrivateBus,
  type BootedAgent,
  type PrivateBus,
} from '../../../testkit/index.js';
import { DOMAINS, Type, definePlugin, type Domains } from '../../../core/index.js';
import domainsPlugin from '../../../plugins/libvirt-domains/index.js';
import { domainsQuota, type QuotaActuator } from '../../../plugins/power/quota.js';
import { isVpmdError } from '../../../core/errors.js';

/** The Test driver's `test` domain. */
const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
let bus: PrivateBus;
let agent: BootedAgent;
let domains: Domains | undefined;
let quota: QuotaActuator | undefined;
const saved = process.env.DBUS_SESSION_BUS_ADDRESS;

/** A consumer plugin: gets domains@1 as the power plugin does. */
const consumer = definePlugin({
  name: 'quota-consumer',
  version: '1.0.0',
  description: 'gets domains@1 as the power plugin does',
  coreApi: '^1.2.0',
  config: Type.Object({}),
  requires: ['domains@1'],
  register(ctx) {
    domains = ctx.capabilities.get(DOMAINS);
    return { start: () => Promise.resolve(), stop: () => Promise.resolve() };
  },
});

beforeAll(async () => {
  bus = await startPrivateBus();
  await startLibvirtDbus(bus);
  process.env.DBUS_SESSION_BUS_ADDRESS = bus.address;
  agent = await bootAgent({
    plugins: [domainsPlugin, consumer],
    core: { libvirt: { bus: 'session', driver: 'Test' } },
    sections: { 'libvirt-domains': {}, 'quota-consumer': {} },
  });
  quota = domainsQuota(domains);
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await bus?.stop();
  if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
  else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
});

describe('the quota actuator on domains@1 and libvirt-dbus', () => {
  it('exists when the provider can set quotas, and not without one', () => {
    expect(quota).toBeDefined();
    expect(domainsQuota(undefined)).toBeUndefined();
    expect(domainsQuota({ list: () => Promise.resolve([]), get: () => Promise.resolve(undefined) })).toBeUndefined();
  });

  it('reaches the domain by UUID; the Test driver refuses the typed-parameter read (libvirt-dbus adds STRING_OKAY)', async () => {
    // The refusal comes from the driver's own function: the path and the signature were right.
    await expect(quota?.get(TEST_UUID)).rejects.toThrow(
      /GetSchedulerParameters on 6695eb01-f6a4-8304-79aa-97f2502e193f: .*unsupported flags \(0x4\) in function testDomainGetSchedulerParametersFlags/,
    );
  });

  it('reports the refusal of vcpu_quota with libvirt’s reason', async () => {
    let caught: unknown;
    try {
      await quota?.set(TEST_UUID, { quotaUs: 50_000, periodUs: 100_000 });
    } catch (e) {
      caught = e;
    }
    expect(isVpmdError(caught) && caught.code).toBe('E_POWER_UNAVAILABLE');
    expect((caught as Error).message).toMatch(/SetSchedulerParameters on 6695eb01/);
  });

  it('names an unknown domain', async () => {
    await expect(quota?.get('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/GetSchedulerParameters/);
  });
});
