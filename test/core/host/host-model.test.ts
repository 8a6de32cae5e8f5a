/** The host model facade on every simulated profile: what each host offers, as consumers see it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimProfileName } from '../../../core/sim/index.js';
import { expectCode, simHost, type SimFixture } from '../sim/sim-fixture.js';

interface Expected {
  driver: string;
  turbo: string;
  rapl: string[];
  zones: string[];
  hwmon: string[];
  s3: boolean;
  s4: boolean;
  memSleep: string;
  idleDriver: string;
  rtc: string;
  status?: string;
}

const PROFILES: Record<SimProfileName, Expected> = {
  'intel-acpi-cpufreq-8': {
    driver: 'acpi-cpufreq',
    turbo: 'boost',
    rapl: ['package-0', 'package-0/dram'],
    zones: ['acpitz', 'x86_pkg_temp'],
    hwmon: ['coretemp', 'nct6775'],
    s3: true,
    s4: true,
    memSleep: 'deep',
    idleDriver: 'intel_idle',
    rtc: 'rtc_cmos',
  },
  'intel-cpufreq-passive-16': {
    driver: 'intel_cpufreq',
    turbo: 'intel_pstate-no_turbo',
    rapl: ['package-0', 'package-0/dram'],
    zones: ['acpitz', 'x86_pkg_temp'],
    hwmon: ['coretemp'],
    s3: true,
    s4: true,
    memSleep: 'deep',
    idleDriver: 'intel_idle',
    rtc: 'rtc_cmos',
    status: 'passive',
  },
  'intel-pstate-hwp-32': {
    driver: 'intel_pstate',
    turbo: 'intel_pstate-no_turbo',
    rapl: ['package-0', 'package-0/dram', 'package-1', 'package-1/dram'],
    zones: ['acpitz', 'x86_pkg_temp', 'x86_pkg_temp'],
    hwmon: ['coretemp', 'coretemp', 'power_meter'],
    s3: true,
    s4: true,
    memSleep: 'deep',
    idleDriver: 'intel_idle',
    rtc: 'rtc_cmos',
    status: 'active',
  },
  'amd-pstate-epp-64': {
    driver: 'amd-pstate-epp',
    turbo: 'boost',
    rapl: ['package-0', 'package-0/core', 'package-1', 'package-1/core'],
    zones: [],
    hwmon: ['k10temp', 'k10temp'],
    s3: true,
    s4: true,
    memSleep: 's2idle',
    idleDriver: 'acpi_idle',
    rtc: 'rtc_cmos',
    status: 'active',
  },
  'arm-cppc-8': {
    driver: 'cppc_cpufreq',
    turbo: 'none',
    rapl: [],
    zones: ['cpu-thermal'],
    hwmon: [],
    s3: false,
    s4: false,
    memSleep: 's2idle',
    idleDriver: 'psci_idle',
    rtc: 'rtc-efi',
  },
};

describe.each(Object.entries(PROFILES))('host model on %s', (profile, want) => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await simHost(profile as SimProfileName);
  });
  afterAll(() => sim.dispose());

  it('reports the cpufreq driver, turbo and idle driver', async () => {
    const policies = await sim.host.cpufreq.policies();
    expect(new Set(policies.map((p) => p.driver))).toEqual(new Set([want.driver]));
    const turbo = await sim.host.cpufreq.turbo();
    expect(turbo.mechanism).toBe(want.turbo);
    expect(turbo.supported).toBe(want.turbo !== 'none');
    expect((await sim.host.cpuidle.info()).driver).toBe(want.idleDriver);
    expect((await sim.host.cpufreq.driverStatus())?.status).toBe(want.status);
    if (want.status === undefined) await expectCode(sim.host.cpufreq.setDriverStatus('active'), 'E_HOST_UNSUPPORTED');
  });

  it('reports RAPL domains with readable counters and constraints', async () => {
    const domains = await sim.host.rapl.domains();
    expect(domains.map((d) => d.key)).toEqual(want.rapl);
    for (const d of domains) {
      expect(d.maxEnergyRangeUj).toBe(262_143_328_850);
      expect(d.energyUj).toBeGreaterThanOrEqual(0);
      expect(d.constraints[0]?.name).toBe('long_term');
    }
  });

  it('reports thermal zones and hwmon chips in °C', async () => {
    const zones = await sim.host.thermal.zones();
    expect(zones.map((z) => z.type)).toEqual(want.zones);
    for (const z of zones) expect(z.tempC).toBeGreaterThan(20);
    const chips = await sim.host.thermal.hwmon();
    expect(chips.map((c) => c.name)).toEqual(want.hwmon);
    for (const t of chips.flatMap((c) => c.temps)) expect(t.value).toBeGreaterThan(20);
  });

  it('reports sleep states: S3 only with deep, S4 with disk', async () => {
    const sleep = await sim.host.sleep.states();
    expect([sleep.s3, sleep.s4, sleep.s2idle]).toEqual([want.s3, want.s4, true]);
    expect(sleep.memSleep?.selected).toBe(want.memSleep);
  });

  it('has an RTC without a pending alarm', async () => {
    expect(await sim.host.rtc.read()).toEqual({ device: 'rtc0', name: want.rtc, sinceEpoch: 1_700_000_000 });
  });
});
