/**
 * The CPU-quota actuator against the real libvirt-dbus (Test driver), through domains@1 (the
 * libvirt-domains plugin), as the power plugin uses it: the call reaches the domain object by
 * UUID; the Test driver implements neither the typed-parameter read libvirt-dbus asks for nor
 * `vcpu_quota`, so each refusal comes back as a coded error naming libvirt's reason, never as a
 * silent success (the budget then keeps its other actuators and says why).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainsQuota, type QuotaActuator } from '../../../plugins/power/quota.js';
import { isVpmdError } from '../../../core/errors.js';
import { bootDomainsOnLibvirt, type DomainsOnLibvirt } from '../../support/domains-on-libvirt.js';

/** The Test driver's `test` domain. */
const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
let libvirt: DomainsOnLibvirt;
let quota: QuotaActuator | undefined;

// domains@1 as the power plugin gets it: from a consumer plugin's capabilities.
beforeAll(async () => {
  libvirt = await bootDomainsOnLibvirt();
  quota = domainsQuota(libvirt.domains);
}, 60_000);
afterAll(async () => {
  await libvirt?.stop();
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
