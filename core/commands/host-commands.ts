/**
 * Core commands over the host model: what the host is (summary), its frequency policies, idle
 * states and sleep states, and the writes an operator makes by hand (governor, limits, turbo).
 * Frequencies are shown in MHz as operators read them; JSON keeps the kernel's kHz.
 */
import { Type } from '@sinclair/typebox';
import { defineCommand, type CommandRegistry } from '../services/commands.js';
import { formatTable } from '../services/format.js';
import { formatCpuList } from '../host/cpu-ranges.js';
import type { HostModel } from '../host/host-model.js';
import type { CpufreqPolicy, PolicyReading } from '../host/cpufreq.js';
import { formatHostSummary, readHostSummary } from './host-summary.js';
import { StringEnum } from '../config/schema-helpers.js';

const mhz = (khz: number | undefined): string => (khz === undefined ? '-' : `${Math.round(khz / 1000)}`);

const POLICY = Type.String({ pattern: '^(all|[0-9]+)$', description: 'a policy number or all' });

async function selectPolicies(host: HostModel, which: string): Promise<CpufreqPolicy[]> {
  return which === 'all' ? host.cpufreq.policies() : [await host.cpufreq.policy(Number(which))];
}

function policyTable(rows: readonly CpufreqPolicy[]): string {
  return formatTable(rows, [
    { header: 'Policy', value: (p) => p.id, align: 'right' },
    { header: 'CPUs', value: (p) => formatCpuList(p.affectedCpus) },
    { header: 'Driver', value: (p) => p.driver },
    { header: 'Governor', value: (p) => p.governor },
    { header: 'Min MHz', value: (p) => mhz(p.scalingMinKHz), align: 'right' },
    { header: 'Max MHz', value: (p) => mhz(p.scalingMaxKHz), align: 'right' },
    { header: 'Cur MHz', value: (p) => mhz(p.scalingCurKHz), align: 'right' },
    { header: 'HW range MHz', value: (p) => `${mhz(p.cpuinfoMinKHz)}-${mhz(p.cpuinfoMaxKHz)}` },
    { header: 'EPP', value: (p) => p.epp ?? '-' },
  ]);
}

function readingTable(rows: ReadonlyArray<PolicyReading | CpufreqPolicy>): string {
  const note = (p: PolicyReading | CpufreqPolicy): string => {
    const r = p as Partial<PolicyReading>;
    if (r.inactive === true) return 'inactive (CPUs offline)';
    const n = p.faults?.length ?? 0;
    if (n === 0) return '';
    return `${r.controllable === false ? 'not controllable, ' : ''}${n} unreadable (see --json)`;
  };
  return formatTable(rows, [
    { header: 'Policy', value: (p) => p.id, align: 'right' },
    { header: 'CPUs', value: (p) => (p.affectedCpus === undefined ? '-' : formatCpuList(p.affectedCpus)) },
    { header: 'Driver', value: (p) => p.driver ?? '-' },
    { header: 'Governor', value: (p) => p.governor ?? '-' },
    { header: 'Min MHz', value: (p) => mhz(p.scalingMinKHz), align: 'right' },
    { header: 'Max MHz', value: (p) => mhz(p.scalingMaxKHz), align: 'right' },
    { header: 'Cur MHz', value: (p) => mhz(p.scalingCurKHz), align: 'right' },
    { header: 'HW range MHz', value: (p) => `${mhz(p.cpuinfoMinKHz)}-${mhz(p.cpuinfoMaxKHz)}` },
    { header: 'EPP', value: (p) => p.epp ?? '-' },
    { header: 'Note', value: note },
  ]);
}

/** Registers the host commands. */
export function registerHostCommands(reg: CommandRegistry, host: HostModel): void {
  reg.register(
    'core',
    defineCommand({
      name: 'host summary',
      summary: 'CPUs, topology, memory, frequency driver, turbo and sleep states of the host',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => readHostSummary(host),
      human: formatHostSummary,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'host cpufreq',
      summary: 'Frequency policies: governor, limits and current frequency (MHz)',
      privilege: 'Login',
      args: Type.Object({ policy: Type.Optional(POLICY) }),
      positional: ['policy'],
      handler: async (a) => {
        const { policies } = await host.cpufreq.survey();
        if (a.policy === undefined || a.policy === 'all') return policies;
        const hit = policies.find((p) => p.id === Number(a.policy));
        // Not found: the model's own error names the existing policies.
        return hit === undefined ? [await host.cpufreq.policy(Number(a.policy))] : [hit];
      },
      human: readingTable,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'host set-governor',
      summary: 'Set the cpufreq governor of a policy (or all)',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        policy: POLICY,
        governor: Type.String({ minLength: 1, description: 'one of the policy’s available governors' }),
      }),
      positional: ['policy', 'governor'],
      handler: async (a) => {
        const targets = await selectPolicies(host, a.policy);
        for (const p of targets) await host.cpufreq.setGovernor(p.id, a.governor);
        return selectPolicies(host, a.policy);
      },
      human: policyTable,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'host set-limits',
      summary: 'Set the min/max frequency (MHz) of a policy (or all); shows what the kernel kept',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        policy: POLICY,
        min: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'minimum MHz' })),
        max: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'maximum MHz' })),
      }),
      positional: ['policy'],
      handler: async (a) => {
        const targets = await selectPolicies(host, a.policy);
        const results = [];
        for (const p of targets) {
          const r = await host.cpufreq.setLimits(p.id, {
            ...(a.min !== undefined ? { minKHz: a.min * 1000 } : {}),
            ...(a.max !== undefined ? { maxKHz: a.max * 1000 } : {}),
          });
          results.push({ policy: p.id, ...r });
        }
        return results;
      },
      human: (rows) =>
        formatTable(rows, [
          { header: 'Policy', value: (r) => r.policy, align: 'right' },
          { header: 'Min MHz', value: (r) => mhz(r.minKHz), align: 'right' },
          { header: 'Max MHz', value: (r) => mhz(r.maxKHz), align: 'right' },
          { header: 'Note', value: (r) => (r.clamped ? 'clamped by the kernel' : '') },
        ]),
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'host set-turbo',
      summary: 'Enable or disable turbo frequencies host-wide',
      privilege: 'ConfigureComponents',
      args: Type.Object({ state: StringEnum(['on', 'off'] as const) }),
      positional: ['state'],
      handler: (a) => host.cpufreq.setTurbo(a.state === 'on'),
      human: (t) => `Turbo ${t.enabled ? 'enabled' : 'disabled'} (${t.mechanism})`,
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'host cpuidle',
      summary: 'Idle states of a CPU with exit latency and residency',
      privilege: 'Login',
      args: Type.Object({ cpu: Type.Integer({ minimum: 0, default: 0, description: 'CPU number' }) }),
      positional: ['cpu'],
      handler: (a) => host.cpuidle.states(a.cpu),
      human: (rows) =>
        formatTable(rows, [
          { header: 'State', value: (s) => s.name },
          { header: 'Description', value: (s) => s.desc },
          { header: 'Latency us', value: (s) => s.latencyUs, align: 'right' },
          { header: 'Residency us', value: (s) => s.residencyUs, align: 'right' },
          { header: 'Disabled', value: (s) => (s.disabled === undefined ? '?' : s.disabled ? 'yes' : 'no') },
        ]),
    }),
  );
}
