/** Thermal zones and hwmon chips, converted to °C, RPM, W and V. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simHost, type SimFixture } from '../sim/sim-fixture.js';

let desktop: SimFixture;
let server: SimFixture;
beforeAll(async () => {
  [desktop, server] = await Promise.all([simHost('intel-acpi-cpufreq-8'), simHost('intel-pstate-hwp-32')]);
});
afterAll(() => Promise.all([desktop.dispose(), server.dispose()]));

describe('thermal', () => {
  it('converts zone temperatures from m°C', async () => {
    const zones = await desktop.host.thermal.zones();
    const raw = Number(await desktop.kernel.read('sys/class/thermal/thermal_zone1/temp'));
    expect(zones[1]).toEqual({ id: 'thermal_zone1', index: 1, type: 'x86_pkg_temp', tempC: raw / 1000 });
  });

  it('reads coretemp channels with labels and °C thresholds', async () => {
    const [coretemp] = await server.host.thermal.hwmon();
    expect(coretemp?.name).toBe('coretemp');
    expect(coretemp?.temps).toHaveLength(9);
    expect(coretemp?.temps[0]).toMatchObject({ index: 1, label: 'Package id 0', max: 84, crit: 100 });
    expect(coretemp?.temps[8]?.label).toBe('Core 7');
    expect(coretemp?.fans).toEqual([]);
  });

  it('reads fans in RPM, voltages in V and power in W', async () => {
    const chips = await desktop.host.thermal.hwmon();
    const board = chips.find((c) => c.name === 'nct6775');
    expect(board?.fans.map((f) => f.index)).toEqual([1, 2]);
    expect(board?.fans[0]?.value).toBeGreaterThanOrEqual(600);
    const mv = Number(await desktop.kernel.read('sys/class/hwmon/hwmon1/in0_input'));
    expect(board?.voltages[0]?.value).toBeCloseTo(mv / 1000, 9);
    expect(board?.voltages[0]?.value).toBeLessThan(1.5);
    const meter = (await server.host.thermal.hwmon()).find((c) => c.name === 'power_meter');
    const uw = Number(await server.kernel.read('sys/class/hwmon/hwmon2/power1_input'));
    expect(meter?.powers[0]?.value).toBeCloseTo(uw / 1e6, 9);
    expect(meter?.powers[0]?.value).toBeGreaterThan(70);
  });

  it('follows load: package and core temperatures rise after a while', async () => {
    const before = (await server.host.thermal.hwmon())[0]?.temps.map((t) => t.value ?? 0) ?? [];
    server.kernel.setLoad('all', 1);
    server.kernel.advance(120_000);
    const after = (await server.host.thermal.hwmon())[0]?.temps.map((t) => t.value ?? 0) ?? [];
    after.forEach((t, i) => expect(t).toBeGreaterThan((before[i] ?? 0) + 5));
  });
});
