/**
 * `vpmd doctor`: what an operator runs on a new host. Lists each power facility with yes /
 * degraded / no, why, and what would enable it; says which of them the configuration needs.
 * Works with or without a running agent (it reads the host itself). Exit 0 when nothing the
 * configuration needs is missing, 1 when something is, 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfigText, readConfigFile, type ParsedConfig } from '../../core/config/load-config.js';
import type { CoreConfig } from '../../core/config/core-schema.js';
import { createHostModel, RealSysfs } from '../../core/host/index.js';
import { toVpmdError } from '../../core/errors.js';
import { formatTable } from '../../core/services/format.js';
import { readPrivileges, type Facility, type Finding } from './facility.js';
import { checkHost } from './host-checks.js';
import { checkRealtime } from './realtime-check.js';
import { checkAgentFiles, checkLibvirtDbus, checkLogind, checkManagement, checkPrivileges } from './service-checks.js';

/** Where an installed vpmd looks for its configuration when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = '/etc/vpmd/vpmd.yaml';

/** What each built-in plugin needs of the host (facility ids); plugins not listed need none. */
const PLUGIN_NEEDS: Readonly<Record<string, readonly string[]>> = {
  'libvirt-caps': ['logind', 'libvirt-dbus', 'sleep', 'management'],
  'libvirt-domains': ['libvirt-dbus'],
  'virtio-channels': ['cpufreq', 'cpufreq-write', 'realtime'],
  redfish: ['management'],
  ipmi: ['management'],
  snmp: ['management'],
  prometheus: ['management'],
  energy: ['rapl-read'],
};

/** What `vpmd doctor --json` prints. */
export interface DoctorReport {
  /** The configuration read, or null when none was (every facility is then informational). */
  readonly config: string | null;
  /** Problems of that configuration (`vpmd check-config` gives the full plan). */
  readonly configProblems: readonly string[];
  readonly hostRoot: string;
  readonly facilities: readonly Facility[];
  /** Facilities the configuration needs that are `no`. */
  readonly missing: readonly string[];
}

/** Who needs each facility under `config` (the core always needs its control socket and state). */
function needsOf(config: CoreConfig | undefined): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  const add = (id: string, who: string): void => {
    needs.set(id, [...(needs.get(id) ?? []), who]);
  };
  if (config === undefined) return needs;
  add('control', 'core');
  add('state', 'core');
  if (config.host.root === '/' && !config.host.simulated) add('privileges', 'core');
  for (const [name, section] of Object.entries(config.plugins)) {
    if (section === undefined || section.enabled === false) continue;
    for (const id of PLUGIN_NEEDS[name] ?? []) {
      if (config.host.simulated && !['logind', 'libvirt-dbus', 'management'].includes(id)) continue;
      add(id, `plugins.${name}`);
    }
  }
  return needs;
}

async function loadConfig(file: string | undefined): Promise<{ parsed: ParsedConfig | undefined; problems: string[] }> {
  const path = file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (path === undefined) return { parsed: undefined, problems: [] };
  try {
    const parsed = await readConfigFile(resolve(path));
    return { parsed, problems: parsed.problems.map((p) => `${p.path || '(file)'}: ${p.message}`) };
  } catch (e) {
    return { parsed: undefined, problems: [toVpmdError(e).message] };
  }
}

/** Runs every check; never throws for what the host or the bus holds. */
export async function runDoctorChecks(opts: { config?: string; root?: string }): Promise<DoctorReport> {
  const { parsed, problems } = await loadConfig(opts.config);
  const usable = parsed !== undefined && problems.length === 0 ? parsed.config : undefined;
  // Without a usable file the defaults stand in: the checks still say what this host offers.
  const config = usable ?? parseConfigText('').config;
  const root = opts.root ?? config.host.root;
  const priv = await readPrivileges();
  const host = createHostModel(new RealSysfs(root));
  const busAddress = config.hostPower.busAddress;
  const [hostRows, logind, libvirt, files, realtime] = await Promise.all([
    checkHost(host, priv),
    checkLogind(busAddress),
    checkLibvirtDbus(busAddress),
    checkAgentFiles(config),
    checkRealtime(config),
  ]);
  const findings: Finding[] = [
    checkPrivileges(priv),
    ...hostRows,
    logind,
    libvirt,
    checkManagement(config.management),
    ...files,
    ...(realtime === undefined ? [] : [realtime]),
  ];
  const needs = needsOf(usable);
  const facilities = findings.map((f) => ({ ...f, neededBy: needs.get(f.id) ?? [] }));
  const missing = facilities.filter((f) => f.status === 'no' && f.neededBy.length > 0).map((f) => f.id);
  const configPath = parsed?.file ?? opts.config ?? null;
  return {
    config: configPath === null ? null : resolve(configPath),
    configProblems: problems,
    hostRoot: root,
    facilities,
    missing: problems.length > 0 ? ['config', ...missing] : missing,
  };
}

/** The human form: a table, then why and how to fix each row that is not `yes`. */
export function formatDoctor(r: DoctorReport): string {
  const table = formatTable(r.facilities, [
    { header: 'Facility', value: (f) => f.id },
    { header: 'Status', value: (f) => f.status },
    { header: 'Needed by', value: (f) => (f.neededBy.length === 0 ? '-' : f.neededBy.join(' ')) },
    { header: 'Found', value: (f) => f.found },
  ]);
  const head = [
    `Host root: ${r.hostRoot}`,
    `Configuration: ${r.config ?? `none (give --config FILE or create ${DEFAULT_CONFIG_FILE}; nothing is required)`}`,
    ...r.configProblems.map((p) => `  problem: ${p}`),
  ].join('\n');
  const notes = r.facilities
    .filter((f) => f.status !== 'yes')
    .map((f) =>
      [`${f.id} (${f.status}):`, ...(f.why ? [`  why: ${f.why}`] : []), ...(f.fix ? [`  fix: ${f.fix}`] : [])].join(
        '\n',
      ),
    );
  const verdict =
    r.missing.length === 0
      ? 'Nothing the configuration needs is missing.'
      : `Missing what the configuration needs: ${r.missing.join(', ')}`;
  return [head, '', table, ...(notes.length > 0 ? ['', notes.join('\n')] : []), '', verdict, ''].join('\n');
}

/** `vpmd doctor` from the command line. */
export async function doctorCommand(opts: { config?: string; root?: string; json: boolean }): Promise<number> {
  const report = await runDoctorChecks(opts);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
  return report.missing.length === 0 ? 0 : 1;
}
