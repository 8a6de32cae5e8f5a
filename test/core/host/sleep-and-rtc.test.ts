/** Sleep states and the RTC wake alarm. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealSysfs, createHostModel, parseSleepChoice } from '../../../core/host/index.js';
import { expectCode, simHost, T0, type SimFixture } from '../sim/sim-fixture.js';

let sim: SimFixture | undefined;
afterEach(async () => {
  await sim?.dispose();
  sim = undefined;
});

describe('sleep states', () => {
  it('parses bracketed choice lists', () => {
    expect(parseSleepChoice('s2idle [deep]')).toEqual({ options: ['s2idle', 'deep'], selected: 'deep' });
    expect(parseSleepChoice('[s2idle]')).toEqual({ options: ['s2idle'], selected: 's2idle' });
    expect(parseSleepChoice('')).toEqual({ options: [] });
  });

  it('reads the full picture and selects mem_sleep and disk modes', async () => {
    sim = await simHost('intel-acpi-cpufreq-8');
    expect(await sim.host.sleep.states()).toEqual({
      states: ['freeze', 'mem', 'disk'],
      memSleep: { options: ['s2idle', 'deep'], selected: 'deep' },
      disk: { options: ['platform', 'shutdown', 'reboot', 'suspend', 'test_resume'], selected: 'platform' },
      s3: true,
      s4: true,
      s2idle: true,
    });
    expect(await sim.host.sleep.setMemSleep('s2idle')).toEqual({ options: ['s2idle', 'deep'], selected: 's2idle' });
    expect(await sim.disk('sys/power/mem_sleep')).toBe('[s2idle] deep');
    expect((await sim.host.sleep.states()).s3).toBe(true); // deep is still available
    await sim.host.sleep.setDiskMode('shutdown');
    expect(await sim.disk('sys/power/disk')).toBe('platform [shutdown] reboot suspend test_resume');
    const err = await expectCode(sim.host.sleep.setMemSleep('shallow'), 'E_HOST_INVALID');
    expect(err.message).toContain('options: s2idle deep');
  });

  it('sees no S3 with mem but only s2idle, and nothing on an empty state file (a VM)', async () => {
    sim = await simHost('arm-cppc-8');
    expect(await sim.host.sleep.states()).toMatchObject({
      states: ['freeze', 'mem'],
      s3: false,
      s4: false,
      s2idle: true,
    });
    await expectCode(sim.host.sleep.setDiskMode('platform'), 'E_HOST_UNSUPPORTED');
    await rm(join(sim.dir, 'sys/power/mem_sleep'));
    await rm(join(sim.dir, 'sys/power/state'));
    const vm = await createHostModel(new RealSysfs(sim.dir)).sleep.states();
    expect(vm).toEqual({ states: [], s3: false, s4: false, s2idle: false });
  });
});

describe('RTC wake alarm', () => {
  it('sets, replaces and clears the alarm', async () => {
    sim = await simHost('intel-pstate-hwp-32');
    const at = T0 / 1000 + 3600;
    expect(await sim.host.rtc.setWakeAlarm(at)).toMatchObject({ wakeAlarm: at, sinceEpoch: T0 / 1000 });
    expect(await sim.disk('sys/class/rtc/rtc0/wakealarm')).toBe(String(at));
    // A second alarm needs the kernel's "write 0 first": setWakeAlarm does it.
    await sim.host.rtc.setWakeAlarm(at + 60);
    expect((await sim.host.rtc.read()).wakeAlarm).toBe(at + 60);
    await sim.host.rtc.clearWakeAlarm();
    expect((await sim.host.rtc.read()).wakeAlarm).toBeUndefined();
  });

  it('refuses a time that is not in the future', async () => {
    sim = await simHost('arm-cppc-8');
    const err = await expectCode(sim.host.rtc.setWakeAlarm(T0 / 1000 - 1), 'E_HOST_INVALID');
    expect(err.message).toContain(String(T0 / 1000));
    await expectCode(sim.host.rtc.setWakeAlarm(Number.NaN), 'E_HOST_INVALID');
  });

  it('reports an alarm that has fired as gone', async () => {
    sim = await simHost('arm-cppc-8');
    await sim.host.rtc.setWakeAlarm(T0 / 1000 + 10);
    sim.kernel.advance(11_000);
    expect((await sim.host.rtc.read()).wakeAlarm).toBeUndefined();
  });

  it('is unsupported without an RTC', async () => {
    sim = await simHost('arm-cppc-8');
    await rm(join(sim.dir, 'sys/class/rtc'), { recursive: true });
    const host = createHostModel(new RealSysfs(sim.dir));
    const err = await expectCode(host.rtc.read(), 'E_HOST_UNSUPPORTED');
    expect(err.message).toContain('rtc0');
    await expectCode(host.rtc.setWakeAlarm(T0 / 1000 + 60), 'E_HOST_UNSUPPORTED');
  });
});
