/**
 * A real Prometheus server (Debian's `prometheus`) scrapes the exporter over HTTPS, trusting the
 * exporter's generated certificate as its CA and sending a bearer token from a file, and the
 * test queries `rate(vpmd_vm_energy_joules_total[...])` through Prometheus's HTTP API. Every
 * wait is for a condition (Prometheus ready, the target up, the rate near the VM's power).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { pollUntil } from '../../../testkit/index.js';
import { StandInEnergy, energyStandInPlugin, standInVms } from '../../support/energy-stand-in.js';
import { bootExporter, freePort, get, type Exporter } from './support.js';

interface QueryResult {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe('a real Prometheus server scraping vpmd', () => {
  let dir: string;
  let ex: Exporter;
  let prom: ChildProcess | undefined;
  let promUrl: string;
  let output = '';

  const query = async (q: string): Promise<QueryResult[]> => {
    const r = await get(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = JSON.parse(r.body) as { status: string; data?: { result: QueryResult[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? r.body}`);
    return body.data?.result ?? [];
  };
  const alive = (): void => {
    if (prom?.exitCode !== null && prom?.exitCode !== undefined)
      throw new Error(`prometheus exited with ${prom.exitCode}:\n${output.slice(-2000)}`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-prometheus-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'scrape-token-0123456789abcdef\n');
    await chmod(tokenFile, 0o600);
    ex = await bootExporter({
      extra: [energyStandInPlugin(new StandInEnergy(standInVms()))],
      section: { auth: { type: 'bearer', tokenFile } },
    });
    const port = new URL(ex.url).port;
    const config = {
      global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' },
      scrape_configs: [
        {
          job_name: 'vpmd',
          scheme: 'https',
          tls_config: { ca_file: ex.caFile },
          authorization: { type: 'Bearer', credentials_file: tokenFile },
          static_configs: [{ targets: [`127.0.0.1:${port}`] }],
        },
      ],
    };
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, stringify(config));
    const webPort = await freePort();
    promUrl = `http://127.0.0.1:${webPort}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    prom.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await pollUntil({
      peer: 'prometheus',
      what: 'GET /-/ready answers 200',
      timeoutMs: 60_000,
      intervalMs: 200,
      check: alive,
      output: () => output,
      probe: async () => ((await get(`${promUrl}/-/ready`)).status === 200 ? true : undefined),
    });
  }, 180_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom?.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await ex?.agent.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scrapes the target successfully over HTTPS with the bearer token', async () => {
    const up = await pollUntil({
      peer: 'prometheus',
      what: 'up{job="vpmd"} == 1',
      timeoutMs: 60_000,
      intervalMs: 500,
      check: alive,
      output: () => output,
      probe: async () => {
        const r = await query('up{job="vpmd"}');
        return r[0]?.value[1] === '1' ? r : undefined;
      },
    });
    expect(up).toHaveLength(1);
  });

  it("computes each VM's rate of energy near its power, labelled by domain UUID", async () => {
    // The stand-in's web-1 draws 12 W (RAPL) and 15 W (wall-scaled), db-1 4 W. The rate reads
    // low until the 10 s window holds enough samples: wait until both are within 10 %.
    const near = (r: QueryResult[], name: string, watts: number): boolean => {
      const v = Number(r.find((x) => x.metric.domain_name === name)?.value[1]);
      return v > watts * 0.9 && v < watts * 1.1;
    };
    const rates = await pollUntil({
      peer: 'prometheus',
      what: 'rate(vpmd_vm_energy_joules_total[10s]) within 10 % of web-1 and db-1 power',
      timeoutMs: 90_000,
      intervalMs: 500,
      check: alive,
      output: () => output,
      probe: async () => {
        const r = await query('rate(vpmd_vm_energy_joules_total{source="rapl"}[10s])');
        return near(r, 'web-1', 12) && near(r, 'db-1', 4) ? r : undefined;
      },
    });
    const web = rates.find((x) => x.metric.domain_name === 'web-1');
    const db = rates.find((x) => x.metric.domain_name === 'db-1');
    expect(web?.metric).toMatchObject({
      domain_uuid: '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01',
      source: 'rapl',
      model: 'rapl-cputime-freq-v1',
      job: 'vpmd',
    });
    expect(db?.metric.domain_uuid).toBe('0a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d');
    // The stopped VM's counter stands still: its rate is 0.
    const stopped = rates.find((x) => x.metric.domain_name === 'batch "x"');
    expect(Number(stopped?.value[1] ?? NaN)).toBeLessThan(1);
  });

  it('joins per-VM power with the _info metadata on domain_uuid (Nova project id)', async () => {
    // Waits for the first scrapes itself: the tests above may not have run first.
    const byProject = await pollUntil({
      peer: 'prometheus',
      what: 'per-VM power summed by Nova project id',
      timeoutMs: 60_000,
      intervalMs: 500,
      check: alive,
      output: () => output,
      probe: async () => {
        const r = await query(
          'sum by (nova_project_id) (vpmd_vm_power_watts{source="rapl"} * on (domain_uuid) group_left (nova_project_id) vpmd_vm_info)',
        );
        const sums: Record<string, number> = {};
        for (const x of r) sums[String(x.metric.nova_project_id)] = Number(x.value[1]);
        return r.length >= 2 ? sums : undefined;
      },
    });
    expect(byProject).toMatchObject({ b2d0c1f4e5a6478990abcdef12345678: 12, 'p-1': 4 });
  });
});
