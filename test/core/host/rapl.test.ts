/** RAPL domains: naming, constraints, unreadable counters, power limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVpmdError } from '../../../core/errors.js';
import { createHostModel, hostFileError, type SysfsBackend } from '../../../core/host/index.js';
import { expectCode, simHost, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture;
beforeAll(async () => {
  sim = await simHost('intel-acpi-cpufreq-8');
});
afterAll(() => sim.dispose());

describe('RAPL', () => {
  it('reads domains with parent links, raw counters and constraints', async () => {
    const [pkg, dram] = await sim.host.rapl.domains();
    expect(pkg).toMatchObject({
      id: 'intel-rapl:0',
      name: 'package-0',
      key: 'package-0',
      path: 'sys/class/powercap/intel-rapl:0',
      enabled: true,
    });
    expect(pkg?.parent).toBeUndefined();
    expect(pkg?.constraints).toEqual([
      { index: 0, name: 'long_term', powerLimitUw: 71_000_000, timeWindowUs: 27_983_872, maxPowerUw: 71_000_000 },
      { index: 1, name: 'short_term', powerLimitUw: 85_200_000, timeWindowUs: 2440, maxPowerUw: 0 },
    ]);
    expect(dram).toMatchObject({ id: 'intel-rapl:0:0', name: 'dram', key: 'package-0/dram', parent: 'intel-rapl:0' });
    expect(await sim.host.rapl.energyUj('intel-rapl:0')).toBe(pkg?.energyUj);
  });

  it('lists domains whose counter is root-only, without the counter', async () => {
    const k = sim.kernel;
    const unprivileged: SysfsBackend = {
      root: k.root,
      list: (d) => k.list(d),
      exists: (p) => k.exists(p),
      write: (p, v) => k.write(p, v),
      read: async (p) => {
        if (p.endsWith('energy_uj')) throw hostFileError({ op: 'read', file: `${k.root}/${p}`, errno: 'EACCES' });
        return k.read(p);
      },
    };
    const domains = await createHostModel(unprivileged).rapl.domains();
    expect(domains.map((d) => [d.key, d.energyUj])).toEqual([
      ['package-0', undefined],
      ['package-0/dram', undefined],
    ]);
  });

  it('sets a power limit and verifies it', async () => {
    const was = (await sim.host.rapl.domains())[0]?.constraints[0]?.powerLimitUw ?? 0;
    try {
      await sim.host.rapl.setPowerLimit('intel-rapl:0', 0, 50_000_000);
      expect((await sim.host.rapl.domains())[0]?.constraints[0]?.powerLimitUw).toBe(50_000_000);
      await expectCode(sim.host.rapl.setPowerLimit('intel-rapl:0', 0, -5), 'E_HOST_INVALID');
      await expectCode(sim.host.rapl.setPowerLimit('intel-rapl:7', 0, 5), 'E_HOST_NOT_FOUND');
      const err = await sim.host.rapl.setPowerLimit('intel-rapl:0', 3, 5).catch((e: unknown) => e);
      expect(isVpmdError(err, 'E_HOST_NOT_FOUND')).toBe(true);
    } finally {
      // The read test expects the profile's limits, before or after this one.
      await sim.host.rapl.setPowerLimit('intel-rapl:0', 0, was);
    }
  });
});
