/** Pools made of the pCPUs of the VMs of a latency class (domains@1), following re-pins. */
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainInfo, Domains } from '../../../core/contracts/domains.js';
import { profilesFixture, type Fixture } from './profiles-fixture.js';

const CPU = 'sys/devices/system/cpu';

function vm(name: string, latencyClass: string | undefined, pins: number[][]): DomainInfo {
  return {
    uuid: `00000000-0000-0000-0000-${name.padStart(12, '0')}`,
    name,
    state: 'running',
    startedAt: 0,
    metadata: latencyClass === undefined ? {} : { latencyClass },
    vcpus: pins.map((p, index) => ({ index, threadId: 100 + index, pins: p, cpuTimeUs: 0, state: 'running' })),
    emulator: { threadIds: [], pins: [0], cpuTimeUs: 0 },
    sampledAt: 0,
  };
}

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.dispose();
  fx = undefined;
});

describe('latency-class pools', () => {
  it('take the pCPUs of the VMs of the class, and follow a re-pin', async () => {
    let domains: DomainInfo[] = [
      vm('rt1', 'realtime', [[2], [3]]),
      vm('rt2', 'realtime', [[6]]),
      vm('web', 'interactive', [[4]]),
      vm('plain', undefined, [[5]]),
    ];
    const provider: Domains = {
      list: () => Promise.resolve(domains),
      get: (n) => Promise.resolve(domains.find((d) => d.name === n || d.uuid === n)),
    };
    fx = await profilesFixture(
      {
        profiles: { lc: { resumeLatencyUs: 10 } },
        pools: [{ name: 'realtime', latencyClass: 'realtime', profile: 'lc' }],
      },
      { domains: provider },
    );
    await fx.engine.start();
    expect(fx.engine.pools()[0]?.cpus).toEqual([2, 3, 6]);
    for (const c of [2, 3, 6]) expect(await fx.kernel.read(`${CPU}/cpu${c}/power/pm_qos_resume_latency_us`)).toBe('10');
    expect(await fx.kernel.read(`${CPU}/cpu4/power/pm_qos_resume_latency_us`)).toBe('0');
    // rt2 moves from pCPU 6 to 7: 6 goes back to what was found.
    domains = [...domains.filter((d) => d.name !== 'rt2'), vm('rt2', 'realtime', [[7]])];
    await fx.engine.reapply('domain rt2 repinned');
    expect(fx.engine.pools()[0]?.cpus).toEqual([2, 3, 7]);
    expect(await fx.kernel.read(`${CPU}/cpu6/power/pm_qos_resume_latency_us`)).toBe('0');
    expect(await fx.kernel.read(`${CPU}/cpu7/power/pm_qos_resume_latency_us`)).toBe('10');
  });

  it('refuses a latency-class pool without a domains@1 provider', async () => {
    fx = await profilesFixture({
      profiles: { lc: { resumeLatencyUs: 10 } },
      pools: [{ name: 'realtime', latencyClass: 'realtime', profile: 'lc' }],
    });
    await expect(fx.engine.start()).rejects.toThrow(/latencyClass needs domains@1/);
  });
});
