/**
 * /metrics scrape with 500 VMs (issue #15: under 50 ms). The real agent on a simulated host,
 * the prometheus plugin over HTTPS, and an energy@1 stand-in with N VMs (each with a wall
 * figure and Nova ids). Measured in the same run:
 *
 * - `exporter`: GET /metrics over one kept-alive HTTPS connection with Prometheus's Accept
 *   header (OpenMetrics), end to end: the collectors, the serialisation, TLS and HTTP.
 * - `floor`: a bare `node:https` server answering the same bytes (no work): Node's TLS and HTTP.
 * - `collect`: the exporter's scrape in process (collectors + OpenMetrics text), no HTTP.
 * - `join`: a bare template-literal join of the same per-VM lines (no escaping, no families,
 *   no duplicate check): the floor of producing that text in Node.
 *
 * Replies past Prometheus's default scrape_timeout (10 s), or not 200, count as failures.
 * Prints one JSON summary with p50/p99/p99.9/max, the ratios, and whether the goal holds.
 *
 * Usage: flock /tmp/vpmd-bench.lock npx tsx bench/metrics-scrape/run.ts [--vms 500] [--scrapes 400]
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { Agent as HttpsAgent, request } from 'node:https';
import { join } from 'node:path';
import { bootAgent } from '../../testkit/index.js';
import prometheus from '../../plugins/prometheus/index.js';
import { scrape } from '../../plugins/prometheus/collectors/scrape.js';
import { StandInEnergy, energyStandInPlugin, type StandInVm } from '../../test/support/energy-stand-in.js';
import { freePort } from '../../test/plugins/redfish/support.js';
import { numberOption } from '../options.js';

const opt = numberOption;
const VMS = opt('vms', 500);
const SCRAPES = opt('scrapes', 400);
const WARMUP = Math.max(20, Math.round(SCRAPES / 10));
const GOAL_MS = 50;
const SCRAPE_TIMEOUT_MS = 10_000;
const ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function vms(n: number): StandInVm[] {
  return Array.from({ length: n }, (_, i) => {
    const hex = i.toString(16).padStart(12, '0');
    const uuid = `6f1c9a8e-27d4-4b0e-9d55-${hex}`;
    return {
      uuid,
      name: `instance-${i.toString(16).padStart(8, '0')}`,
      watts: 1 + (i % 40),
      wallWatts: 1.3 + (i % 40),
      novaInstanceId: uuid,
      novaProjectId: `project-${i % 25}`,
    };
  });
}

interface Stats {
  readonly n: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly maxms: number;
  readonly failures: number;
}

function stats(samplesMs: number[], failures = 0): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    n: s.length,
    p50ms: r(at(0.5)),
    p99ms: r(at(0.99)),
    p999ms: r(at(0.999)),
    maxms: r(s.at(-1) ?? NaN),
    failures,
  };
}

/** GETs `url` `count` times on one kept-alive connection; latencies in ms and failures. */
async function hammer(
  url: string,
  ca: string,
  count: number,
): Promise<{ ms: number[]; failures: number; bytes: number }> {
  const agent = new HttpsAgent({ ca, keepAlive: true, maxSockets: 1 });
  const ms: number[] = [];
  let failures = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(url, { agent, headers: { Accept: ACCEPT }, timeout: SCRAPE_TIMEOUT_MS }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => {
          bytes = n;
          resolve(res.statusCode === 200);
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!ok || elapsed > SCRAPE_TIMEOUT_MS) failures++;
    else ms.push(elapsed);
  }
  agent.destroy();
  return { ms, failures, bytes };
}

/** Times `fn` `count` times (after a warm-up), in ms. */
async function time(count: number, fn: () => unknown): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/** The same per-VM lines as a bare join: what producing the text costs at the least. */
function bareJoin(energy: StandInEnergy): string {
  const lines: string[] = [];
  for (const v of energy.vms()) {
    const id = `domain_uuid="${v.uuid}",domain_name="${v.name}"`;
    lines.push(`vpmd_vm_energy_joules_total{${id},source="rapl",model="${v.rapl.model}"} ${v.rapl.joules}`);
    lines.push(`vpmd_vm_power_watts{${id},source="rapl",model="${v.rapl.model}"} ${v.rapl.watts}`);
    if (v.wall) {
      lines.push(`vpmd_vm_energy_joules_total{${id},source="wall",model="${v.wall.model}"} ${v.wall.joules}`);
      lines.push(`vpmd_vm_power_watts{${id},source="wall",model="${v.wall.model}"} ${v.wall.watts}`);
    }
    for (const [zone, j] of Object.entries(v.zones))
      lines.push(`vpmd_vm_zone_energy_joules_total{domain_uuid="${v.uuid}",zone="${zone}"} ${j}`);
    lines.push(
      `vpmd_vm_info{${id},nova_instance_id="${v.novaInstanceId ?? ''}",nova_project_id="${v.novaProjectId ?? ''}"} 1`,
    );
    lines.push(`vpmd_vm_running{domain_uuid="${v.uuid}"} ${v.running ? 1 : 0}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const energy = new StandInEnergy(vms(VMS));
  const port = await freePort();
  const booted = await bootAgent({
    plugins: [energyStandInPlugin(energy), prometheus],
    sections: { prometheus: { port } },
    logLevel: 'error',
  });
  try {
    const ca = await readFile(join(booted.dir, 'state', 'plugins', 'prometheus', 'tls', 'cert.pem'), 'utf8');
    const key = await readFile(join(booted.dir, 'state', 'plugins', 'prometheus', 'tls', 'key.pem'), 'utf8');
    const url = `https://127.0.0.1:${port}/metrics`;
    await hammer(url, ca, WARMUP);
    const exporter = await hammer(url, ca, SCRAPES);

    // The floor: the same bytes from a server that does nothing else.
    const body = await new Promise<string>((resolve, reject) => {
      request(url, { ca, headers: { Accept: ACCEPT } }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      })
        .on('error', reject)
        .end();
    });
    const floorServer = createServer(
      { cert: ca, key, minVersion: 'TLSv1.2', keepAliveTimeout: 30_000 },
      (_req, res) => {
        res.writeHead(200, {
          'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
          'Content-Length': String(Buffer.byteLength(body)),
        });
        res.end(body);
      },
    );
    const floorPort = await freePort();
    await new Promise<void>((r) => floorServer.listen(floorPort, '127.0.0.1', r));
    const floorUrl = `https://127.0.0.1:${floorPort}/metrics`;
    await hammer(floorUrl, ca, WARMUP);
    const floor = await hammer(floorUrl, ca, SCRAPES);
    await new Promise<void>((r) => floorServer.close(() => r()));

    // In process: the exporter's collectors and serialisation, against a bare join.
    const src = {
      metrics: () => [],
      energy: () => energy,
      guests: () => undefined,
      plugins: () => undefined,
      versions: { agent: 'bench', exporter: 'bench' },
      onCollectorError: () => undefined,
    };
    const collect = await time(SCRAPES, () => scrape(src, 'openmetrics'));
    const joined = await time(SCRAPES, () => bareJoin(energy));

    const s = {
      exporter: stats(exporter.ms, exporter.failures),
      floor: stats(floor.ms, floor.failures),
      collect: stats(collect),
      join: stats(joined),
    };
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    const summary = {
      bench: 'metrics-scrape',
      vms: VMS,
      scrapes: SCRAPES,
      bodyBytes: exporter.bytes,
      samples: body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
      ...s,
      ratios: {
        exporterVsFloorP50: ratio(s.exporter.p50ms, s.floor.p50ms),
        exporterVsFloorP99: ratio(s.exporter.p99ms, s.floor.p99ms),
        collectVsJoinP50: ratio(s.collect.p50ms, s.join.p50ms),
        collectVsJoinP99: ratio(s.collect.p99ms, s.join.p99ms),
      },
      goal: {
        maxMs: GOAL_MS,
        met: s.exporter.failures === 0 && s.exporter.maxms < GOAL_MS,
        metAtP999: s.exporter.failures === 0 && s.exporter.p999ms < GOAL_MS,
      },
      settings: { scrapeTimeoutMs: SCRAPE_TIMEOUT_MS, warmup: WARMUP, connection: 'one kept-alive HTTPS connection' },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await booted.stop();
  }
}

await main();
