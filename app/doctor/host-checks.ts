/**
 * The host's power facilities as `vpmd doctor` sees them: read through the same fault-tolerant
 * host model the agent uses (so an odd file degrades one row, never the report), plus whether
 * this process may write what the agent writes.
 */
import { join } from 'node:path';
import type { HostModel } from '../../core/host/index.js';
import { ROOT_FIX, mayAccess, type Finding, type Privileges } from './facility.js';

const CPU_DIR = 'sys/devices/system/cpu';

/** Reads and write-checks one facility per row; never throws for what the host holds. */
export async function checkHost(host: HostModel, priv: Privileges): Promise<Finding[]> {
  const root = host.backend.root;
  const abs = (rel: string): string => join(root, rel);
  const [survey, status, turbo, idle, rapl, zones, chips, sleep] = await Promise.all([
    host.cpufreq.survey().catch(() => ({ policies: [], faults: [] })),
    host.cpufreq.driverStatus().catch(() => undefined),
    host.cpufreq.turbo().catch(() => ({ supported: false as const, mechanism: 'none' as const })),
    host.cpuidle.info().catch(() => ({ driver: undefined, governor: undefined })),
    host.rapl.survey().catch(() => ({ zones: [], faults: [] })),
    host.thermal.zones().catch(() => []),
    host.thermal.hwmon().catch(() => []),
    host.sleep.states().catch(() => undefined),
  ]);
  const rows: Finding[] = [];
  const policies = survey.policies;
  const controllable = policies.filter((p) => p.controllable);
  const drivers = [...new Set(policies.flatMap((p) => (p.driver === undefined ? [] : [p.driver])))];
  const mode = status === undefined ? '' : ` (${status.driver} ${status.status})`;
  if (policies.length === 0) {
    rows.push({
      id: 'cpufreq',
      status: 'no',
      found: 'no cpufreq/policyN or cpuN/cpufreq directory',
      why: 'no frequency-scaling driver is loaded (usual in a VM)',
      fix: 'on bare metal: enable OS power management (P-states, "OS DBPM") in the BIOS and do not boot with intel_pstate=disable without acpi-cpufreq',
    });
  } else {
    const degraded = policies.filter((p) => p.degraded).map((p) => `policy${p.id}`);
    rows.push({
      id: 'cpufreq',
      status: controllable.length === 0 ? 'no' : degraded.length > 0 ? 'degraded' : 'yes',
      found: `${drivers.join(' ') || 'unknown driver'}${mode}, ${policies.length} policies, ${controllable.length} controllable`,
      ...(degraded.length > 0
        ? { why: `unreadable attributes in ${degraded.join(' ')} (vpmctl host summary --json)` }
        : {}),
    });
    const first = controllable[0];
    if (first !== undefined) {
      const writable = await mayAccess(abs(`${first.path}/scaling_max_freq`), 'write', priv);
      rows.push({
        id: 'cpufreq-write',
        status: writable ? 'yes' : 'no',
        found: writable ? 'scaling limits and governors writable' : 'scaling_max_freq is not writable by this process',
        ...(writable ? {} : { why: `uid ${priv.uid} without CAP_DAC_OVERRIDE`, fix: ROOT_FIX }),
      });
    }
  }
  rows.push(
    turbo.supported
      ? {
          id: 'turbo',
          status: turbo.enabled === undefined ? 'degraded' : 'yes',
          found: `${turbo.mechanism}, ${turbo.enabled === undefined ? 'state unreadable' : turbo.enabled ? 'enabled' : 'disabled'}`,
        }
      : {
          id: 'turbo',
          status: 'no',
          found: 'neither cpufreq/boost nor intel_pstate/no_turbo exists',
          why: policies.length === 0 ? 'no cpufreq driver' : `driver ${drivers.join(' ')} offers no turbo switch`,
          fix: 'enable Turbo Boost / Core Performance Boost in the BIOS',
        },
  );
  const epp = policies.some((p) => p.epp !== undefined);
  rows.push({
    id: 'epp',
    status: epp ? 'yes' : 'no',
    found: epp ? 'energy_performance_preference present' : 'no energy_performance_preference',
    ...(epp
      ? {}
      : {
          why: 'EPP needs intel_pstate with HWP or amd-pstate-epp in active mode',
          fix: 'enable HWP / CPPC in the BIOS; boot with amd_pstate=active on AMD',
        }),
  });
  rows.push(
    idle.driver === undefined
      ? {
          id: 'cpuidle',
          status: 'no',
          found: 'no cpuidle driver',
          why: `${CPU_DIR}/cpuidle/current_driver is absent or empty`,
          fix: 'do not boot with cpuidle.off=1; on bare metal load intel_idle or acpi_idle',
        }
      : { id: 'cpuidle', status: 'yes', found: `${idle.driver}${idle.governor ? `, governor ${idle.governor}` : ''}` },
  );
  const qos = abs('dev/cpu_dma_latency');
  const qosWritable = await mayAccess(qos, 'write', priv);
  rows.push({
    id: 'pm-qos',
    status: qosWritable ? 'yes' : 'no',
    found: qosWritable ? '/dev/cpu_dma_latency writable' : '/dev/cpu_dma_latency absent or not writable',
    ...(qosWritable
      ? {}
      : { why: 'the device is root-only (0600)', fix: `${ROOT_FIX}; the unit allows it with DeviceAllow=` }),
  });
  rows.push(...(await raplRows(rapl.zones, abs, priv)));
  rows.push(
    zones.length + chips.length === 0
      ? {
          id: 'thermal',
          status: 'no',
          found: 'no thermal zones and no hwmon chips',
          why: 'usual in a VM',
          fix: 'on bare metal load coretemp / k10temp and the ACPI thermal driver',
        }
      : {
          id: 'thermal',
          status:
            zones.some((z) => z.faults !== undefined) || chips.some((c) => c.faults !== undefined) ? 'degraded' : 'yes',
          found: `${zones.length} thermal zone(s), ${chips.length} hwmon chip(s)`,
        },
  );
  const states = sleep?.states ?? [];
  rows.push(
    states.length === 0
      ? {
          id: 'sleep',
          status: 'no',
          found: 'sys/power/state offers no sleep state',
          why: 'the kernel or hypervisor offers no suspend',
          fix: 'enable S3 (or "Linux" sleep) in the BIOS',
        }
      : {
          id: 'sleep',
          status: sleep?.s3 === true ? 'yes' : 'degraded',
          found: `${states.join(' ')}${sleep?.s3 === true ? ' (S3)' : sleep?.s2idle === true ? ' (s2idle only, no S3)' : ''}${sleep?.s4 === true ? ', hibernate' : ''}`,
          ...(sleep?.s3 === true
            ? {}
            : { why: 'no deep (S3) in mem_sleep', fix: 'enable S3 in the BIOS, or boot with mem_sleep_default=deep' }),
        },
  );
  const wake = abs('sys/class/rtc/rtc0/wakealarm');
  const wakeWritable = await mayAccess(wake, 'write', priv);
  const wakeExists = wakeWritable || (await mayAccess(wake, 'read', { ...priv, caps: new Set(['CAP_DAC_OVERRIDE']) }));
  rows.push({
    id: 'rtc-wake',
    status: wakeWritable ? 'yes' : 'no',
    found: wakeExists ? `rtc0 wakealarm ${wakeWritable ? 'writable' : 'not writable'}` : 'no rtc0 wakealarm',
    ...(wakeWritable
      ? {}
      : wakeExists
        ? { why: `uid ${priv.uid} without CAP_DAC_OVERRIDE`, fix: ROOT_FIX }
        : { why: 'no RTC with wake-alarm support', fix: 'load rtc_cmos (or rtc-efi); give the VM an RTC' }),
  });
  return rows;
}

type Zone = {
  readonly id: string;
  readonly path: string;
  readonly degraded: boolean;
  readonly constraints: readonly { readonly index: number }[];
};

async function raplRows(zones: readonly Zone[], abs: (rel: string) => string, priv: Privileges): Promise<Finding[]> {
  if (zones.length === 0) {
    const none = { status: 'no' as const, found: 'no powercap zones', why: 'no RAPL driver (usual in a VM)' };
    return [
      {
        id: 'rapl-read',
        ...none,
        fix: 'modprobe intel_rapl_msr (Intel) or intel_rapl_msr/amd_energy (AMD); bare metal only',
      },
      { id: 'rapl-write', ...none, fix: 'as rapl-read' },
    ];
  }
  const first = zones[0] as Zone;
  const readable = await mayAccess(abs(`${first.path}/energy_uj`), 'read', priv);
  const limit = first.constraints[0];
  const writable =
    limit !== undefined &&
    (await mayAccess(abs(`${first.path}/constraint_${limit.index}_power_limit_uw`), 'write', priv));
  const degraded = zones.filter((z) => z.degraded).map((z) => z.id);
  return [
    {
      id: 'rapl-read',
      status: !readable ? 'no' : degraded.length > 0 ? 'degraded' : 'yes',
      found: `${zones.length} zone(s), energy_uj ${readable ? 'readable' : 'not readable'}`,
      ...(!readable
        ? {
            why: 'energy_uj is root-only (0400) since Linux 5.10 (PLATYPUS)',
            fix: 'run vpmd as root or with CAP_DAC_READ_SEARCH (the shipped unit grants CAP_DAC_OVERRIDE)',
          }
        : degraded.length > 0
          ? { why: `unreadable attributes in ${degraded.join(' ')}` }
          : {}),
    },
    {
      id: 'rapl-write',
      status: writable ? 'yes' : 'no',
      found:
        limit === undefined ? 'no power-limit constraint' : `power limits ${writable ? 'writable' : 'not writable'}`,
      ...(writable
        ? {}
        : limit === undefined
          ? { why: `zone ${first.id} has no constraint files` }
          : { why: `uid ${priv.uid} without CAP_DAC_OVERRIDE`, fix: ROOT_FIX }),
    },
  ];
}
