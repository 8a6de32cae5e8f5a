/** The simulated RAPL limiter: package power is clipped to PL1 by lowering frequency. */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFile, simHost, type SimFixture } from './sim-fixture.js';

const PL1 = 'sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw';
let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

async function fullLoad(s: SimFixture): Promise<void> {
  s.kernel.setLoad('all', 1);
  for (let id = 0; id < 8; id++) await s.kernel.write(policyFile(id, 'scaling_governor'), 'performance');
}

describe('RAPL power limit', () => {
  it('clips package power at PL1 and lowers the frequency to get there', async () => {
    const s = (sim = await simHost('intel-acpi-cpufreq-8'));
    await fullLoad(s);
    const free = s.kernel.power();
    expect(free.packageW[0]).toBeCloseTo(71, 5); // the default PL1 (TDP) binds the 80 W maximum
    await s.kernel.write(PL1, String(40_000_000));
    const capped = s.kernel.power();
    expect(capped.packageW[0]).toBeCloseTo(40, 5);
    expect(capped.cpuKHz[0]).toBeLessThan(free.cpuKHz[0] ?? 0);
    expect(Number(await s.kernel.read(policyFile(0, 'scaling_cur_freq')))).toBe(capped.cpuKHz[0]);
    const e0 = Number(await s.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
    s.kernel.advance(10_000);
    const e1 = Number(await s.kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
    expect((e1 - e0) / 1e7).toBeCloseTo(40, 3);
  });

  it('does not bind below the limit nor when the zone is disabled', async () => {
    const s = (sim = await simHost('intel-acpi-cpufreq-8'));
    await s.kernel.write(PL1, String(40_000_000));
    const idle = s.kernel.power().packageW[0] ?? 0;
    expect(idle).toBeLessThan(40);
    await fullLoad(s);
    await s.kernel.write('sys/class/powercap/intel-rapl:0/enabled', '0');
    expect(s.kernel.power().packageW[0]).toBeCloseTo(80, 5);
  });
});
