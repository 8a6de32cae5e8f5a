/**
 * `vpmd doctor` on a simulated host tree (every facility found) and on an empty root (a VM-like
 * host: each facility missing, with why and the fix), with and without a configuration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSimulatedHost } from '../../core/sim/index.js';
import { formatDoctor, runDoctorChecks, type DoctorReport } from '../../app/doctor/doctor.js';
import { checkRealtime, threadPolicy } from '../../app/doctor/realtime-check.js';
import { parseConfigText } from '../../core/config/load-config.js';

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

  describe('realtime (virtio-channels and DPDK’s 10 ms)', () => {
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const c of children) c.kill('SIGKILL');
    });
    /** A config with virtio-channels at `priority`, and a state directory whose lock names `pid`. */
    const setUp = async (name: string, priority: number, pid?: number): Promise<string> => {
      const state = join(dir, name);
      await mkdir(state, { recursive: true });
      if (pid !== undefined)
        await writeFile(join(state, 'vpmd.lock'), JSON.stringify({ pid, startedAt: new Date().toISOString() }));
      const file = join(dir, `${name}.yaml`);
      await writeFile(
        file,
        [
          `host: { root: ${join(dir, 'sim')} }`,
          `control: { socket: ${join(dir, 'run', `${name}.sock`)} }`,
          `state: { dir: ${state} }`,
          `plugins: { virtio-channels: { schedFifoPriority: ${priority} } }`,
        ].join('\n'),
      );
      return file;
    };
    /** A process standing in for the agent, started with `argv` (e.g. under chrt). */
    const running = async (argv: string[]): Promise<number> => {
      const c = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
      children.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('spawn', resolve);
        c.once('error', reject);
      });
      // chrt execs sleep: wait until the policy is in place, not for a fixed time.
      for (let i = 0; i < 200 && (await threadPolicy(c.pid as number)) === undefined; i++)
        await new Promise((r) => setTimeout(r, 10));
      return c.pid as number;
    };

    it('says an ordinary loop may miss the 10 ms, without failing a configuration that asks nothing', async () => {
      const r = await runDoctorChecks({ config: await setUp('rt-default', 0) });
      const row = byId(r, 'realtime');
      expect(row).toMatchObject({ status: 'degraded', neededBy: ['plugins.virtio-channels'] });
      expect(row?.why).toMatch(/10 ms/);
      expect(row?.fix).toMatch(/schedFifoPriority: 10 .*realtime\.conf/);
      expect(r.missing).not.toContain('realtime');
      // Without virtio-channels nothing needs it, and there is no row.
      const off = await runDoctorChecks({ root: join(dir, 'sim') });
      expect(byId(off, 'realtime')).toBeUndefined();
    });

    it('fails when schedFifoPriority is set but the running agent’s loop is an ordinary task', async () => {
      const pid = await running(['sleep', '60']);
      const r = await runDoctorChecks({ config: await setUp('rt-refused', 10, pid) });
      expect(byId(r, 'realtime')).toMatchObject({
        status: 'no',
        found: expect.stringContaining(`pid ${pid}) is an ordinary task`),
        fix: expect.stringMatching(/RestrictRealtime=yes/),
      });
      expect(r.missing).toContain('realtime');
    });

    it('is yes when the running agent’s loop is under SCHED_FIFO (needs CAP_SYS_NICE, as the option does)', async () => {
      const pid = await running(['chrt', '-f', '3', 'sleep', '60']);
      await expect.poll(async () => (await threadPolicy(pid))?.policy).toBe(1);
      const r = await runDoctorChecks({ config: await setUp('rt-held', 10, pid) });
      expect(byId(r, 'realtime')).toMatchObject({ status: 'yes', found: expect.stringMatching(/SCHED_FIFO 3$/) });
      expect(r.missing).not.toContain('realtime');
    });

    it('without a running agent, goes by whether the drop-in is installed', async () => {
      const config = parseConfigText(
        `state: { dir: ${join(dir, 'rt-none')} }\nplugins: { virtio-channels: { schedFifoPriority: 10 } }`,
      ).config;
      expect(await checkRealtime(config, join(dir, 'absent.conf'))).toMatchObject({
        status: 'degraded',
        found: expect.stringMatching(/not installed/),
      });
      await writeFile(join(dir, 'realtime.conf'), '[Service]\n');
      expect(await checkRealtime(config, join(dir, 'realtime.conf'))).toMatchObject({ status: 'yes' });
    });
  });
});
