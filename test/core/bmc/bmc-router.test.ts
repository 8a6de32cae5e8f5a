/**
 * The core's `bmcs@1` router: which target is this host's own BMC (`hostBmc`), across drivers,
 * and the refusal of an operation a driver does not offer. The drivers here are in-memory
 * stand-ins: the real ipmi driver is exercised against ipmi_sim in
 * test/plugins/redfish/host-bmc.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  BmcRouter,
  IPMI_BMC_DRIVER,
  REDFISH_BMC_DRIVER,
  VpmdError,
  type BmcDriver,
  type BmcTarget,
} from '../../../core/index.js';

function driver(protocol: 'ipmi' | 'redfish', targets: Partial<BmcTarget>[]): BmcDriver {
  return {
    protocol,
    targets: () => targets.map((t) => ({ name: 'x', protocol, host: '127.0.0.1', port: 623, state: 'ok', ...t })),
    chassis: () => Promise.resolve(),
  };
}

function router(ipmi?: BmcDriver, redfish?: BmcDriver): BmcRouter {
  return new BmcRouter((id) => (id === IPMI_BMC_DRIVER.id ? ipmi : id === REDFISH_BMC_DRIVER.id ? redfish : undefined));
}

describe('BmcRouter.hostBmc', () => {
  it('is undefined when no target is marked, and the marked one otherwise', () => {
    expect(router(driver('ipmi', [{ name: 'a' }])).hostBmc()).toBeUndefined();
    const r = router(
      driver('ipmi', [{ name: 'a' }, { name: 'self', hostBmc: true }]),
      driver('redfish', [{ name: 'b' }]),
    );
    expect(r.hostBmc()?.name).toBe('self');
  });

  it('refuses two marked targets of two drivers with E_BMC_CONFIG naming both', () => {
    const r = router(driver('ipmi', [{ name: 'a', hostBmc: true }]), driver('redfish', [{ name: 'b', hostBmc: true }]));
    let err: unknown;
    try {
      r.hostBmc();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VpmdError);
    expect((err as VpmdError).code).toBe('E_BMC_CONFIG');
    expect((err as VpmdError).message).toContain('ipmi target a, redfish target b');
  });

  it('answers E_BMC_UNSUPPORTED for a driver without a boot override or log', async () => {
    const r = router(driver('ipmi', [{ name: 'a' }]));
    await expect(r.bootOverride('a')).rejects.toMatchObject({ code: 'E_BMC_UNSUPPORTED' });
    await expect(r.logEntries('a')).rejects.toMatchObject({ code: 'E_BMC_UNSUPPORTED' });
    await expect(r.identifyState('nope')).rejects.toMatchObject({ code: 'E_BMC_NOT_FOUND' });
  });
});
