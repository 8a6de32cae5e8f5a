/** Host telemetry: metric definitions and samples (RAPL power from energy deltas, wraps included). */
import { afterEach, describe, expect, it } from 'vitest';
import { createHostTelemetry, type HostSampleValue } from '../../../core/host/index.js';
import { SIM_MAX_ENERGY_RANGE_UJ } from '../../../core/sim/index.js';
import { simHost, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

function valueOf(samples: readonly HostSampleValue[], id: string): number | null | undefined {
  return samples.find((s) => s.id === id)?.value;
}

describe('host telemetry definitions', () => {
  it('names RAPL, thermal, hwmon and frequency metrics with units, sources and thresholds', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    const defs = await createHostTelemetry(sim.host).definitions();
    const byId = new Map(defs.map((d) => [d.id, d]));
    expect(byId.size).toBe(defs.length);
    expect(byId.get('host/rapl/package-0/power')).toEqual({
      id: 'host/rapl/package-0/power',
      name: 'RAPL package-0 power',
      kind: 'power',
      unit: 'W',
      source: { plugin: 'core', target: 'host', sensor: 'sys/class/powercap/intel-rapl:0/energy_uj' },
    });
    expect(byId.get('host/rapl/package-1/dram/energy')).toMatchObject({ kind: 'energy', unit: 'J' });
    expect(byId.get('host/thermal/acpitz')).toMatchObject({ kind: 'temperature', unit: 'Cel' });
    expect(byId.get('host/thermal/x86_pkg_temp-1')?.source.sensor).toBe('sys/class/thermal/thermal_zone2/temp');
    expect(byId.get('host/hwmon/coretemp-0/temp1')).toMatchObject({
      name: 'coretemp Package id 0 temperature',
      thresholds: { upperWarning: 84, upperCritical: 100 },
    });
    expect(byId.get('host/hwmon/coretemp-1/temp9')?.name).toBe('coretemp Core 7 temperature');
    expect(byId.get('host/hwmon/power_meter/power1')).toMatchObject({ kind: 'power', unit: 'W' });
    expect(byId.get('host/hwmon/power_meter/power1')?.thresholds).toBeUndefined();
    expect(byId.get('host/cpufreq/policy31/frequency')).toMatchObject({ kind: 'frequency', unit: 'Hz' });
  });

  it('uses plain type names when they are unique, and offers nothing a host lacks', async () => {
    sim = await simHost('arm-cppc-8');
    const ids = (await createHostTelemetry(sim.host).definitions()).map((d) => d.id);
    expect(ids.filter((id) => !id.startsWith('host/cpufreq/'))).toEqual(['host/thermal/cpu-thermal']);
    await sim.dispose();
    sim = await simHost('intel-acpi-cpufreq-8');
    const acpi = (await createHostTelemetry(sim.host).definitions()).map((d) => d.id);
    expect(acpi).toContain('host/thermal/x86_pkg_temp');
    expect(acpi).toContain('host/hwmon/nct6775/fan1');
    expect(acpi).toContain('host/hwmon/nct6775/in0');
  });
});

describe('host telemetry samples', () => {
  it('derives power from energy deltas and converts units', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    const { kernel } = sim;
    const telemetry = createHostTelemetry(sim.host, { now: () => kernel.nowMs() });
    const first = await telemetry.sample();
    expect(valueOf(first, 'host/rapl/package-0/power')).toBeNull();
    const raw = Number(await kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
    expect(valueOf(first, 'host/rapl/package-0/energy')).toBeCloseTo(raw / 1e6, 6);
    expect(valueOf(first, 'host/cpufreq/policy0/frequency')).toBe(1_200_000_000);

    kernel.setLoad('all', 1);
    kernel.advance(10_000);
    const second = await telemetry.sample();
    const watts = kernel.power().packageW[0] ?? 0;
    expect(valueOf(second, 'host/rapl/package-0/power')).toBeCloseTo(watts, 3);
    expect(valueOf(second, 'host/rapl/package-0/dram/power')).toBeGreaterThan(1);
    expect(valueOf(second, 'host/rapl/package-0/energy')).toBeCloseTo(raw / 1e6 + watts * 10, 3);
    // Full load on all 8 CPUs would draw 80 W: the package's RAPL PL1 (71 W) holds it there by
    // lowering the frequency, and the telemetry reports the frequency the CPUs actually run at.
    expect(watts).toBeCloseTo(71, 3);
    const khz = kernel.power().cpuKHz[0] ?? 0;
    expect(khz).toBeLessThan(3_801_000);
    expect(valueOf(second, 'host/cpufreq/policy0/frequency')).toBe(khz * 1000);
    const pkgTemp = Number(await kernel.read('sys/class/thermal/thermal_zone1/temp')) / 1000;
    expect(valueOf(second, 'host/thermal/x86_pkg_temp')).toBe(pkgTemp);
    expect(valueOf(second, 'host/hwmon/nct6775/fan1')).toBeGreaterThanOrEqual(600);
    for (const s of second) expect(s.value, s.id).not.toBeNull();
  });

  it('keeps energy monotonic and power right across a counter wrap', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    const { kernel } = sim;
    const telemetry = createHostTelemetry(sim.host, { now: () => kernel.nowMs() });
    kernel.setLoad('all', 1);
    const watts = kernel.power().packageW[0] ?? 0;
    const e0 = valueOf(await telemetry.sample(), 'host/rapl/package-0/energy') ?? 0;
    // Two steps, each shorter than a full range, together past the wrap point.
    const toWrapS = (SIM_MAX_ENERGY_RANGE_UJ / 1e6 - e0) / watts;
    const stepMs = Math.ceil(((toWrapS + 600) / 2) * 1000);
    let last = e0;
    let wrappedSeen = false;
    for (let i = 0; i < 2; i++) {
      const before = Number(await kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
      kernel.advance(stepMs);
      const after = Number(await kernel.read('sys/class/powercap/intel-rapl:0/energy_uj'));
      wrappedSeen ||= after < before;
      const s = await telemetry.sample();
      const energy = valueOf(s, 'host/rapl/package-0/energy') ?? 0;
      expect(energy).toBeGreaterThan(last);
      expect(valueOf(s, 'host/rapl/package-0/power')).toBeCloseTo(watts, 2);
      last = energy;
    }
    expect(wrappedSeen).toBe(true);
    expect(last).toBeCloseTo(e0 + (watts * 2 * stepMs) / 1000, 0);
  });
});
