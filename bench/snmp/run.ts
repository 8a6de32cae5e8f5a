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
/** Every setting this benchmark changes from the tools' or the plugin's defaults. */
const SETTINGS = {
  runs: RUNS,
  snmpbulkwalk: {
    '-Cr': [50, 10, 'max-repetitions'],
    '-t': [5, 1, 'seconds before a walk counts as failed'],
    '-r': [0, 5, 'no retries: a lost reply is an error, not a slow sample'],
  },
  snmpd: { view: 'system, interfaces, ip, ifMIB, hrStorage, hrDevice, UCD, snmp engine (about 1,200 instances)' },
  vpmd: {
    what: "the plugin's AgentServer, USM engine and ENTITY-MIB sources, without the rest of the agent",
    minSecurityLevel: 'authPriv',
    mibCacheMs: 1000,
    metrics: 'synthetic: OIDs / 18 metrics (10 entPhysicalTable + 8 entPhySensorTable instances each)',
  },
};
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

interface Measured {
  medianMs: number;
  maxMs: number;
  oids: number;
  samplesMs: number[];
  /** Walks that failed (an error, a timeout past -t 5) or returned fewer OIDs than the warm-up. */
  errors: number;
}

function summary(samples: number[], oids: number, errors: number): Measured {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    maxMs: sorted.at(-1) ?? NaN,
    oids,
    samplesMs: samples,
    errors,
  };
}

/**
 * Walks each port in turn, RUNS rounds, so that machine noise hits every side alike. A failed
 * walk is counted, not fatal: the summary says which side failed and how often.
 */
async function measure(...ports: number[]): Promise<Measured[]> {
  const oids: number[] = [];
  for (const p of ports) oids.push((await walk(p)).oids); // warm-up: engine discovery, JIT, MIB snapshot
  const samples = ports.map(() => [] as number[]);
  const errors = ports.map(() => 0);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, p] of ports.entries()) {
      const r = await walk(p).catch(() => undefined);
      if (r === undefined || r.oids < (oids[k] ?? 0)) errors[k] = (errors[k] ?? 0) + 1;
      if (r !== undefined) samples[k]?.push(Math.round(r.ms * 10) / 10);
    }
  }
  return ports.map((_, k) => summary(samples[k] ?? [], oids[k] ?? 0, errors[k] ?? 0));
}

/** Attempts at a free port before giving up: it can be taken between the probe and the bind. */
const PORT_ATTEMPTS = 5;

async function startSnmpd(): Promise<{ port: number; proc: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSnmpdOnce();
    } catch (e) {
      if (attempt >= PORT_ATTEMPTS) throw e;
      console.error(`bench:snmp: ${e instanceof Error ? e.message : String(e)}; again on another port`);
    }
  }
}

async function startSnmpdOnce(): Promise<{ port: number; proc: ChildProcess }> {
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
  // Ready when it answers; an snmpd that lost its port to another process exits.
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 100 && !gone; i++) {
    try {
      await walkOnce(port);
      return { port, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // not ready yet: poll again
    }
  }
  proc.kill();
  throw new Error(`snmpd did not answer on UDP ${port}${gone ? ' (it exited: port taken?)' : ''}`);
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
      (e: Error | null) => (e ? reject(e) : resolve()),
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
    cpus: () => Promise.resolve([]),
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
  for (let attempt = 1; ; attempt++) {
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
    try {
      await server.start();
      return { port, server };
    } catch (e) {
      // Taken between the probe and the bind: another port.
      if (attempt >= PORT_ATTEMPTS || (e as { code?: string }).code !== 'EADDRINUSE') throw e;
    }
  }
}

async function main(): Promise<void> {
  const snmpd = await startSnmpd();
  try {
    const probe = await walk(snmpd.port);
    const ours1 = await startOurs(probe.oids);
    const [base, small] = (await measure(snmpd.port, ours1.port)) as [Measured, Measured];
    await ours1.server.stop();
    const ours10 = await startOurs(10_000);
    const [mid] = (await measure(ours10.port)) as [Measured];
    await ours10.server.stop();
    const ours40 = await startOurs(40_000);
    const [large] = (await measure(ours40.port)) as [Measured];
    await ours40.server.stop();
    const perOid = (m: { medianMs: number; oids: number }): number => m.medianMs / m.oids;
    // A baseline with failed walks measured less work: the comparison with it is not valid.
    const invalidBecause = [
      ...(base.errors > 0 ? [`snmpd: ${base.errors} of ${RUNS} walks failed or came back short`] : []),
      ...(small.errors > 0 ? [`vpmd: ${small.errors} of ${RUNS} walks failed or came back short`] : []),
    ];
    const growthErrors = mid.errors + large.errors;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    console.log(
      JSON.stringify(
        {
          benchmark: 'snmpbulkwalk -v3 authPriv SHA-256/AES -Cr50 over loopback (wall time incl. tool start-up)',
          runs: RUNS,
          settings: SETTINGS,
          snmpd: base,
          vpmd: { small, '10k': mid, '40k': large },
          ratiosValid: invalidBecause.length === 0,
          ...(invalidBecause.length > 0 ? { ratiosInvalidBecause: invalidBecause } : {}),
          ratios: {
            vpmdVsSnmpdAtSameSize: invalidBecause.length > 0 ? null : r2(small.medianMs / base.medianMs),
            goalVsSnmpd: 1.5,
            ...(growthErrors > 0
              ? { growthInvalidBecause: `${growthErrors} walks at 10k/40k OIDs failed or came back short` }
              : {
                  time40kVsSmall: Math.round((large.medianMs / small.medianMs) * 10) / 10,
                  oids40kVsSmall: Math.round((large.oids / small.oids) * 10) / 10,
                  perOidCost40kVs10k: r2(perOid(large) / perOid(mid)),
                  perOidCost10kVsSmall: r2(perOid(mid) / perOid(small)),
                }),
          },
        },
        null,
        2,
      ),
    );
    if (invalidBecause.length > 0 || growthErrors > 0) process.exitCode = 1;
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
