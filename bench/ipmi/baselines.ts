/**
 * The baselines of the IPMI benchmark, run against the same ipmi_sim BMCs: FreeIPMI
 * `ipmi-sensors --fanout` (one process for all hosts, SDR cache on disk) and ipmitool
 * `sdr list` (one process and one login per poll), with CPU and peak memory from /usr/bin/time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpmiSimTarget } from '../../testkit/index.js';

/** Wall time, CPU and peak RSS of one child run. */
export interface ChildCost {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssMB: number;
  readonly ok: boolean;
  readonly stdout: string;
}

/** Runs `program args` under /usr/bin/time. */
export function timed(
  program: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildCost> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', '@@TIME %U %S %M', program, ...args],
      { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, env },
      (err, stdout, stderr) => {
        const wallMs = performance.now() - started;
        const m = /@@TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
        resolve({
          wallMs,
          cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN,
          maxRssMB: m ? Number(m[3]) / 1024 : NaN,
          ok: err === null,
          stdout,
        });
      },
    );
  });
}

/** FreeIPMI `ipmi-sensors` over every target at once, with its SDR cache in a temporary directory. */
export class FreeIpmiFanout {
  private constructor(
    private readonly cache: string,
    private readonly args: readonly string[],
  ) {}

  /** Prepares runs against `targets` (all with the first target's credentials). */
  static async create(targets: readonly IpmiSimTarget[], fanout: number): Promise<FreeIpmiFanout> {
    const first = targets[0];
    if (first === undefined) throw new Error('no targets');
    const cache = await mkdtemp(join(tmpdir(), 'vpmd-bench-freeipmi-'));
    const args = [
      '-D',
      'LAN_2_0',
      '-h',
      targets.map((t) => `${t.host}:${t.port}`).join(','),
      '-u',
      first.username,
      '-p',
      first.password,
      '-l',
      'ADMIN',
      '-I',
      '3',
      '-W',
      'opensesspriv',
      `--sdr-cache-directory=${cache}`,
      `--fanout=${fanout}`,
      '--comma-separated-output',
      '--no-header-output',
      '--always-prefix',
    ];
    return new FreeIpmiFanout(cache, args);
  }

  /** One run: cold the first time (it fills the SDR cache), warm after. */
  run(): Promise<ChildCost> {
    return timed('ipmi-sensors', this.args, 600_000);
  }

  /** Sensor readings in a run's output. */
  static readings(c: ChildCost): number {
    return c.stdout.split('\n').filter((l) => /,(-?[\d.]+|N\/A),/.test(l)).length;
  }

  /** Removes the SDR cache. */
  async close(): Promise<void> {
    await rm(this.cache, { recursive: true, force: true });
  }
}

/** ipmitool `sdr list` on a sample of targets, `parallel` at a time; cost per poll. */
export async function ipmitoolSample(
  targets: readonly IpmiSimTarget[],
  parallel: number,
): Promise<{ polls: number; wallMs: number; cpuMs: number; failures: number }> {
  const started = performance.now();
  let cpuMs = 0;
  let failures = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const t = targets[next++];
      if (t === undefined) return;
      const r = await timed(
        'ipmitool',
        ['-I', 'lanplus', '-H', t.host, '-p', String(t.port), '-U', t.username, '-E', '-C', '3', 'sdr', 'list'],
        30_000,
        { ...process.env, IPMI_PASSWORD: t.password },
      );
      cpuMs += r.cpuMs;
      if (!r.ok) failures++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { polls: targets.length, wallMs: performance.now() - started, cpuMs, failures };
}

/** Open sessions on each target as ipmitool sees them, minus ipmitool's own. */
export async function countSessions(targets: readonly IpmiSimTarget[], parallel: number): Promise<number[]> {
  const out: number[] = new Array<number>(targets.length).fill(-1);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const t = targets[i];
      if (t === undefined) return;
      const r = await timed(
        'ipmitool',
        [
          '-I',
          'lanplus',
          '-H',
          t.host,
          '-p',
          String(t.port),
          '-U',
          t.username,
          '-E',
          '-C',
          '3',
          'session',
          'info',
          'active',
        ],
        30_000,
        { ...process.env, IPMI_PASSWORD: t.password },
      );
      const m = /active sessions\s*:\s*(\d+)/.exec(r.stdout);
      out[i] = m?.[1] === undefined ? -1 : Number(m[1]) - 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}
