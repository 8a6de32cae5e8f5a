/**
 * The agent on this machine's own `/`. CI runs on a VM without cpufreq, RAPL, thermal zones or
 * logind: the agent must start there, and `host summary` and `capabilities` must answer and say
 * what is missing. On a machine that has a facility, the test checks it is reported instead.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS } from '../../../app/builtin-plugins.js';
import type { HostSummary } from '../../../core/commands/host-summary.js';
import { bootOnTree, type TreeAgent } from './boot-on-tree.js';

const has = (dir: string, pattern: RegExp): boolean => existsSync(dir) && readdirSync(dir).some((n) => pattern.test(n));

let agent: TreeAgent;

beforeAll(async () => {
  const caps = BUILTIN_PLUGINS.filter((s) => (s.manifest as { name?: unknown }).name === 'libvirt-caps');
  agent = await bootOnTree('/', undefined, { sources: caps, sections: { 'libvirt-caps': {} } });
}, 60_000);

afterAll(async () => {
  await agent.stop();
});

describe("the agent on this machine's /", () => {
  it('answers host summary and names each facility the machine lacks', async () => {
    const s = await agent.json<HostSummary>(['host', 'summary']);
    expect(s.cpusOnline).toBeGreaterThan(0);
    const cpufreq = has('/sys/devices/system/cpu/cpufreq', /^policy\d+$/);
    expect(s.policies > 0).toBe(cpufreq);
    expect(s.lacks.some((l) => l.startsWith('cpufreq:'))).toBe(!cpufreq);
    const rapl = has('/sys/class/powercap', /rapl.*:\d/);
    expect(s.raplZones > 0).toBe(rapl);
    expect(s.lacks.some((l) => l.startsWith('RAPL:'))).toBe(!rapl);
    const thermal = has('/sys/class/thermal', /^thermal_zone\d+$/);
    expect(s.lacks.some((l) => l.startsWith('thermal zones:'))).toBe(!thermal);
  });

  it('answers capabilities with the power document', async () => {
    const r = await agent.json<{ power: Record<string, unknown> }>(['capabilities', '--power']);
    expect(r.power).toBeTypeOf('object');
  });
});
