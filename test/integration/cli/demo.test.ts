import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get } from '../../plugins/prometheus/support.js';
import { runCli, startCli, VPMCTL, VPMD } from '../../support/built-cli.js';
import { SIM_PROFILES } from '../../../core/sim/index.js';
import { bootAgent, pollUntil } from '../../../testkit/index.js';

describe('vpmd --demo', () => {
  it('runs on a fresh simulated host, prints how to reach it, and cleans up on Ctrl-C', async () => {
    const demo = startCli(VPMD, ['--demo']);
    await demo.waitFor(/Ctrl-C stops the agent/);
    const socket = /export VPMD_SOCKET=(\S+)/.exec(demo.output())?.[1] as string;
    const dir = /directory\s+(\S+)/.exec(demo.output())?.[1] as string;
    expect(demo.output()).toContain('energy-report running');
    const st = await runCli(VPMCTL, ['status'], { env: { VPMD_SOCKET: socket } });
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/energy-report\s+1\.0\.0\s+running/);
    const sum = await runCli(VPMCTL, ['host', 'summary'], { env: { VPMD_SOCKET: socket } });
    expect(sum.stdout).toMatch(/Suspend to RAM:\s+S3/);
    // The demo's VMs burn simulated CPU: per-VM energy appears after two samples.
    const energy = await pollUntil({
      peer: 'vpmd --demo',
      what: 'per-VM energy of the three demo VMs',
      timeoutMs: 30_000,
      intervalMs: 500,
      probe: async () => {
        const r = await runCli(VPMCTL, ['vm', 'energy', '--json'], { env: { VPMD_SOCKET: socket } });
        const vms =
          r.code === 0 ? (JSON.parse(r.stdout) as { vms: { name: string; rapl: { joules: number } }[] }).vms : [];
        return vms.length === 3 && vms.every((v) => v.rapl.joules > 0) ? vms : undefined;
      },
    });
    expect(energy.map((v) => v.name).sort()).toEqual(['batch-1', 'db-1', 'web-1']);
    // The banner's curl line works as printed: its CA file verifies the exporter's certificate.
    const curl = /curl -s --cacert (\S+) (https:\/\/\S+\/metrics)/.exec(demo.output());
    expect(curl).not.toBeNull();
    const metrics = await get((curl as RegExpExecArray)[2] as string, {
      ca: await readFile((curl as RegExpExecArray)[1] as string, 'utf8'),
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('vpmd_plugin_up{plugin="prometheus"} 1');
    // The energy plugin's per-VM counters reach the exporter, labelled by domain UUID.
    expect(metrics.body).toMatch(
      /^vpmd_vm_energy_joules_total\{(?=[^}]*domain_uuid="[0-9a-f-]{36}")[^}]*domain_name="web-1"[^}]*\} [1-9]/m,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it('names the profiles when asked for one that does not exist', async () => {
    const r = await runCli(VPMD, ['--demo', '--profile', 'cray-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown profile 'cray-1'");
    expect(r.stderr).toContain('intel-pstate-hwp-32');
    const list = await runCli(VPMD, ['--list-profiles']);
    expect(list.stdout.trim().split('\n')).toHaveLength(SIM_PROFILES.length);
  });
});

describe('core commands on every simulated host profile', () => {
  it.each(SIM_PROFILES.map((p) => p.name))('%s: summary, cpufreq and telemetry work', async (profile) => {
    const agent = await bootAgent({ plugins: [], profile });
    try {
      const sum = await agent.json<{ cpusOnline: number; cpufreqDriver: string | null; turbo: { supported: boolean } }>(
        ['host', 'summary'],
      );
      expect(sum.cpusOnline).toBeGreaterThanOrEqual(8);
      expect(sum.cpusOnline).toBeLessThanOrEqual(64);
      const pol = await agent.json<{ driver: string }[]>(['host', 'cpufreq']);
      expect(pol.length).toBeGreaterThan(0);
      expect(pol[0]?.driver).toBe(sum.cpufreqDriver);
      const metrics = await agent.json<{ id: string; kind: string }[]>(['telemetry', 'list']);
      expect(metrics.some((m) => m.kind === 'frequency')).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});
