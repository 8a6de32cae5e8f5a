/**
 * `vpmd doctor` on a simulated host tree (every facility found) and on an empty root (a VM-like
 * host: each facility missing, with why and the fix), with and without a configuration.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatedHost } from '../../core/sim/index.js';
import { formatDoctor, runDoctorChecks, type DoctorReport } from '../../app/doctor/doctor.js';

let dir: string;
const byId = (r: DoctorReport, id: string) => r.facilities.find((f) => f.id === id);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-doctor-'));
  await generateSimulatedHost(join(dir, 'sim'), { profile: 'intel-pstate-hwp-32' });
  await writeFile(
    join(dir, 'vpmd.yaml'),
    [
      'host:',
      `  root: ${join(dir, 'empty')}`,
      'control:',
      `  socket: ${join(dir, 'run', 'control.sock')}`,
      'state:',
      `  dir: ${join(dir, 'state')}`,
      'plugins:',
      '  virtio-channels: {}',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vpmd doctor', () => {
  it('finds every facility of a host tree that has them, and needs nothing without a configuration', async () => {
    const r = await runDoctorChecks({ root: join(dir, 'sim'), config: join(dir, 'absent.yaml') });
    expect(r.configProblems[0]).toMatch(/absent\.yaml: cannot read configuration \(ENOENT\)/);
    const none = await runDoctorChecks({ root: join(dir, 'sim') });
    expect(byId(none, 'cpufreq')).toMatchObject({ status: 'yes', found: expect.stringMatching(/intel_pstate/) });
    expect(byId(none, 'epp')?.status).toBe('yes');
    expect(byId(none, 'rapl-read')?.found).toMatch(/zone\(s\)/);
    expect(byId(none, 'thermal')?.status).toBe('yes');
    expect(none.facilities.every((f) => f.neededBy.length === 0)).toBe(true);
  });

  it('says why each facility of an empty root is missing and how to get it; exit status follows the config', async () => {
    const r = await runDoctorChecks({ config: join(dir, 'vpmd.yaml') });
    expect(r.hostRoot).toBe(join(dir, 'empty'));
    const cpufreq = byId(r, 'cpufreq');
    expect(cpufreq).toMatchObject({ status: 'no', neededBy: ['plugins.virtio-channels'] });
    expect(cpufreq?.why).toMatch(/no frequency-scaling driver/);
    expect(cpufreq?.fix).toMatch(/BIOS/);
    expect(byId(r, 'rapl-read')).toMatchObject({ status: 'no', fix: expect.stringMatching(/intel_rapl_msr/) });
    expect(byId(r, 'state')).toMatchObject({ status: 'yes', neededBy: ['core'] });
    expect(r.missing).toContain('cpufreq');
    const text = formatDoctor(r);
    expect(text).toMatch(/^ cpufreq\s+no\s+plugins\.virtio-channels\s+no cpufreq\/policyN/m);
    expect(text).toMatch(/^cpufreq \(no\):\n {2}why: .*\n {2}fix: /m);
    expect(text).toMatch(/Missing what the configuration needs: cpufreq/);
  });
});
