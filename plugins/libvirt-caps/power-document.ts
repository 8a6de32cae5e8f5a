/**
 * Builds vpmd's power capabilities document from the host model and the sleep discovery.
 * It holds capabilities and settings, never live readings (current frequency, energy counters,
 * a pending alarm), so it changes only when the host's power configuration does.
 */
import { type HostModel, type HostTopology, type SleepSupport, formatCpuList, readOptional, isVpmdError } from 'vpmd';
import type { PowerDocument } from './power-document-schema.js';

/** What the document says about Wake-on-LAN (from the plugin's config). */
export interface WakeOnLanSettings {
  readonly port: number;
  readonly broadcast: string;
}

/** Parses `/proc/acpi/wakeup` (`PWRB  S4  *enabled  platform:PNP0C0C:00`). */
export function parseAcpiWakeup(text: string): PowerDocument['wake']['sources'] {
  const rows: PowerDocument['wake']['sources'] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\S+)\s+(S\d)\s+\*(enabled|disabled)(?:\s+(\S+))?/.exec(line.trim());
    if (m === null) continue;
    rows.push({
      device: m[1] as string,
      sleepState: m[2] as string,
      enabled: m[3] === 'enabled',
      ...(m[4] === undefined ? {} : { sysfs: m[4] }),
    });
  }
  return rows;
}

/** Runs `fn`, or returns `fallback` when the host lacks the feature. */
async function optional<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isVpmdError(e, 'E_HOST_NOT_FOUND') || isVpmdError(e, 'E_HOST_UNSUPPORTED')) return fallback;
    throw e;
  }
}

function sleepPart(support: SleepSupport): PowerDocument['sleep'] {
  const kernel = support.kernel ?? { states: [], s3: false, s4: false, s2idle: false };
  return {
    targets: support.targets.map((t) => ({
      target: t.target,
      supported: t.supported,
      logind: t.logind,
      kernel: t.kernel,
      kernelOffers: t.kernelOffers ?? false,
    })),
    logind: {
      available: support.logindProblem === undefined,
      ...(support.logindProblem === undefined ? {} : { problem: support.logindProblem }),
    },
    kernel: {
      states: [...kernel.states],
      ...(kernel.memSleep === undefined
        ? {}
        : {
            memSleep: {
              options: [...kernel.memSleep.options],
              ...(kernel.memSleep.selected === undefined ? {} : { selected: kernel.memSleep.selected }),
            },
          }),
      ...(kernel.disk === undefined
        ? {}
        : {
            disk: {
              options: [...kernel.disk.options],
              ...(kernel.disk.selected === undefined ? {} : { selected: kernel.disk.selected }),
            },
          }),
      s3: kernel.s3,
      s4: kernel.s4,
      s2idle: kernel.s2idle,
    },
  };
}

async function cpufreqPart(host: HostModel): Promise<PowerDocument['cpufreq']> {
  const policies = await optional(() => host.cpufreq.policies(), []);
  const status = await optional(() => host.cpufreq.driverStatus(), undefined);
  const mins = policies.map((p) => p.cpuinfoMinKHz);
  const maxs = policies.map((p) => p.cpuinfoMaxKHz);
  return {
    drivers: [...new Set(policies.map((p) => p.driver))],
    ...(status === undefined ? {} : { driverStatus: `${status.driver} ${status.status}` }),
    ...(mins.length ? { hardwareMinKHz: Math.min(...mins), hardwareMaxKHz: Math.max(...maxs) } : {}),
    governors: [...new Set(policies.flatMap((p) => p.availableGovernors))],
    policies: policies.map((p) => ({
      id: p.id,
      cpus: formatCpuList(p.relatedCpus),
      driver: p.driver,
      governor: p.governor,
      hardwareMinKHz: p.cpuinfoMinKHz,
      hardwareMaxKHz: p.cpuinfoMaxKHz,
      scalingMinKHz: p.scalingMinKHz,
      scalingMaxKHz: p.scalingMaxKHz,
      ...(p.baseFrequencyKHz === undefined ? {} : { baseKHz: p.baseFrequencyKHz }),
      ...(p.availableFrequenciesKHz === undefined ? {} : { availableFrequenciesKHz: [...p.availableFrequenciesKHz] }),
      ...(p.epp === undefined ? {} : { epp: p.epp }),
      ...(p.availableEpp === undefined ? {} : { availableEpp: [...p.availableEpp] }),
      ...(p.transitionLatencyNs === undefined ? {} : { transitionLatencyNs: p.transitionLatencyNs }),
    })),
  };
}

async function cstatesPart(host: HostModel, topology: HostTopology): Promise<PowerDocument['cstates']> {
  const info = await optional(() => host.cpuidle.info(), {});
  const first = topology.online[0];
  const states = first === undefined ? [] : await optional(() => host.cpuidle.states(first), []);
  return {
    ...(info.driver === undefined ? {} : { driver: info.driver }),
    ...(info.governor === undefined ? {} : { governor: info.governor }),
    states: states.map((s) => ({ name: s.name, desc: s.desc, latencyUs: s.latencyUs, residencyUs: s.residencyUs })),
  };
}

/** Builds the document. */
export async function buildPowerDocument(
  host: HostModel,
  uuid: string,
  support: SleepSupport,
  wol: WakeOnLanSettings,
): Promise<PowerDocument> {
  const topology = await host.topology();
  const [cpufreq, turbo, cstates, rapl, rtc, acpiWakeup] = await Promise.all([
    cpufreqPart(host),
    optional(() => host.cpufreq.turbo(), { supported: false, mechanism: 'none' as const }),
    cstatesPart(host, topology),
    optional(() => host.rapl.domains(), []),
    optional(() => host.rtc.read(), undefined),
    readOptional(host.backend, 'proc/acpi/wakeup'),
  ]);
  return {
    format: 'vpmd-power-capabilities',
    version: 1,
    host: {
      uuid,
      arch: topology.arch,
      ...(topology.identity.vendor === undefined ? {} : { vendor: topology.identity.vendor }),
      ...(topology.identity.modelName === undefined ? {} : { modelName: topology.identity.modelName }),
      cpus: topology.online.length,
      packages: topology.packages,
    },
    sleep: sleepPart(support),
    cpufreq,
    turbo: {
      supported: turbo.supported,
      mechanism: turbo.mechanism,
      ...(turbo.enabled === undefined ? {} : { enabled: turbo.enabled }),
    },
    cstates,
    rapl: rapl.map((d) => ({
      id: d.id,
      name: d.name,
      ...(d.parent === undefined ? {} : { parent: d.parent }),
      maxEnergyRangeUj: d.maxEnergyRangeUj,
      constraints: d.constraints.map((c) => ({
        name: c.name,
        ...(c.powerLimitUw === undefined ? {} : { powerLimitUw: c.powerLimitUw }),
        ...(c.timeWindowUs === undefined ? {} : { timeWindowUs: c.timeWindowUs }),
        ...(c.maxPowerUw === undefined ? {} : { maxPowerUw: c.maxPowerUw }),
      })),
    })),
    wake: {
      ...(rtc === undefined ? {} : { rtc: { device: rtc.device, name: rtc.name } }),
      wakeOnLan: { port: wol.port, broadcast: wol.broadcast },
      sources: acpiWakeup === undefined ? [] : parseAcpiWakeup(acpiWakeup),
    },
  };
}
