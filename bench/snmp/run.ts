/**
 * bench:snmp — snmpbulkwalk (SNMPv3 authPriv SHA-256/AES, -Cr50) of our agent against a private
 * Debian snmpd serving a similar number of OIDs, in the same run; then our agent at 10,000 and
 * 40,000 OIDs to show linear growth. Our agent runs the plugin's own engine, index and MIB
 * sources (ENTITY-MIB + ENTITY-SENSOR-MIB rows for synthetic telemetry metrics).
 * Prints one JSON summary. Usage: npm run bench:snmp [-- --runs N]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { StateStore } from '../../core/state/index.js';
import type { MetricSnapshot } from '../../core/contracts/telemetry.js';
import { AgentServer } from '../../plugins/snmp/agent/agent-server.js';
import { MibCache } from '../../plugins/snmp/mib/mib-index.js';
import { EntityIndexes, entPhysicalSource, entSensorSource } from '../../plugins/snmp/mib/mibs/entities.js';
import { localizeKey } from '../../plugins/snmp/codec/usm-crypto.js';
import { UsmEngine } from '../../plugins/snmp/engine/usm-engine.js';
import { generateEngineId } from '../../plugins/snmp/engine/agent-identity.js';

const AUTH = 'bench-auth-pass';
const PRIV = 'bench-priv-pass';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const dir = mkdtempSync(join(tmpdir(), 'vpmd-bench-snmp-'));
mkdirSync(join(dir, 'tools', 'cert_indexes'), { recursive: true });
const toolEnv = {
  PATH: process.env.PATH ?? '',
  MIBS: '',
  HOME: dir,
  SNMPCONFPATH: '/nonexistent',
  SNMP_PERSISTENT_DIR: join(dir, 'tools'),
};

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** One snmpbulkwalk; returns wall ms and the number of OIDs returned. */
function walk(port: number): Promise<{ ms: number; oids: number }> {
  const args = [
    '-v3',
    '-l',
    'authPriv',
    '-u',
    'bench',
    '-a',
    'SHA-256',
    '-A',
    AUTH,
    '-x',
    'AES',
    '-X',
    PRIV,
    '-On',
    '-Cr50',
    '-t',
    '5',
    '-r',
    '0',
    `127.0.0.1:${port}`,
    '1.3.6.1',
  ];
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile('snmpbulkwalk', args, { env: toolEnv, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (err) return reject(new Error(`snmpbulkwalk failed: ${stderr || err.message}`));
      const oids = stdout.split('\n').filter((l) => l.startsWith('.')).length;
      resolve({ ms, oids });
    });
  });
}

function summary(samples: number[], oids: number): { medianMs: number; oids: number; samplesMs: number[] } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] as number, oids, samplesMs: samples };
}

/** Walks each port in turn, RUNS times, so machine noise hits both sides alike. */
async function measure(...ports: number[]): Promise<{ medianMs: number; oids: number; samplesMs: number[] }[]> {
  for (const p of ports) await walk(p); // warm-up: engine discovery, JIT, MIB snapshot
  const samples = ports.map(() => [] as number[]);
  const oids = ports.map(() => 0);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, p] of ports.entries()) {
      const r = await walk(p);
      samples[k]?.push(Math.round(r.ms * 10) / 10);
      oids[k] = r.oids;
    }
  }
  return ports.map((_, k) => summary(samples[k] ?? [], oids[k] ?? 0));
}

async function startSnmpd(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const d = join(dir, 'snmpd');
  mkdirSync(join(d, 'persist'), { recursive: true });
  // A view of about 1,200 instances (the count depends on the machine; ours is sized to match).
  const view = [
    '.1.3.6.1.2.1.1',
    '.1.3.6.1.2.1.2',
    '.1.3.6.1.2.1.4',
    '.1.3.6.1.2.1.31',
    '.1.3.6.1.2.1.25.2',
    '.1.3.6.1.2.1.25.3',
    '.1.3.6.1.4.1.2021',
    '.1.3.6.1.6.3',
  ];
  writeFileSync(
    join(d, 'snmpd.conf'),
    [
      `agentAddress udp:127.0.0.1:${port}`,
      `createUser bench SHA-256 ${AUTH} AES ${PRIV}`,
      ...view.map((v) => `view benchv included ${v}`),
      'rouser bench priv -V benchv',
      '',
    ].join('\n'),
  );
  // No logging: -Lo writes a line per request and would block on a full pipe.
  const proc = spawn(
    'snmpd',
    ['-f', '-Lf', '/dev/null', '-C', '-c', join(d, 'snmpd.conf'), '-p', join(d, 'snmpd.pid')],
    {
      env: { ...toolEnv, SNMP_PERSISTENT_DIR: join(d, 'persist') },
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      await walkOnce(port);
      return { port, proc };
    } catch {
      /* not ready yet */
    }
  }
  proc.kill();
  throw new Error('snmpd did not start');
}

function walkOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'snmpget',
      [
        '-v3',
        '-l',
        'authPriv',
        '-u',
        'bench',
        '-a',
        'SHA-256',
        '-A',
        AUTH,
        '-x',
        'AES',
        '-X',
        PRIV,
        '-t',
        '0.3',
        '-r',
        '0',
        `127.0.0.1:${port}`,
        '1.3.6.1.2.1.1.1.0',
      ],
      { env: toolEnv },
      (e) => (e ? reject(e) : resolve()),
    ),
  );
}

/** Synthetic metrics: each gives 10 entPhysicalTable + 8 entPhySensorTable instances. */
function metrics(n: number): MetricSnapshot[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `bench/target-${Math.floor(i / 50)}/sensor-${i}`,
    name: `bench sensor ${i}`,
    kind: i % 2 ? 'power' : 'temperature',
    unit: i % 2 ? 'W' : 'Cel',
    source: { plugin: 'bench', target: `target-${Math.floor(i / 50)}`, sensor: String(i) },
    latest: { value: 20 + (i % 50), status: 'ok', timestamp: now },
  }));
}

async function startOurs(oids: number): Promise<{ port: number; server: AgentServer }> {
  const engineId = generateEngineId();
  const user = {
    name: 'bench',
    auth: 'sha256' as const,
    priv: 'aes' as const,
    access: 'ro' as const,
    authKey: localizeKey('sha256', AUTH, engineId),
    privKey: localizeKey('sha256', PRIV, engineId),
  };
  const engine = new UsmEngine({
    engineId,
    boots: 1,
    startedAt: Date.now(),
    users: () => new Map([['bench', user]]),
    minLevel: 'authPriv',
  });
  const state = new StateStore(mkdtempSync(join(dir, 'state-')));
  const indexes = new EntityIndexes(state);
  const list = metrics(Math.round(oids / 18));
  const inputs = {
    hostName: 'bench',
    cpus: async () => [],
    metrics: () => list,
    targets: () => [],
    indexes,
    ticksAt: () => 0,
  };
  const sources = [entPhysicalSource(inputs), entSensorSource(inputs)];
  const mib = new MibCache(
    () => sources,
    1000,
    () => undefined,
  );
  const port = await freePort();
  const server = new AgentServer({
    engine,
    mib,
    address: '127.0.0.1',
    port,
    allowed: () => true,
    log: pino({ level: 'silent' }),
    audit: () => undefined,
  });
  await server.start();
  return { port, server };
}

async function main(): Promise<void> {
  const snmpd = await startSnmpd();
  try {
    const probe = await walk(snmpd.port);
    const ours1 = await startOurs(probe.oids);
    const [base, small] = (await measure(snmpd.port, ours1.port)) as [
      ReturnType<typeof summary>,
      ReturnType<typeof summary>,
    ];
    await ours1.server.stop();
    const ours10 = await startOurs(10_000);
    const [mid] = (await measure(ours10.port)) as [ReturnType<typeof summary>];
    await ours10.server.stop();
    const ours40 = await startOurs(40_000);
    const [large] = (await measure(ours40.port)) as [ReturnType<typeof summary>];
    await ours40.server.stop();
    const perOid = (m: { medianMs: number; oids: number }): number => m.medianMs / m.oids;
    console.log(
      JSON.stringify(
        {
          benchmark: 'snmpbulkwalk -v3 authPriv SHA-256/AES -Cr50 over loopback (wall time incl. tool start-up)',
          runs: RUNS,
          snmpd: { oids: base.oids, medianMs: base.medianMs, samplesMs: base.samplesMs },
          vpmd: {
            small: { oids: small.oids, medianMs: small.medianMs, samplesMs: small.samplesMs },
            '10k': { oids: mid.oids, medianMs: mid.medianMs },
            '40k': { oids: large.oids, medianMs: large.medianMs },
          },
          ratios: {
            vpmdVsSnmpdAtSameSize: Math.round((small.medianMs / base.medianMs) * 100) / 100,
            goalVsSnmpd: 1.5,
            time40kVsSmall: Math.round((large.medianMs / small.medianMs) * 10) / 10,
            oids40kVsSmall: Math.round((large.oids / small.oids) * 10) / 10,
            perOidCost40kVs10k: Math.round((perOid(large) / perOid(mid)) * 100) / 100,
            perOidCost10kVsSmall: Math.round((perOid(mid) / perOid(small)) * 100) / 100,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    snmpd.proc.kill('SIGTERM');
    await new Promise((r) => snmpd.proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
