/** Idle states: reading per CPU and enabling/disabling. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, simHost, type SimFixture } from '../sim/sim-fixture.js';

let intel: SimFixture;
let arm: SimFixture;
beforeAll(async () => {
  [intel, arm] = await Promise.all([simHost('intel-cpufreq-passive-16'), simHost('arm-cppc-8')]);
});
afterAll(() => Promise.all([intel.dispose(), arm.dispose()]));

describe('cpuidle', () => {
  it('reads the driver and the Intel states with latencies in µs', async () => {
    expect(await intel.host.cpuidle.info()).toEqual({ driver: 'intel_idle', governor: 'menu' });
    const states = await intel.host.cpuidle.states(3);
    expect(states.map((s) => [s.name, s.latencyUs, s.residencyUs, s.disabled])).toEqual([
      ['POLL', 0, 0, false],
      ['C1', 2, 2, false],
      ['C1E', 10, 20, false],
      ['C6', 133, 600, false],
    ]);
    expect(states[3]?.usage).toBeGreaterThan(0);
    expect(states[3]?.desc).toBe('MWAIT 0x20');
  });

  it('reads several CPUs in one batch', async () => {
    const all = await intel.host.cpuidle.statesOf([0, 15]);
    expect(all.map((c) => [c.cpu, c.states.length])).toEqual([
      [0, 4],
      [15, 4],
    ]);
    expect((await arm.host.cpuidle.states(7)).map((s) => s.name)).toEqual(['WFI', 'cpu-sleep']);
    expect(await arm.host.cpuidle.info()).toEqual({ driver: 'psci_idle', governor: 'menu' });
  });

  it('disables and re-enables a state by name or index, per CPU', async () => {
    await intel.host.cpuidle.setStateDisabled(5, 'C6', true);
    expect((await intel.host.cpuidle.states(5))[3]?.disabled).toBe(true);
    expect((await intel.host.cpuidle.states(6))[3]?.disabled).toBe(false);
    expect(await intel.disk('sys/devices/system/cpu/cpu5/cpuidle/state3/disable')).toBe('1');
    await intel.host.cpuidle.setStateDisabled(5, 3, false);
    expect((await intel.host.cpuidle.states(5))[3]?.disabled).toBe(false);
  });

  it('names the existing states when one is unknown', async () => {
    const err = await expectCode(intel.host.cpuidle.setStateDisabled(0, 'C10', true), 'E_HOST_NOT_FOUND');
    expect(err.message).toContain('0=POLL 1=C1 2=C1E 3=C6');
    const none = await expectCode(intel.host.cpuidle.setStateDisabled(99, 0, true), 'E_HOST_NOT_FOUND');
    expect(none.message).toContain('none');
  });
});
