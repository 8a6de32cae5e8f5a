/**
 * The reference IPMI clients the plugin is checked against: ipmitool (`sensor list`,
 * `sel list`, `chassis status`) and FreeIPMI `ipmi-sensors`, run against the same ipmi_sim BMC.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runIpmitool, type IpmiSimTarget } from 'vpmd/testkit';

/** One row of `ipmitool sensor list`. */
export interface IpmitoolSensor {
  readonly name: string;
  readonly value: string;
  readonly unit: string;
  readonly status: string;
  /** lnr, lc, lnc, unc, uc, unr as printed ('na' when absent). */
  readonly thresholds: readonly string[];
}

/** Parses `ipmitool sensor list`. */
export async function ipmitoolSensors(t: IpmiSimTarget): Promise<IpmitoolSensor[]> {
  const { stdout } = await runIpmitool(t, ['sensor', 'list']);
  return stdout
    .split('\n')
    .filter((l) => l.includes('|'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c) => ({
      name: c[0] ?? '',
      value: c[1] ?? '',
      unit: c[2] ?? '',
      status: c[3] ?? '',
      thresholds: c.slice(4, 10),
    }));
}

/** One row of FreeIPMI `ipmi-sensors --comma-separated-output`. */
export interface FreeIpmiSensor {
  readonly name: string;
  readonly type: string;
  readonly reading: string;
  readonly units: string;
  readonly event: string;
}

/** Runs FreeIPMI ipmi-sensors against one BMC (private SDR cache directory, mode 700). */
export async function freeIpmiSensors(t: IpmiSimTarget): Promise<FreeIpmiSensor[]> {
  const cache = await mkdtemp(join(tmpdir(), 'vpmd-ipmi-ref-'));
  try {
    const args = [
      '-D',
      'LAN_2_0',
      '-h',
      `${t.host}:${t.port}`,
      '-u',
      t.username,
      '-p',
      t.password,
      '-l',
      'ADMIN',
      '-I',
      '3',
      '-W',
      'opensesspriv',
      `--sdr-cache-directory=${cache}`,
      '--comma-separated-output',
      '--no-header-output',
    ];
    const { stdout } = await promisify(execFile)('ipmi-sensors', args, { timeout: 20_000 });
    return stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(','))
      .map((c) => ({
        name: c[1] ?? '',
        type: c[2] ?? '',
        reading: c[3] ?? '',
        units: c[4] ?? '',
        event: c.slice(5).join(','),
      }));
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

/** Active sessions on a BMC other than the ipmitool session that asks. */
export async function openSessions(t: IpmiSimTarget): Promise<number> {
  const { stdout } = await runIpmitool(t, ['session', 'info', 'active']);
  const m = /active sessions\s*:\s*(\d+)/.exec(stdout);
  if (m?.[1] === undefined) throw new Error(`no session count in: ${stdout}`);
  return Number(m[1]) - 1;
}
